//! Sign-up, sign-in, tokens and sessions over HTTP through the gateway and the authorizer.

use serde_json::{Value, json};
use steward_e2e::{TestStack, send};

const PASSWORD: &str = "maple tractor velvet orbit";

/// A stack whose authorizer answers are not cached, so revocations show at once.
async fn stack() -> TestStack {
    TestStack::start_with(|options| {
        options
            .parameter_overrides
            .insert("AuthorizerCacheSeconds".into(), "0".into());
    })
    .await
}

async fn sign_up(stack: &TestStack, email: &str) -> Value {
    stack
        .signed_up(json!({
            "tenant_name": "Acme Rooms", "name": "Jane Doe", "email": email, "password": PASSWORD,
        }))
        .await
}

async fn login(
    stack: &TestStack,
    email: &str,
    password: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    send(
        stack
            .post("/v1/auth/login")
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

fn bearer(token: &Value) -> String {
    format!("Bearer {}", token.as_str().unwrap())
}

/// The status of `GET /v1/me` with an access token.
async fn me_status(stack: &TestStack, access_token: &Value) -> u16 {
    send(
        stack
            .get("/v1/me")
            .header("authorization", bearer(access_token)),
    )
    .await
    .0
}

#[tokio::test]
async fn sign_up_then_sign_in_then_me() {
    let stack = stack().await;
    let signed_up = sign_up(&stack, "jane@acme.test").await;
    assert_eq!(signed_up["user"]["roles"], json!(["owner"]));
    let (status, _, tokens) = login(&stack, "JANE@acme.test", PASSWORD).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let (status, _, me) = send(
        stack
            .get("/v1/me")
            .header("authorization", bearer(&tokens["access_token"])),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "jane@acme.test");
    assert_eq!(me["tenant_id"], signed_up["tenant"]["id"]);

    // A weak password never gets as far as an email.
    let (status, _, body) = send(stack.post("/v1/signup").json(&json!({
        "tenant_name": "Other", "name": "X", "email": "weak@acme.test", "password": "password1234",
    })))
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "password");
}

/// Tokens signed with the stack's real key: expired, or for another audience, are refused; a
/// fresh one for the same session is accepted (so the key is right and the refusals mean it).
#[tokio::test]
async fn expired_and_wrong_audience_tokens_signed_with_the_real_key_are_401() {
    use steward_domain::identity::tokens::{self, AccessClaims, AccessTokens};
    let stack = stack().await;
    let signed_up = sign_up(&stack, "jane@acme.test").await;
    let (_, _, me) = send(stack.get("/v1/me").header(
        "authorization",
        bearer(&signed_up["tokens"]["access_token"]),
    ))
    .await;
    let secret = stack
        .stack
        .secret("SigningSecret")
        .expect("the stack generated the secret");
    let key = steward_kit::secret::Secret::new(secret)
        .unwrap()
        .derive(tokens::KEY_PURPOSE);
    let issuer = AccessTokens::new(&key);
    let (user, tenant, session) = (
        me["user_id"].as_str().unwrap(),
        me["tenant_id"].as_str().unwrap(),
        me["session_id"].as_str().unwrap(),
    );
    let now = jiff::Timestamp::now().as_second();
    let fresh = issuer.issue(user, tenant, session, now, "jti-fresh");
    let expired = issuer.issue(user, tenant, session, now - 3600, "jti-old");
    let mut claims: AccessClaims = issuer.verify(&fresh, now).unwrap();
    claims.aud = "another-api".into();
    let wrong_audience = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .unwrap();
    let status = |token: String| {
        let request = stack
            .get("/v1/me")
            .header("authorization", format!("Bearer {token}"));
        async move { send(request).await.0 }
    };
    assert_eq!(
        status(fresh).await,
        200,
        "a token signed with the derived key is valid"
    );
    assert_eq!(status(expired).await, 401, "expired");
    assert_eq!(status(wrong_audience).await, 401, "wrong audience");
}

#[tokio::test]
async fn token_attacks_are_401_and_change_nothing() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    let (_, _, tokens) = login(&stack, "jane@acme.test", PASSWORD).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let attacks = [
        ("alg none", format!("{none_header}.{}.", parts[1])),
        (
            "tampered claims",
            format!("{}.{}x.{}", parts[0], parts[1], parts[2]),
        ),
        (
            "wrong signature",
            format!("{}.{}.{}", parts[0], parts[1], "AAAA".repeat(10)),
        ),
        ("garbage", "not-a-token".to_owned()),
    ];
    for (name, forged) in attacks {
        let (status, headers, body) = send(
            stack
                .get("/v1/me")
                .header("authorization", format!("Bearer {forged}")),
        )
        .await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["type"], "urn:steward:problem:unauthorized", "{name}");
        assert_eq!(headers["www-authenticate"], "Bearer");
    }
    let (status, _, _) = send(stack.get("/v1/me")).await;
    assert_eq!(status, 401, "no token at all");
    // A revoked session's token.
    let auth = bearer(&tokens["access_token"]);
    assert_eq!(
        send(stack.post("/v1/auth/logout").header("authorization", &auth))
            .await
            .0,
        204
    );
    assert_eq!(
        send(stack.get("/v1/me").header("authorization", &auth))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn a_refresh_token_used_twice_revokes_its_family() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    let (_, _, first) = login(&stack, "jane@acme.test", PASSWORD).await;
    let refresh = |token: &Value| {
        stack
            .post("/v1/auth/refresh")
            .json(&json!({ "refresh_token": token }))
    };
    let (status, _, second) = send(refresh(&first["refresh_token"])).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    assert_eq!(me_status(&stack, &second["access_token"]).await, 200);

    // The first refresh token again: reuse. The family is revoked, every token of it refused.
    assert_eq!(send(refresh(&first["refresh_token"])).await.0, 401);
    assert_eq!(send(refresh(&second["refresh_token"])).await.0, 401);
    assert_eq!(me_status(&stack, &second["access_token"]).await, 401);
    // Another session of the same user is untouched.
    let (_, _, other) = login(&stack, "jane@acme.test", PASSWORD).await;
    assert_eq!(me_status(&stack, &other["access_token"]).await, 200);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer_and_lock_out() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    let (unknown_status, _, unknown) = login(&stack, "nobody@acme.test", PASSWORD).await;
    let (wrong_status, _, wrong) = login(&stack, "jane@acme.test", "wrong password here").await;
    assert_eq!((unknown_status, wrong_status), (401, 401));
    let strip = |mut body: Value| {
        body["request_id"] = Value::Null;
        body
    };
    assert_eq!(strip(unknown), strip(wrong), "identical answers");

    // Five failures per account (one already counted), then 429 even with the right password.
    for _ in 0..4 {
        assert_eq!(
            login(&stack, "jane@acme.test", "wrong password here")
                .await
                .0,
            401
        );
    }
    let (status, headers, body) = login(&stack, "jane@acme.test", PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    let (_, _, laptop) = login(&stack, "jane@acme.test", PASSWORD).await;
    let (_, _, phone) = login(&stack, "jane@acme.test", PASSWORD).await;
    let (status, _, sessions) = send(
        stack
            .get("/v1/me/sessions")
            .header("authorization", bearer(&laptop["access_token"])),
    )
    .await;
    assert_eq!(status, 200);
    assert!(sessions["items"].as_array().unwrap().len() >= 2);

    let change =
        json!({ "current_password": PASSWORD, "new_password": "quartz harbour lantern ferry" });
    let (status, _, body) = send(
        stack
            .post("/v1/me/password")
            .header("authorization", bearer(&laptop["access_token"]))
            .json(&change),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(me_status(&stack, &phone["access_token"]).await, 401);
    assert_eq!(me_status(&stack, &laptop["access_token"]).await, 200);
    assert_eq!(login(&stack, "jane@acme.test", PASSWORD).await.0, 401);
    assert_eq!(
        login(&stack, "jane@acme.test", "quartz harbour lantern ferry")
            .await
            .0,
        200
    );
}

/// A successful sign-in forgets the account's failures (in its session's own write): four
/// failures, a success, four more, and the right password still signs in. Had the first four
/// been kept, the eighth failure would have passed the limit of five and locked the account.
#[tokio::test]
async fn a_successful_sign_in_forgets_the_accounts_failures() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    for round in 0..2 {
        for _ in 0..4 {
            let (status, _, body) = login(&stack, "jane@acme.test", "wrong password here").await;
            assert_eq!(status, 401, "round {round}: {body}");
        }
        let (status, _, body) = login(&stack, "jane@acme.test", PASSWORD).await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
}

/// Sign-up confirms the address first (issue 26, item 2): the answer is the same for a new and
/// a taken address, nothing exists until the emailed link is followed, and the link works once.
#[tokio::test]
async fn signing_up_creates_nothing_until_the_emailed_link_is_followed_once() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    let form = |email: &str| json!({ "tenant_name": "Other", "name": "Sam", "email": email, "password": PASSWORD });
    let (taken_status, _, taken) =
        send(stack.post("/v1/signup").json(&form("jane@acme.test"))).await;
    let (new_status, _, new) = send(stack.post("/v1/signup").json(&form("sam@acme.test"))).await;
    assert_eq!((taken_status, new_status), (202, 202));
    assert_eq!(taken, new, "the same answer, byte for byte");
    // Nothing exists yet: the password does not sign in.
    assert_eq!(login(&stack, "sam@acme.test", PASSWORD).await.0, 401);

    // The taken address's owner is told; the new one gets a link.
    let links = stack
        .emailed_tokens("sam@acme.test", steward_e2e::VERIFY_SUBJECT)
        .await;
    assert_eq!(links.len(), 1);
    assert!(
        stack
            .emailed_tokens("jane@acme.test", steward_e2e::VERIFY_SUBJECT)
            .await
            .len()
            == 1,
        "jane's own sign-up link only"
    );
    let told = stack.sent_mail("jane@acme.test").await;
    assert!(
        told.iter()
            .any(|mail| mail["subject"] == "You already have a Steward account"),
        "{told:?}"
    );

    let confirm = |token: &str| {
        stack
            .post("/v1/signup/verify")
            .json(&json!({ "token": token }))
    };
    let forged = format!("{}.{}", links[0].split('.').next().unwrap(), "A".repeat(43));
    for refused in [forged.as_str(), "sgn_0.nothing", "not a token"] {
        let (status, _, body) = send(confirm(refused)).await;
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(body["type"].as_str().unwrap().ends_with("invalid-token"));
    }
    let (status, _, joined) = send(confirm(&links[0])).await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["user"]["roles"], json!(["owner"]));
    assert_eq!(
        me_status(&stack, &joined["tokens"]["access_token"]).await,
        200
    );
    let (status, _, body) = send(confirm(&links[0])).await;
    assert_eq!(status, 400, "a link works once: {body}");
    assert_eq!(login(&stack, "sam@acme.test", PASSWORD).await.0, 200);
}

