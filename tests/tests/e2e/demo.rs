//! The demo data `make run` loads goes through the real API: every step answers what it expects.

use reqwest::Method;
use serde_json::json;
use steward_e2e::{TestStack, repository_root, send};

#[tokio::test]
async fn the_demo_seed_loads_through_the_api() {
    let stack = TestStack::start().await;
    let sent_mail = steward_emulator::Emulator::shared()
        .endpoints()
        .sent_mail_url();
    let loaded = steward_local::demo::load(
        &stack.url,
        &sent_mail,
        &repository_root().join("infra/demo/seed.json"),
    )
    .await
    .expect("every step of the seed answers as expected");
    assert!(loaded.steps >= 20, "{}", loaded.steps);

    // The README's terminal demo: the simulator pairs with the printed code and checks in to
    // the member's booking with its printed PIN.
    let paired = steward_terminal::pair(&stack.http, &stack.url, &loaded.saved["simulator_code"])
        .await
        .expect("the simulator pairs");
    let terminal = steward_terminal::Terminal::new(paired);
    let status = terminal.status().await.unwrap();
    assert_eq!(status.body["state"], "awaiting_check_in", "{}", status.body);
    let checked_in = terminal
        .post(
            "/v1/terminal/check-in",
            &json!({ "pin": loaded.saved["demo_pin"] }),
        )
        .await
        .unwrap();
    assert_eq!(
        checked_in.body["status"], "checked_in",
        "{}",
        checked_in.body
    );

    // The demo owner can sign in and sees the pending grant waiting for approval.
    let (status, _, tokens) = send(stack.post("/v1/auth/login").json(&json!({
        "email": "owner@demo.steward.test", "password": "demo owner passphrase 2026",
    })))
    .await;
    assert_eq!(status, 200);
    let (status, _, pending) = send(
        stack
            .http
            .request(Method::GET, stack.url("/v1/change-requests"))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200);
    let statuses: Vec<&str> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["approved", "pending"]);

    // As `make run` prints: the member is in two organisations, and her sign-in asks which.
    let (status, _, asked) = send(stack.post("/v1/auth/login").json(&json!({
        "email": "member@demo.steward.test", "password": "demo member passphrase 2026",
    })))
    .await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked["status"], "choose_tenant", "{asked}");
    let mut organisations: Vec<&str> = asked["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tenant_name"].as_str().unwrap())
        .collect();
    organisations.sort_unstable();
    assert_eq!(organisations, ["Demo Rooms", "Harbour Desks"]);

    // Rooms, a closure, bookings and a series are there, in the future whatever the day.
    let (_, _, rooms) = send(
        stack
            .http
            .request(Method::GET, stack.url("/v1/rooms"))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(rooms["items"].as_array().unwrap().len(), 4);
    let (from, to) = (steward_e2e::days_ahead(0), steward_e2e::days_ahead(31));
    let (_, _, bookings) = send(
        stack
            .http
            .request(
                Method::GET,
                stack.url(&format!(
                    "/v1/bookings?from={from}T00:00:00Z&to={to}T00:00:00Z"
                )),
            )
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    let statuses: Vec<&str> = bookings["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"pending"), "{statuses:?}");
    assert!(
        statuses.len() >= 5,
        "two bookings and a series: {statuses:?}"
    );

    // The README's credentials demo: the member's certificate reaches the review queue through
    // the verifier; until a reviewer approves it the Clinic refuses her, then takes her booking.
    let admin = sign_in(
        &stack,
        "admin@demo.steward.test",
        "demo admin passphrase 2026",
    )
    .await;
    let member = sign_in(
        &stack,
        "member@demo.steward.test",
        "demo member passphrase 2026",
    )
    .await;
    let as_admin = |method: Method, path: &str| {
        stack
            .http
            .request(method, stack.url(path))
            .bearer_auth(&admin)
    };
    let mut queue = json!(null);
    for _ in 0..75 {
        queue = send(as_admin(Method::GET, "/v1/credential-reviews"))
            .await
            .2;
        if queue["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        queue["items"][0]["id"].as_str(),
        Some(loaded.saved["member_credential"].as_str()),
        "{queue}"
    );
    let book_clinic = || {
        stack.post("/v1/bookings").bearer_auth(&member).json(
            &json!({ "room_id": loaded.saved["clinic"], "title": "First aid training",
                           "start": format!("{}T10:00", steward_e2e::days_ahead(3)),
                           "end": format!("{}T11:00", steward_e2e::days_ahead(3)) }),
        )
    };
    let (status, _, problem) = send(book_clinic()).await;
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["missing_credentials"][0]
            .as_str()
            .unwrap()
            .starts_with("First aid"),
        "{problem}"
    );
    let approve = format!(
        "/v1/credentials/{}/approve",
        loaded.saved["member_credential"]
    );
    let (status, _, approved) = send(as_admin(Method::POST, &approve).json(&json!({}))).await;
    assert_eq!((status, &approved["status"]), (200, &json!("verified")));
    let (status, _, booked) = send(book_clinic()).await;
    assert_eq!(status, 201, "{booked}");
}

/// Signs in to Demo Rooms (the member belongs to Harbour Desks too, and is asked which).
async fn sign_in(stack: &TestStack, email: &str, password: &str) -> String {
    let login = |body| send(stack.post("/v1/auth/login").json(&body));
    let (status, _, mut tokens) = login(json!({ "email": email, "password": password })).await;
    assert_eq!(status, 200, "{email}: {tokens}");
    if tokens["status"] == "choose_tenant" {
        let demo = tokens["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["tenant_name"] == "Demo Rooms")
            .unwrap()["tenant_id"]
            .clone();
        let body = json!({ "email": email, "password": password, "tenant_id": demo });
        (_, _, tokens) = login(body).await;
    }
    tokens["access_token"].as_str().unwrap().to_owned()
}
