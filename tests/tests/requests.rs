//! DynamoDB requests per operation (SPEC §C asks for them), counted by the SDK interceptor every
//! table client carries and answered in `x-steward-dynamodb-requests` (EXPOSE_REQUEST_COUNTS):
//! printed as a table, and held to their budgets. Counts are exact (no timing is asserted).

use http::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, days_ahead, send};
use steward_kit::api::REQUEST_COUNTS_HEADER;

/// One request's DynamoDB requests: their total and the header as sent.
async fn counted(request: reqwest::RequestBuilder) -> (u16, Value, u32, String) {
    let (status, headers, body) = send(request).await;
    let listed = headers
        .get(REQUEST_COUNTS_HEADER)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let total = listed
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(_, n)| n.parse::<u32>().unwrap())
        .sum();
    (status, body, total, listed)
}

async fn new_room(stack: &TestStack, owner: &Person, name: &str) -> String {
    let (status, _, room) = send(
        stack
            .as_person(owner, Method::POST, "/v1/rooms")
            .json(&json!({
                "name": name, "time_zone": "Europe/Paris", "capacity": 6,
            })),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_operation_costs_at_most_its_budget_of_dynamodb_requests() {
    let stack = TestStack::with_parameters(&[
        ("ExposeRequestCounts", "true"),
        // Warm caches: the tenant and the licensing switches are read once, then kept.
        ("CacheEnabled", "true"),
        ("CacheTtlSeconds", "300"),
        ("LicensingConfigCacheSeconds", "60"),
    ])
    .await;
    let owner = stack.sign_up("Counted Rooms", "owner@counted.test").await;
    let room = new_room(&stack, &owner, "Room 0").await;
    let d = days_ahead(20);
    let book = |hour: u32| {
        stack
            .as_person(&owner, Method::POST, "/v1/bookings")
            .json(&json!({
                "room_id": room,
                "start": format!("{d}T{hour:02}:00"), "end": format!("{d}T{:02}:00", hour + 1),
            }))
    };
    // The first request warms the caches.
    let (status, _, _, _) = counted(book(8)).await;
    assert_eq!(status, 201);

    let mut table: Vec<(&str, u32, u32, String)> = Vec::new();
    let (status, created, total, listed) = counted(book(10)).await;
    assert_eq!(status, 201, "{created}");
    table.push(("create a booking (local times)", total, 3, listed));
    let path = format!("/v1/bookings/{}", created["id"].as_str().unwrap());
    let (status, _, total, listed) = counted(
        stack
            .as_person(&owner, Method::PATCH, &path)
            .header("if-match", "\"1\"")
            .json(&json!({ "start": format!("{d}T11:00"), "end": format!("{d}T12:30") })),
    )
    .await;
    assert_eq!(status, 200);
    table.push(("move a booking", total, 4, listed));
    let (status, _, total, listed) = counted(
        stack
            .as_person(&owner, Method::POST, &format!("{path}/cancel"))
            .header("if-match", "\"2\""),
    )
    .await;
    assert_eq!(status, 200);
    table.push(("cancel a booking", total, 4, listed));
    let (status, _, total, listed) = counted(stack.as_person(
        &owner,
        Method::GET,
        &format!("/v1/rooms/{room}/free-busy?from={d}T00:00:00Z&to={d}T23:59:00Z"),
    ))
    .await;
    assert_eq!(status, 200);
    table.push(("free/busy of one room-day", total, 3, listed));
    let window = format!("start={d}T14:00:00Z&end={d}T15:00:00Z");
    let (status, _, total, listed) =
        counted(stack.as_person(&owner, Method::GET, &format!("/v1/availability?{window}"))).await;
    assert_eq!(status, 200);
    table.push(("availability, 1 room", total, 3, listed));
    for i in 1..200 {
        new_room(&stack, &owner, &format!("Room {i}")).await;
    }
    let (status, free, total, listed) =
        counted(stack.as_person(&owner, Method::GET, &format!("/v1/availability?{window}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        free["free"].as_array().unwrap().len(),
        200,
        "every room is free then"
    );
    table.push(("availability, 200 rooms", total, 6, listed));

    // Check-in by PIN at a paired door, inside the window (warm: the terminal has called, so
    // its instance keeps the terminal and the room; the write holds both again).
    let door_room = stack
        .room(
            &owner,
            json!({ "name": "Door", "time_zone": "Europe/Paris", "capacity": 4,
                    "rules": { "check_in_required": true, "release_minutes": 15 } }),
        )
        .await;
    let soon = steward_e2e::minutes_from_now;
    let (status, _, booked) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/bookings")
            .json(&json!({ "room_id": door_room, "start": soon(5), "end": soon(35) })),
    )
    .await;
    assert_eq!(status, 201, "{booked}");
    let door = stack.terminal(&owner, &door_room).await;
    door.status().await.unwrap();
    let body = json!({ "pin": booked["check_in_pin"] })
        .to_string()
        .into_bytes();
    let (status, checked, total, listed) = counted(door.request(
        Method::POST,
        "/v1/terminal/check-in",
        &body,
        body.clone(),
        &door.signing(),
    ))
    .await;
    assert_eq!(status, 200, "{checked}");
    table.push(("check in by PIN at the door", total, 2, listed));

    // Sign-in: the account by email, its memberships, the session written.
    let (status, _, total, listed) = counted(
        stack
            .post("/v1/auth/login")
            .json(&json!({ "email": "owner@counted.test", "password": steward_e2e::PASSWORD })),
    )
    .await;
    assert_eq!(status, 200);
    // No budget in SPEC §C; 4 is ours: the throttle counters and the email in one batch, the
    // account with its memberships (one partition), their users (one batch: a person may
    // belong to several organisations), and the session written with the account's counter
    // forgotten.
    table.push(("sign in", total, 4, listed));

    println!(
        "\n{:<34} {:>8} {:>7}  by operation",
        "operation", "requests", "budget"
    );
    for (operation, total, budget, listed) in &table {
        println!("{operation:<34} {total:>8} {budget:>7}  {listed}");
    }
    let all: Vec<Value> = table
        .iter()
        .map(|(operation, total, budget, listed)| {
            json!({ "operation": operation, "requests": total, "budget": budget,
                    "by_operation": listed, "held_by_test": true })
        })
        .collect();
    steward_e2e::bench_results(
        "requests",
        &json!({ "benchmark": "requests", "operations": all }),
    );
    for (operation, total, budget, listed) in &table {
        assert!(
            total <= budget && *total > 0,
            "{operation}: {total} requests ({listed}), budget {budget}"
        );
    }
}