const NEW_ADDRESS_SUBJECT: &str = "Confirm your new email address for Steward";

/// Changing one's email (issue 26, item 2): the new address is confirmed before it takes effect,
/// the old one is told at once, and the link works once.
#[tokio::test]
async fn a_new_email_takes_effect_only_once_confirmed_and_the_old_one_is_told() {
    let stack = stack().await;
    let jane = sign_up(&stack, "jane@acme.test").await;
    let bearer = format!(
        "Bearer {}",
        jane["tokens"]["access_token"].as_str().unwrap()
    );
    let ask = |new_email: &str, password: &str| {
        stack
            .post("/v1/me/email")
            .header("authorization", bearer.clone())
            .json(&json!({ "new_email": new_email, "current_password": password }))
    };
    let (status, _, body) = send(ask("jane@elsewhere.test", "not the password at all")).await;
    assert_eq!(status, 422, "{body}");
    let (status, _, body) = send(ask("jane@acme.test", PASSWORD)).await;
    assert_eq!(status, 422, "the same address: {body}");
    let (status, _, body) = send(ask("jane@elsewhere.test", PASSWORD)).await;
    assert_eq!(status, 202, "{body}");

    // Nothing changed yet; the old address is told, the new one gets the link.
    let links = stack
        .emailed_tokens("jane@elsewhere.test", NEW_ADDRESS_SUBJECT)
        .await;
    assert_eq!(links.len(), 1);
    let told = stack.sent_mail("jane@acme.test").await;
    assert!(
        told.iter()
            .any(|mail| mail["subject"] == "Your Steward account is moving to another address"),
        "{told:?}"
    );
    assert_eq!(login(&stack, "jane@acme.test", PASSWORD).await.0, 200);
    assert_eq!(login(&stack, "jane@elsewhere.test", PASSWORD).await.0, 401);

    let confirm = |token: &str| {
        stack
            .post("/v1/me/email/verify")
            .json(&json!({ "token": token }))
    };
    let (status, _, body) = send(confirm("emc_0.forged")).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = send(confirm(&links[0])).await;
    assert_eq!(
        (status, body["email"].as_str()),
        (200, Some("jane@elsewhere.test"))
    );
    assert_eq!(login(&stack, "jane@elsewhere.test", PASSWORD).await.0, 200);
    assert_eq!(login(&stack, "jane@acme.test", PASSWORD).await.0, 401);
    let (status, _, body) = send(confirm(&links[0])).await;
    assert_eq!(status, 400, "a link works once: {body}");

    // An address that has an account is refused when the link is followed, not before.
    sign_up(&stack, "sam@acme.test").await;
    let (status, _, body) = send(ask("sam@acme.test", PASSWORD)).await;
    assert_eq!(status, 202, "{body}");
    let taken = stack
        .emailed_tokens("sam@acme.test", NEW_ADDRESS_SUBJECT)
        .await;
    let (status, _, body) = send(confirm(&taken[0])).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(login(&stack, "jane@elsewhere.test", PASSWORD).await.0, 200);
}

