//! The demo data `make run` loads goes through the real API: every step answers what it expects.

use reqwest::Method;
use serde_json::json;
use steward_e2e::{TestStack, repository_root, send};

#[tokio::test]
async fn the_demo_seed_loads_through_the_api() {
    let stack = TestStack::start().await;
    let loaded =
        steward_local::demo::load(&stack.url, &repository_root().join("infra/demo/seed.json"))
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

    // Rooms, a closure, bookings and a series are there, in the future whatever the day.
    let (_, _, rooms) = send(
        stack
            .http
            .request(Method::GET, stack.url("/v1/rooms"))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(rooms["items"].as_array().unwrap().len(), 3);
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
}
