//! What an attacker found (issue 23), each through the API as the attacker would send it: an
//! outsider, a malicious member, a stolen door terminal. Every test here failed before its fix.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, send};

/// A stack whose authorizer decides every request afresh, so that a role change, a suspension
/// or a sign-out is seen by the next request.
async fn stack() -> TestStack {
    TestStack::with_parameters(&[("AuthorizerCacheSeconds", "0")]).await
}

/// `method` on `path` as `who` with `body` and `Idempotency-Key: key`.
async fn keyed(
    stack: &TestStack,
    who: &Person,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    send(
        stack
            .as_person(who, Method::POST, path)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

/// `requester` asks for a change that needs dual approval, and `approver` approves it.
async fn approved(
    stack: &TestStack,
    (requester, approver): (&Person, &Person),
    method: Method,
    path: &str,
    body: Option<Value>,
) {
    let mut request = stack.as_person(requester, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, _, requested) = send(request).await;
    assert_eq!(status, 202, "{path}: {requested}");
    let id = requested["change_request"]["id"].as_str().unwrap();
    let approve = format!("/v1/change-requests/{id}/approve");
    let (status, _, answer) = send(stack.as_person(approver, Method::POST, &approve)).await;
    assert_eq!(status, 200, "{approve}: {answer}");
}

mod idempotent_replays {
    use super::*;

    #[tokio::test]
    async fn a_key_is_its_senders_and_nobody_elses() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let member = stack.join(&owner, "mia@acme.test", &["member"]).await;
        let invite = json!({ "email": "new-admin@acme.test", "roles": ["admin"] });

        // The member poisons a key before the owner uses it: their 403 is theirs alone.
        let (status, _, answer) = keyed(&stack, &member, "/v1/invitations", "k-1", &invite).await;
        assert_eq!(status, 403, "{answer}");
        let (status, headers, created) =
            keyed(&stack, &owner, "/v1/invitations", "k-1", &invite).await;
        assert_eq!(status, 201, "the owner's request runs: {created}");
        assert!(headers.get("idempotent-replayed").is_none());
        let token = created["token"].as_str().expect("the token, shown once");

        // The member with the owner's key and body: refused as themselves, never the owner's
        // 201 with its token; with another body, still 403 (a 422 would tell them the key is
        // in use in the tenant).
        for body in [invite.clone(), json!({ "email": "x@acme.test", "roles": ["member"] })] {
            let (status, headers, answer) =
                keyed(&stack, &member, "/v1/invitations", "k-1", &body).await;
            assert_eq!(status, 403, "{answer}");
            assert_eq!(answer["type"], "urn:steward:problem:forbidden");
            assert!(headers.get("idempotent-replayed").is_none());
            assert!(!answer.to_string().contains(token));
        }
        // The owner's retry is replayed to the owner.
        let (status, headers, replayed) =
            keyed(&stack, &owner, "/v1/invitations", "k-1", &invite).await;
        assert_eq!((status, headers["idempotent-replayed"].to_str().unwrap()), (201, "true"));
        assert_eq!(replayed["token"], created["token"]);
        let (_, _, invitations) = send(stack.as_person(&owner, Method::GET, "/v1/invitations")).await;
        assert_eq!(invitations["items"].as_array().unwrap().len(), 2, "{invitations}");
    }

    #[tokio::test]
    async fn a_replay_is_authorized_before_it_is_answered() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let admin = stack.join(&owner, "ada@acme.test", &["admin"]).await;
        let approver = stack.join(&owner, "bo@acme.test", &["admin"]).await;
        let invite = json!({ "email": "sam@acme.test", "roles": ["member"] });
        let (status, _, created) = keyed(&stack, &admin, "/v1/invitations", "k-2", &invite).await;
        assert_eq!(status, 201, "{created}");

        // The admin is made a member (each change approved by a second admin); their retry no
        // longer hands out the invitation's token.
        let roles = format!("/v1/members/{}/roles", admin.user_id);
        approved(&stack, (&owner, &approver), Method::POST, &roles, Some(json!({ "role": "member" })))
            .await;
        approved(&stack, (&owner, &approver), Method::DELETE, &format!("{roles}/admin"), None).await;
        let (status, headers, answer) =
            keyed(&stack, &admin, "/v1/invitations", "k-2", &invite).await;
        assert_eq!(status, 403, "{answer}");
        assert!(headers.get("idempotent-replayed").is_none());
        assert!(answer.get("token").is_none());
    }

    #[tokio::test]
    async fn a_rotated_refresh_token_gets_nothing_from_its_key() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let refresh = |token: &str| {
            stack
                .post("/v1/auth/refresh")
                .header("idempotency-key", "refresh-1")
                .json(&json!({ "refresh_token": token }))
        };
        let (status, _, rotated) = send(refresh(&owner.refresh_token)).await;
        assert_eq!(status, 200, "{rotated}");
        let live = rotated["refresh_token"].as_str().unwrap();

        // Whoever holds the spent token and the key: no replay of the live token; reuse is
        // detected and the family revoked, the live token with it.
        let (status, headers, answer) = send(refresh(&owner.refresh_token)).await;
        assert_eq!(status, 401, "{answer}");
        assert!(headers.get("idempotent-replayed").is_none());
        assert!(!answer.to_string().contains(live));
        assert_eq!(send(refresh(live)).await.0, 401, "the family is revoked");
    }
}