/// The `steward_refresh` cookie an answer set: its value and its attributes, lowercased.
fn refresh_cookie(headers: &reqwest::header::HeaderMap) -> Option<(String, String)> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("steward_refresh="))
        .map(|rest| {
            let (value, attributes) = rest.split_once(';').unwrap_or((rest, ""));
            (value.to_owned(), attributes.to_lowercase())
        })
}

#[tokio::test]
async fn the_refresh_token_rides_in_an_http_only_cookie_only_when_asked() {
    let stack = stack().await;
    sign_up(&stack, "cookie@acme.test").await;
    let sign_in = json!({ "email": "cookie@acme.test", "password": PASSWORD });

    // Not asked: in the body, no cookie.
    let (status, headers, body) = send(stack.post("/v1/auth/login").json(&sign_in)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string());
    assert_eq!(refresh_cookie(&headers), None);

    // Asked: out of the body, into a cookie no script can read, for /v1/auth/ only.
    let asked = |path: &str| stack.post(path).header("Steward-Refresh", "cookie");
    let (status, headers, body) = send(asked("/v1/auth/login").json(&sign_in)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
    assert!(body.get("refresh_token").is_none(), "{body}");
    let (first, attributes) = refresh_cookie(&headers).expect("the cookie");
    for attribute in [
        "httponly",
        "secure",
        "samesite=strict",
        "path=/v1/auth/",
        "max-age=2592000",
    ] {
        assert!(
            attributes.contains(attribute),
            "{attribute} in {attributes}"
        );
    }

    // The cookie alone refreshes nothing (a cross-site form cannot add the header).
    let cookie = format!("steward_refresh={first}");
    let (status, _, _) = send(
        stack
            .post("/v1/auth/refresh")
            .header("cookie", &cookie)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 401);
    // With the header: new tokens, the refresh token rotated in the cookie.
    let (status, headers, body) = send(
        asked("/v1/auth/refresh")
            .header("cookie", &cookie)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let (second, _) = refresh_cookie(&headers).expect("a rotated cookie");
    assert_ne!(first, second);
    // The first cookie again is a reuse: refused, and the family ends.
    let (status, _, _) = send(
        asked("/v1/auth/refresh")
            .header("cookie", &cookie)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = send(
        asked("/v1/auth/refresh")
            .header("cookie", format!("steward_refresh={second}"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 401, "the rotated one ended with its family");

    // A sign-out clears the cookie.
    let (status, headers, body) = send(asked("/v1/auth/login").json(&sign_in)).await;
    assert_eq!(status, 200, "{body}");
    assert!(refresh_cookie(&headers).is_some());
    let (status, headers, _) = send(
        asked("/v1/auth/logout")
            .bearer_auth(body["access_token"].as_str().unwrap())
            .header("Idempotency-Key", "cookie-logout"),
    )
    .await;
    assert_eq!(status, 204);
    let (value, attributes) = refresh_cookie(&headers).expect("a clearing cookie");
    assert_eq!(value, "");
    assert!(attributes.contains("max-age=0"), "{attributes}");
}
