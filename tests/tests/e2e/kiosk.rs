//! The kiosk page in headless Chromium against the local stack (SPEC §D): it pairs with a
//! one-time code, shows the room awaiting a check-in, checks in with a PIN typed on its pad,
//! and, with the gateway's listener stopped, queues a check-in that it syncs once the gateway
//! is back. The browser side is web/tests/kiosk.test.mjs (playwright-core driving Debian's
//! chromium, run by `steward_e2e::browser`); this test answers its requests to stop
//! and start the gateway, then checks both bookings through the API.

use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use steward_e2e::TestStack;
use steward_e2e::browser::run_browser_test;

fn at(minutes: i64) -> String {
    Timestamp::from_second((Timestamp::now() + SignedDuration::from_mins(minutes)).as_second())
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_kiosk_checks_in_online_and_offline() {
    let mut stack = TestStack::start().await;
    let owner = stack.sign_up("Kiosk Co", "owner@kiosk.test").await;
    let member = stack.join(&owner, "member@kiosk.test", &["member"]).await;
    let room = stack
        .room(
            &owner,
            json!({
                "name": "Lantern", "time_zone": "Europe/Paris", "capacity": 8,
                "rules": { "check_in_required": true, "min_duration_minutes": 5 },
            }),
        )
        .await;
    let (status, terminal) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/terminals",
            json!({ "room_id": room, "name": "Lantern door" }),
        )
        .await;
    assert_eq!(status, 201, "{terminal}");
    // Two bookings back to back, both in their check-in windows now.
    let mut bookings = Vec::new();
    for (title, start, end) in [("Stand-up", 1, 9), ("Planning", 9, 40)] {
        let (status, booking) = stack
            .call(
                &member,
                Method::POST,
                "/v1/bookings",
                json!({ "room_id": room, "title": title, "start": at(start), "end": at(end) }),
            )
            .await;
        assert_eq!(status, 201, "{booking}");
        bookings.push(booking);
    }

    let screenshot = std::env::temp_dir().join(format!("steward-kiosk-{}.png", std::process::id()));
    let env = [
        ("KIOSK_URL", stack.url("/kiosk/")),
        (
            "PAIRING_CODE",
            terminal["pairing_code"].as_str().unwrap().to_owned(),
        ),
        (
            "PIN_ONLINE",
            bookings[0]["check_in_pin"].as_str().unwrap().to_owned(),
        ),
        (
            "PIN_OFFLINE",
            bookings[1]["check_in_pin"].as_str().unwrap().to_owned(),
        ),
        ("ROOM_NAME", "Lantern".to_owned()),
        ("SCREENSHOT", screenshot.display().to_string()),
    ];
    let run = run_browser_test("kiosk.test.mjs", &env, async |what| {
        match what {
            "stop-gateway" => {
                stack.stack.stop_http().await;
                // The gateway is really gone: nothing answers on its port.
                assert!(reqwest::get(stack.url("/v1/health")).await.is_err());
            }
            "start-gateway" => stack.stack.start_http().await.expect("listens again"),
            other => panic!("the kiosk test asked for {other}"),
        }
        "ok".to_owned()
    })
    .await
    .unwrap_or_else(|failed| panic!("{failed}"));
    let steps = run.steps;
    assert_eq!(
        steps,
        [
            "accessible-unpaired",
            "paired",
            "accessible-paired",
            "screenshot",
            "checked-in-online",
            "accessible-checked-in",
            "gateway-stopped",
            "queued-offline",
            "accessible-offline",
            "gateway-started",
            "synced"
        ]
    );
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot"
    );

    for booking in &bookings {
        let path = format!("/v1/bookings/{}", booking["id"].as_str().unwrap());
        let (status, now) = stack.call(&member, Method::GET, &path, Value::Null).await;
        assert_eq!(
            (status, now["status"].clone()),
            (200, json!("checked_in")),
            "{now}"
        );
    }
    let (_, terminals) = stack
        .call(&owner, Method::GET, "/v1/terminals", Value::Null)
        .await;
    assert_eq!(
        terminals["items"][0]["state"], "online",
        "the kiosk beats its heart"
    );
    if let Ok(keep) = std::env::var("KIOSK_SCREENSHOT") {
        std::fs::copy(&screenshot, keep).expect("screenshot kept");
    }
}
