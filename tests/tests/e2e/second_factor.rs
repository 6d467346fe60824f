//! The second factor (issue 26, item 5), over HTTP through the local gateway, with codes from
//! an independent TOTP implementation (pyotp, as an authenticator app computes them).

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{PASSWORD, Person, TestStack, repository_root, send};

/// What pyotp makes of `script`, run with `secret` (base32) and `uri` bound.
fn pyotp(script: &str, secret: &str, uri: &str) -> String {
    let output = std::process::Command::new(repository_root().join(".venv/bin/python"))
        .args([
            "-c",
            &format!("import pyotp, sys\nsecret, uri = sys.argv[1], sys.argv[2]\n{script}"),
        ])
        .args([secret, uri])
        .output()
        .expect("the project's Python (make venv) runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The code an authenticator shows `offset` seconds from now.
pub(crate) fn code(secret: &str, offset: i64) -> String {
    pyotp(
        &format!("import time\nprint(pyotp.TOTP(secret).at(int(time.time()) + {offset}))"),
        secret,
        "",
    )
}

async fn login(stack: &TestStack, email: &str, code: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "email": email, "password": PASSWORD });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    let (status, _, answer) = send(stack.post("/v1/auth/login").json(&body)).await;
    (status, answer)
}

/// `who` posts `body` to the second factor's route `path` (`/v1/me/mfa/totp…`).
async fn mfa(stack: &TestStack, who: &Person, path: &str, body: Value) -> (u16, Value) {
    stack.call(who, Method::POST, path, body).await
}

