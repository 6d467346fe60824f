//! Invitations by email (issue 26, item 3), over HTTP through the local gateway; the links are
//! read from the emulator's sent mail.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::TestStack;

const SUBJECT: &str = "Owner invited you to Acme Rooms on Steward";

#[tokio::test]
async fn an_invitation_is_emailed_with_a_link_that_joins() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let invitation = stack
        .invite(&owner, "mia@acme.test", &["member", "manager"])
        .await;
    let tokens = stack.emailed_tokens("mia@acme.test", SUBJECT).await;
    assert_eq!(
        tokens,
        [invitation["token"].as_str().unwrap()],
        "one email, carrying the token the admin was shown"
    );
    let mail = steward_e2e::mail_text(&stack.sent_mail("mia@acme.test").await[0]);
    assert!(mail.contains("/app/accept-invitation#token="), "{mail}");
    assert!(mail.contains("manager and member"), "{mail}");
    let (status, joined) = stack.accept(&tokens[0]).await;
    assert_eq!(status, 201, "{joined}");
}

#[tokio::test]
async fn sending_again_replaces_the_link_and_only_a_pending_one_is_sent() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let first = stack.invite(&owner, "rob@acme.test", &["member"]).await;
    let path = format!("/v1/invitations/{}/resend", first["id"].as_str().unwrap());
    let (status, again) = stack.call(&owner, Method::POST, &path, json!({})).await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["token"], first["token"]);
    assert!(
        again["expires_at"].as_str() >= first["expires_at"].as_str(),
        "a full lifetime from now: {again}"
    );
    let tokens = stack.emailed_tokens("rob@acme.test", SUBJECT).await;
    assert_eq!(tokens.len(), 2, "emailed twice");
    assert_eq!(tokens[1], again["token"].as_str().unwrap());

    // The first link stopped working; the new one joins, once.
    let (status, body) = stack.accept(first["token"].as_str().unwrap()).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = stack.accept(&tokens[1]).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = stack.call(&owner, Method::POST, &path, json!({})).await;
    assert_eq!(
        status, 409,
        "an accepted invitation is not sent again: {body}"
    );
    assert_eq!(
        stack.emailed_tokens("rob@acme.test", SUBJECT).await.len(),
        2
    );
    let resends = stack
        .audit_entries(&owner)
        .await
        .into_iter()
        .filter(|entry| entry["action"] == "invitation.resend")
        .count();
    assert_eq!(resends, 1);

    // Another tenant's invitation is not found.
    let other = stack.sign_up("Other Rooms", "owner@other.test").await;
    let (status, body) = stack.call(&other, Method::POST, &path, json!({})).await;
    assert_eq!(status, 404, "{body}");
}

/// What an invitation's answer shows once the fields that differ by nature (its id, address,
/// token and times) are set aside.
fn comparable(mut answer: Value) -> Value {
    for field in ["id", "email", "token", "created_at", "expires_at"] {
        answer[field] = Value::Null;
    }
    answer
}

#[tokio::test]
async fn the_answer_is_the_same_whether_or_not_the_address_has_an_account() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    stack.sign_up("Other Rooms", "sam@other.test").await;
    let known = stack.invite(&owner, "sam@other.test", &["member"]).await;
    let unknown = stack.invite(&owner, "nora@acme.test", &["member"]).await;
    assert_eq!(comparable(known), comparable(unknown));
    // Both are emailed alike.
    assert_eq!(
        stack.emailed_tokens("sam@other.test", SUBJECT).await.len(),
        1
    );
    assert_eq!(
        stack.emailed_tokens("nora@acme.test", SUBJECT).await.len(),
        1
    );
}
