//! Bookings through the gateway (SPEC §C): no double booking under concurrency, buffers on
//! both sides, local times in the room's zone, rule refusals named, retries created once.

use futures::future::join_all;
use http::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, send};

async fn room(stack: &TestStack, owner: &Person, extra: Value) -> String {
    let mut body = json!({ "name": "Atlas", "time_zone": "America/New_York", "capacity": 6 });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, _, room) = send(
        stack
            .as_person(owner, Method::POST, "/v1/rooms")
            .json(&body),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_str().unwrap().to_owned()
}

fn booking(room: &str, start: &str, end: &str) -> Value {
    json!({ "room_id": room, "start": start, "end": end, "title": "Planning" })
}

#[tokio::test]
async fn fifty_concurrent_overlapping_creates_give_one_booking_in_each_of_twenty_rounds() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Busy Rooms", "owner@busy.test").await;
    let room = room(&stack, &owner, json!({})).await;
    for round in 0..20 {
        let hour = 8 + round % 10;
        let day = 10 + round / 10;
        let answers = join_all((0..50).map(|i| {
            // Overlapping, not identical: each starts a few minutes apart within the hour.
            let start = format!("2027-03-{day:02}T{hour:02}:{:02}", i % 30);
            let end = format!("2027-03-{day:02}T{:02}:{:02}", hour + 1, i % 30);
            let request = stack
                .as_person(&owner, Method::POST, "/v1/bookings")
                .json(&booking(&room, &start, &end));
            async move { send(request).await }
        }))
        .await;
        let won: Vec<&Value> = answers
            .iter()
            .filter(|(s, _, _)| *s == 201)
            .map(|(_, _, b)| b)
            .collect();
        let lost: Vec<&Value> = answers
            .iter()
            .filter(|(s, _, _)| *s == 409)
            .map(|(_, _, b)| b)
            .collect();
        assert_eq!(
            (won.len(), lost.len()),
            (1, 49),
            "round {round}: {answers:?}"
        );
        let winner = won[0]["id"].as_str().unwrap();
        assert!(
            lost.iter()
                .all(|p| p["detail"].as_str().unwrap().contains(winner)),
            "every refusal names the booking it meets"
        );
    }
}

#[tokio::test]
async fn buffers_count_on_both_sides_and_local_times_follow_the_room_zone() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Buffer Rooms", "owner@buffer.test").await;
    let room = room(
        &stack,
        &owner,
        json!({ "rules": { "buffer_before_minutes": 5, "buffer_after_minutes": 10 } }),
    )
    .await;
    let create = |start: &str, end: &str| {
        send(
            stack
                .as_person(&owner, Method::POST, "/v1/bookings")
                .json(&booking(&room, start, end)),
        )
    };
    let (status, _, first) = create("2027-04-01T10:00", "2027-04-01T11:00").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        first["start"], "2027-04-01T14:00:00Z",
        "10:00 in New York (EDT)"
    );
    // 11:10 meets the 10-minute clean-up after; 11:15 is the first free start.
    let (status, _, problem) = create("2027-04-01T11:10", "2027-04-01T12:00").await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("counting the room's buffers")
    );
    assert_eq!(create("2027-04-01T11:15", "2027-04-01T12:00").await.0, 201);
    // Before it: this one's clean-up (10) plus the first one's set-up (5).
    assert_eq!(create("2027-04-01T09:00", "2027-04-01T09:50").await.0, 409);
    assert_eq!(create("2027-04-01T09:00", "2027-04-01T09:45").await.0, 201);

    // 02:30 on the spring-forward day does not exist in New York.
    let (status, _, problem) = create("2027-03-14T02:30", "2027-03-14T03:30").await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("does not exist in America/New_York"),
        "{problem}"
    );
    // An explicit offset is taken as given.
    let (status, _, explicit) =
        create("2027-04-02T09:00:00-04:00", "2027-04-02T10:00:00-04:00").await;
    assert_eq!(
        (status, explicit["start"].as_str()),
        (201, Some("2027-04-02T13:00:00Z"))
    );
}

#[tokio::test]
async fn rules_are_named_managers_may_override_them_and_a_retry_books_once() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Rule Rooms", "owner@rule.test").await;
    let member = stack.join(&owner, "member@rule.test", &["member"]).await;
    let room = room(
        &stack,
        &owner,
        json!({ "rules": { "max_duration_minutes": 60 } }),
    )
    .await;
    let long = booking(&room, "2027-05-03T09:00", "2027-05-03T11:00");
    let (status, _, problem) = send(
        stack
            .as_person(&member, Method::POST, "/v1/bookings")
            .json(&long),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "rules.too_long");
    // A member cannot override; the owner can, with a reason that is kept.
    let mut overriding = long.clone();
    overriding["override_reason"] = json!("board meeting");
    let (status, _, refused) = send(
        stack
            .as_person(&member, Method::POST, "/v1/bookings")
            .json(&overriding),
    )
    .await;
    assert_eq!(
        (status, refused["missing_permission"].as_str()),
        (403, Some("rooms:manage"))
    );
    let (status, _, overridden) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/bookings")
            .json(&overriding),
    )
    .await;
    assert_eq!(status, 201, "{overridden}");
    assert_eq!(overridden["override_reason"], "board meeting");

    // The same Idempotency-Key twice: one booking, the same answer.
    let retry = booking(&room, "2027-05-04T09:00", "2027-05-04T10:00");
    let first = send(
        stack
            .as_person(&member, Method::POST, "/v1/bookings")
            .header("idempotency-key", "book-once-1")
            .json(&retry),
    )
    .await;
    let second = send(
        stack
            .as_person(&member, Method::POST, "/v1/bookings")
            .header("idempotency-key", "book-once-1")
            .json(&retry),
    )
    .await;
    assert_eq!(first.0, 201);
    assert_eq!((second.0, &second.2["id"]), (201, &first.2["id"]));
    let (status, _, read) = send(stack.as_person(
        &member,
        Method::GET,
        &format!("/v1/bookings/{}", first.2["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!((status, read["status"].as_str()), (200, Some("confirmed")));
    // Another tenant sees nothing.
    let stranger = stack.sign_up("Other Rules", "owner@otherrule.test").await;
    let (status, _, _) = send(stack.as_person(
        &stranger,
        Method::GET,
        &format!("/v1/bookings/{}", first.2["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(status, 404);
}