/// `who` sets a second factor up: its secret, and the recovery codes.
async fn enrol(stack: &TestStack, who: &Person) -> (String, Vec<String>) {
    let (status, started) = mfa(
        stack,
        who,
        "/v1/me/mfa/totp",
        json!({ "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let secret = started["secret"].as_str().unwrap().to_owned();
    let (status, confirmed) = mfa(
        stack,
        who,
        "/v1/me/mfa/totp/confirm",
        json!({ "code": code(&secret, 0) }),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

fn signed_in_as(answer: &Value, who: &Person) -> Person {
    assert_eq!(answer["status"], "signed_in", "{answer}");
    Person {
        access_token: answer["access_token"].as_str().unwrap().to_owned(),
        refresh_token: answer["refresh_token"].as_str().unwrap().to_owned(),
        ..who.clone()
    }
}

#[tokio::test]
async fn an_authenticator_set_up_is_asked_for_at_sign_in_and_each_code_works_once() {
    let stack = TestStack::start().await;
    let email = "mia@acme.test";
    let mia = stack.sign_up("Acme Rooms", email).await;

    // Setting up asks for the password again, and answers a URI an authenticator reads.
    let (status, refused) = mfa(
        &stack,
        &mia,
        "/v1/me/mfa/totp",
        json!({ "current_password": "not the password at all" }),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let (status, started) = mfa(
        &stack,
        &mia,
        "/v1/me/mfa/totp",
        json!({ "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let secret = started["secret"].as_str().unwrap().to_owned();
    let uri = started["otpauth_uri"].as_str().unwrap().to_owned();
    assert_eq!(
        pyotp(
            "t = pyotp.parse_uri(uri)\nprint(t.secret == secret, t.issuer, t.name, t.digits, t.interval)",
            &secret,
            &uri,
        ),
        format!("True Steward {email} 6 30"),
        "{uri}"
    );
    let (_, me) = stack.call(&mia, Method::GET, "/v1/me", json!(null)).await;
    assert_eq!(me["second_factor"]["enabled"], false, "not before a code");

    // A wrong code confirms nothing; the app's code turns it on, with ten recovery codes.
    let right = code(&secret, 0);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, body) = mfa(
        &stack,
        &mia,
        "/v1/me/mfa/totp/confirm",
        json!({ "code": wrong }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, confirmed) = mfa(
        &stack,
        &mia,
        "/v1/me/mfa/totp/confirm",
        json!({ "code": right }),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    let (_, me) = stack.call(&mia, Method::GET, "/v1/me", json!(null)).await;
    assert_eq!(me["second_factor"]["enabled"], true, "{me}");
    assert_eq!(me["second_factor"]["recovery_codes_left"], 10);

    // At rest the secret is sealed: neither it nor a recovery code is in the item.
    let stored = stack
        .stored_item(
            &format!("ACCOUNT#{}", me["account_id"].as_str().unwrap()),
            "ACCOUNT",
        )
        .await;
    assert!(stored.contains("sealed_secret"), "{stored}");
    assert!(!stored.contains(&secret), "{stored}");
    assert!(recovery.iter().all(|code| !stored.contains(code.as_str())));

    // Sign-in asks for a code after the password, telling nothing else.
    let (status, asked) = login(&stack, email, None).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked, json!({ "status": "code_required" }));
    let (status, body) = login(&stack, "mia@acme.test", Some("123")).await;
    assert_eq!(status, 422, "{body}");
    // The code that confirmed the set-up was used: the next step's opens.
    let (status, body) = login(&stack, email, Some(&right)).await;
    assert_eq!(status, 422, "a code works once: {body}");
    let next = code(&secret, 30);
    let (status, answer) = login(&stack, email, Some(&next)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["second_factor"], true);
    let with_code = signed_in_as(&answer, &mia);
    let (_, me) = stack
        .call(&with_code, Method::GET, "/v1/me", json!(null))
        .await;
    assert_eq!(me["second_factor"]["this_session"], true, "{me}");
    let (status, body) = login(&stack, email, Some(&next)).await;
    assert_eq!(status, 422, "replayed: {body}");

    // A recovery code works once, typed loosely.
    let loose = recovery[0].to_uppercase().replace('-', " ");
    let (status, answer) = login(&stack, email, Some(&loose)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, body) = login(&stack, email, Some(&recovery[0])).await;
    assert_eq!(status, 422, "spent: {body}");
    let (_, me) = stack.call(&mia, Method::GET, "/v1/me", json!(null)).await;
    assert_eq!(me["second_factor"]["recovery_codes_left"], 9);

    // Turning it off needs a code.
    let (status, body) = mfa(
        &stack,
        &mia,
        "/v1/me/mfa/totp/disable",
        json!({ "code": "000000" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = mfa(
        &stack,
        &mia,
        "/v1/me/mfa/totp/disable",
        json!({ "code": recovery[1] }),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, answer) = login(&stack, email, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "signed_in");
    let actions: Vec<Value> = stack
        .audit_entries(&mia)
        .await
        .into_iter()
        .map(|entry| entry["action"].clone())
        .filter(|action| action.as_str().unwrap().starts_with("user.mfa"))
        .collect();
    assert_eq!(
        actions,
        [
            json!("user.mfa_disable"),
            json!("user.mfa_enable"),
            json!("user.mfa_setup")
        ],
        "newest first"
    );
}

#[tokio::test]
async fn wrong_codes_are_throttled_even_for_whoever_has_the_password() {
    let stack = TestStack::start().await;
    let email = "rob@acme.test";
    let rob = stack.sign_up("Acme Rooms", email).await;
    let (secret, _) = enrol(&stack, &rob).await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let (status, _) = login(&stack, email, Some("000000")).await;
        statuses.push(status);
        if status == 429 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses[..statuses.len() - 1].iter().all(|s| *s == 422));
    let (status, body) = login(&stack, email, Some(&code(&secret, 30))).await;
    assert_eq!(status, 429, "the right code waits too: {body}");
}

#[tokio::test]
async fn a_tenant_that_requires_a_second_factor_holds_its_admins_to_their_own_account() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let admin = stack.join(&owner, "ada@acme.test", &["admin"]).await;
    let member = stack.join(&owner, "max@acme.test", &["member"]).await;
    let (status, body) = stack
        .call(&owner, Method::GET, "/v1/settings/mfa", json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["required_for_owners_and_admins"], false);
    let (status, body) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/mfa",
            json!({ "required_for_owners_and_admins": true }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Without a second factor an admin manages their own account and nothing else.
    let (status, refused) = stack
        .call(&admin, Method::GET, "/v1/rooms", json!(null))
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("second factor"),
        "{refused}"
    );
    let (status, _) = stack.call(&admin, Method::GET, "/v1/me", json!(null)).await;
    assert_eq!(status, 200);
    let (status, body) = stack
        .call(&member, Method::GET, "/v1/rooms", json!(null))
        .await;
    assert_eq!(status, 200, "members are not asked: {body}");
    let (status, body) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/mfa",
            json!({ "required_for_owners_and_admins": false }),
        )
        .await;
    assert_eq!(status, 403, "nor is it turned off without one: {body}");

    // Set up, and signed in with it, the admin works again.
    let (secret, _) = enrol(&stack, &admin).await;
    let (status, answer) = login(&stack, "ada@acme.test", Some(&code(&secret, 30))).await;
    assert_eq!(status, 200, "{answer}");
    let admin = signed_in_as(&answer, &admin);
    let (status, body) = stack
        .call(&admin, Method::GET, "/v1/rooms", json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_invitation_accepted_with_the_password_asks_for_the_second_factor_too() {
    let stack = TestStack::start().await;
    let email = "ada@acme.test";
    let ada = stack.sign_up("Acme Rooms", email).await;
    let (secret, _) = enrol(&stack, &ada).await;
    let bob = stack.sign_up("Beta Rooms", "bob@beta.test").await;
    let invitation = stack.invite(&bob, email, &["member"]).await;
    let accept = |body: Value| send(stack.post("/v1/invitations/accept").json(&body));

    let mut body = json!({ "token": invitation["token"], "password": PASSWORD });
    let (status, _, refused) = accept(body.clone()).await;
    assert_eq!(status, 422, "the password alone: {refused}");
    body["code"] = json!("000000");
    let (status, _, refused) = accept(body.clone()).await;
    assert_eq!(status, 422, "a wrong code: {refused}");
    let (status, members) = stack
        .call(&bob, Method::GET, "/v1/members", json!(null))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        members["items"].as_array().unwrap().len(),
        1,
        "nobody joined"
    );
    body["code"] = json!(code(&secret, 30));
    let (status, _, joined) = accept(body).await;
    assert_eq!(status, 201, "{joined}");
    let member = Person {
        access_token: joined["tokens"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        ..ada.clone()
    };
    let (_, me) = stack
        .call(&member, Method::GET, "/v1/me", json!(null))
        .await;
    assert_eq!(me["tenant_id"], bob.tenant_id.as_str());
    assert_eq!(me["second_factor"]["this_session"], true, "{me}");
}
