//! Faults in DynamoDB, injected by a proxy between the stack and the emulator
//! (steward_e2e::faults): throttling and 5xx answers are retried by the SDK with backoff; where
//! they last, the API answers 503 with Retry-After; a booking is all or nothing wherever the
//! store fails under it, and its retry with the same Idempotency-Key books it once.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::faults::{Fault, faulty_stack};
use steward_e2e::{NewRoom, Person, TestStack, days_ahead, send};

fn booking(room: &str, hour: u32) -> Value {
    let day = days_ahead(20);
    json!({
        "room_id": room,
        "start": format!("{day}T{hour:02}:00"),
        "end": format!("{day}T{hour:02}:30"),
        "title": "Fault drill",
    })
}

async fn book(
    stack: &TestStack,
    owner: &Person,
    body: &Value,
    key: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    send(
        stack
            .as_person(owner, Method::POST, "/v1/bookings")
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

/// Books as a client that follows the answers does: while another run holds the key (one that
/// failed and could not give it up, the store being down), waits the Retry-After it is told.
async fn retry_as_told(stack: &TestStack, owner: &Person, body: &Value, key: &str) -> (u16, Value) {
    for _ in 0..3 {
        let (status, headers, answer) = book(stack, owner, body, key).await;
        if answer["type"] != "urn:steward:problem:idempotency-in-progress" {
            return (status, answer);
        }
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        // At most the lease the booking function takes on a key (functions/rooms: 10 s).
        assert!((1..=10).contains(&wait), "Retry-After {wait}");
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    panic!("{key}: still in progress after three waits");
}

/// The room's bookings, read through the API with the store healthy.
async fn bookings_of(stack: &TestStack, owner: &Person, room: &str) -> Vec<Value> {
    let day = days_ahead(20);
    let (status, _, page) = send(stack.as_person(
        owner,
        Method::GET,
        &format!("/v1/bookings?from={day}T00:00:00Z&to={day}T23:59:59Z&limit=200"),
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["room_id"] == room)
        .cloned()
        .collect()
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_by_the_sdk() {
    let (proxy, stack) = faulty_stack().await;
    let owner = stack.sign_up("Drill Rooms", "owner@drill.test").await;
    let room = stack.create_room(&owner, NewRoom::named("Brace")).await;
    let faults = [
        (9, Fault::Throttle),
        (10, Fault::ServerError),
        (12, Fault::Disconnect),
    ];
    for (hour, fault) in faults {
        let faulted = proxy.faulted();
        // Two failures, then the SDK's third attempt goes through.
        proxy.fail_next(2, fault);
        let (status, _, booked) = book(
            &stack,
            &owner,
            &booking(&room, hour),
            &format!("retry-{hour}"),
        )
        .await;
        assert_eq!(status, 201, "{fault:?}: {booked}");
        assert_eq!(
            proxy.faulted() - faulted,
            2,
            "{fault:?}: both failures were met"
        );
    }
    assert_eq!(bookings_of(&stack, &owner, &room).await.len(), faults.len());

    // A slow store is waited for.
    proxy.break_down(Fault::Slow(Duration::from_millis(300)));
    let (status, _, booked) = book(&stack, &owner, &booking(&room, 11), "slow").await;
    proxy.heal();
    assert_eq!(status, 201, "{booked}");
}

#[tokio::test]
async fn a_store_that_cannot_serve_answers_503_with_retry_after_and_changes_nothing() {
    let (proxy, stack) = faulty_stack().await;
    let owner = stack.sign_up("Outage Rooms", "owner@outage.test").await;
    let room = stack.create_room(&owner, NewRoom::named("Still")).await;
    // Signed in and authorized before the outage: the gateway caches the authorizer's decision.
    assert!(bookings_of(&stack, &owner, &room).await.is_empty());

    let faults = [
        (9, Fault::Throttle),
        (10, Fault::ServerError),
        (11, Fault::Disconnect),
    ];
    for (hour, fault) in faults {
        let body = booking(&room, hour);
        let key = format!("outage-{hour}");
        let before = bookings_of(&stack, &owner, &room).await.len();
        let faulted = proxy.faulted();
        proxy.break_down(fault);
        let (status, headers, problem) = book(&stack, &owner, &body, &key).await;
        proxy.heal();
        assert_eq!(status, 503, "{fault:?}: {problem}");
        assert!(
            proxy.faulted() - faulted > 1,
            "{fault:?}: the SDK tried again before giving up"
        );
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(problem["type"], "urn:steward:problem:unavailable");
        let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after >= 1);
        assert_eq!(
            bookings_of(&stack, &owner, &room).await.len(),
            before,
            "{fault:?}: nothing was booked"
        );

        // The client retries as told: booked once.
        let (status, _, booked) = book(&stack, &owner, &body, &key).await;
        assert_eq!(status, 201, "{fault:?}: {booked}");
        assert_eq!(bookings_of(&stack, &owner, &room).await.len(), before + 1);
    }
    assert_eq!(bookings_of(&stack, &owner, &room).await.len(), faults.len());

    // With no decision cached, the authorizer itself needs the store: API Gateway answers a
    // failed authorizer with its own 500, which an HTTP API cannot change (docs/reliability.md).
    let newcomer = stack.join(&owner, "late@outage.test", &["member"]).await;
    proxy.break_down(Fault::ServerError);
    let (status, _, answer) = send(stack.as_person(&newcomer, Method::GET, "/v1/rooms")).await;
    proxy.heal();
    assert_eq!(status, 500, "{answer}");
    assert_eq!(answer, json!({ "message": "Internal Server Error" }));
}

/// A store that takes a request and never answers: the SDK's timeouts end the call, and the
/// answer is a 503 to retry, well inside the function's timeout (10 s, template.yaml), rather
/// than an invocation run out.
#[tokio::test]
async fn a_store_that_hangs_answers_503_before_the_functions_timeout_and_books_nothing() {
    let (proxy, stack) = faulty_stack().await;
    let owner = stack.sign_up("Hung Rooms", "owner@hung.test").await;
    let room = stack.create_room(&owner, NewRoom::named("Still")).await;
    assert!(bookings_of(&stack, &owner, &room).await.is_empty());

    proxy.break_down(Fault::Slow(Duration::from_secs(60)));
    let started = std::time::Instant::now();
    let (status, headers, problem) = book(&stack, &owner, &booking(&room, 9), "hung").await;
    let waited = started.elapsed();
    proxy.heal();
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "urn:steward:problem:unavailable");
    assert!(headers.get("retry-after").is_some());
    assert!(
        waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
    println!("a hung store answered 503 after {waited:?}");
    assert!(bookings_of(&stack, &owner, &room).await.is_empty());
}

#[tokio::test]
async fn a_booking_is_all_or_nothing_wherever_the_store_fails() {
    let (proxy, stack) = faulty_stack().await;
    let owner = stack.sign_up("Atomic Rooms", "owner@atomic.test").await;
    let member = stack.join(&owner, "member@atomic.test", &["member"]).await;
    let room = stack.create_room(&owner, NewRoom::named("Keel")).await;
    assert!(bookings_of(&stack, &owner, &room).await.is_empty());
    // Warm the member's authorization too: the outage below is the store's, not the authorizer's.
    let (status, _) = stack
        .call(&member, Method::GET, "/v1/rooms", Value::Null)
        .await;
    assert_eq!(status, 200);

    // The store breaks after 0, 1, 2, ... of the booking's requests; past the last of them, the
    // booking goes through untouched and the drill ends.
    let mut broken_at = 0;
    loop {
        let hour = 8 + broken_at as u32;
        assert!(
            hour < 20,
            "a booking makes more store requests than expected"
        );
        let body = booking(&room, hour);
        let key = format!("atomic-{broken_at}");
        let before = bookings_of(&stack, &owner, &room).await.len();
        proxy.break_down_after(broken_at, Fault::ServerError);
        let faulted = proxy.faulted();
        let (status, _, answer) = book(&stack, &owner, &body, &key).await;
        let untouched = proxy.faulted() == faulted;
        proxy.heal();
        assert!(
            status == 201 || status == 503,
            "broken after {broken_at}: {status} {answer}"
        );

        // All or nothing: after a 503 the booking is wholly there or wholly absent (the
        // store may fail after the write that books it); after a 201 it is there.
        let after = bookings_of(&stack, &owner, &room).await.len();
        assert!(
            after == before || after == before + 1,
            "broken after {broken_at}: {before} -> {after}"
        );
        if status == 201 {
            assert_eq!(after, before + 1, "broken after {broken_at}: answered 201");
        }

        // The retry with the same key books it exactly once, and the slot is then truly taken.
        let (status, booked) = retry_as_told(&stack, &owner, &body, &key).await;
        assert_eq!(status, 201, "broken after {broken_at}: retry: {booked}");
        assert_eq!(
            bookings_of(&stack, &owner, &room).await.len(),
            before + 1,
            "broken after {broken_at}: booked once"
        );
        let (status, taken) = stack
            .call(&member, Method::POST, "/v1/bookings", body.clone())
            .await;
        assert_eq!(status, 409, "broken after {broken_at}: {taken}");

        if untouched {
            break;
        }
        broken_at += 1;
    }
    println!(
        "the store broke after each of a booking's first {broken_at} requests: all or nothing"
    );
    assert!(
        broken_at >= 2,
        "the drill broke the store under at least two requests"
    );
}
