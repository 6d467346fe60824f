//! No secret reaches a log. Every line the functions and the gateway log in a run through the
//! API (sign-up, sign-in right and wrong, refresh, an invitation accepted, a password changed,
//! a terminal paired and signing its requests, a calendar feed) is captured in the production
//! JSON format and searched for each password, token and key the run handled.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{Captured, PASSWORD, TestStack, send};

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string: {value}"))
        .to_owned()
}

#[tokio::test]
async fn no_password_token_or_key_is_logged() {
    let logs = Captured::default();
    steward_kit::telemetry::init_with_writer(logs.clone());
    let stack = TestStack::start().await;
    let mut secrets: Vec<(&str, String)> = vec![
        ("password", PASSWORD.to_owned()),
        (
            "signing secret",
            stack
                .stack
                .secret("SigningSecret")
                .expect("a signing secret")
                .to_owned(),
        ),
    ];

    let origin = stack
        .stack
        .secret("OriginSecret")
        .expect("an origin secret")
        .to_owned();
    secrets.push(("origin secret", origin.clone()));

    let owner = stack.sign_up("Quiet Rooms", "owner@quiet.test").await;
    secrets.push(("access token", owner.access_token.clone()));
    // As the web app's distribution forwards a request.
    let (status, _, _) = send(
        stack
            .get("/v1/me")
            .bearer_auth(&owner.access_token)
            .header("x-steward-origin-secret", &origin)
            .header("cloudfront-viewer-address", "203.0.113.7:46532"),
    )
    .await;
    assert_eq!(status, 200);
    secrets.push(("refresh token", owner.refresh_token.clone()));

    let wrong = "wrong horse battery staple";
    let (status, _, _) = send(stack.post("/v1/auth/login").json(&json!({
        "email": owner.email, "password": wrong,
    })))
    .await;
    assert_eq!(status, 401);
    secrets.push(("a wrong password", wrong.to_owned()));

    let (status, _, refreshed) = send(
        stack
            .post("/v1/auth/refresh")
            .json(&json!({ "refresh_token": owner.refresh_token })),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    secrets.push(("refreshed access token", text(&refreshed["access_token"])));
    secrets.push(("refreshed refresh token", text(&refreshed["refresh_token"])));

    let invitation = stack.invite(&owner, "member@quiet.test", &["member"]).await;
    secrets.push(("invitation token", text(&invitation["token"])));
    let (status, member) = stack.accept(invitation["token"].as_str().unwrap()).await;
    assert_eq!(status, 201, "{member}");
    secrets.push((
        "member's access token",
        text(&member["tokens"]["access_token"]),
    ));

    let new_password = "quartz harbour lantern ferry";
    let (status, _, changed) = send(
        stack
            .post("/v1/me/password")
            .bearer_auth(text(&member["tokens"]["access_token"]))
            .json(&json!({ "current_password": PASSWORD, "new_password": new_password })),
    )
    .await;
    assert!(status < 300, "{status} {changed}");
    secrets.push(("new password", new_password.to_owned()));

    let room = stack
        .room(
            &owner,
            json!({ "name": "Hush", "time_zone": "Europe/London", "capacity": 4 }),
        )
        .await;
    let (status, registered) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/terminals",
            json!({ "room_id": room, "name": "Door" }),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    let code = text(&registered["pairing_code"]);
    let paired = steward_terminal::pair(&stack.http, &stack.url, &code)
        .await
        .expect("the terminal pairs");
    secrets.push(("pairing code", code));
    secrets.push(("terminal secret", paired.secret.clone()));
    let terminal = steward_terminal::Terminal::new(paired);
    let status = terminal.status().await.expect("a signed request answers");
    assert_eq!(status.status, 200, "{}", status.body);

    let (status, feed) = stack
        .call(&owner, Method::POST, "/v1/feeds", json!({}))
        .await;
    assert_eq!(status, 201, "{feed}");
    let (status, _, _) = send(stack.get(feed["path"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    secrets.push(("feed token", text(&feed["token"])));

    let logs = logs.text();
    // The capture saw the run: each answer is logged with its status.
    assert!(
        logs.lines()
            .filter(|line| line.contains("\"answered\""))
            .count()
            >= 10,
        "too few answers logged:\n{logs}"
    );
    assert!(
        logs.contains("\"status\":401"),
        "the wrong password's 401 is logged"
    );
    // Every answer's line carries its invocation's X-Ray trace id (`1-<8 hex>-<24 hex>`).
    for line in logs.lines().filter(|line| line.contains("\"answered\"")) {
        let line: Value = serde_json::from_str(line).unwrap();
        let trace = line["span"]["trace_id"].as_str().unwrap_or_default();
        assert!(
            trace.len() == 35 && trace.starts_with("1-"),
            "no trace id: {line}"
        );
    }
    for (what, secret) in &secrets {
        assert!(secret.len() >= 6, "{what} is too short to search for");
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("the {what} is in a log line: {line}");
        }
    }
}
