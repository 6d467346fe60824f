//! Bookings through the gateway (SPEC §C): no double booking under concurrency, buffers on
//! both sides, local times in the room's zone, rule refusals named, retries created once.

use futures::future::join_all;
use http::Method;
use serde_json::{Value, json};
use steward_e2e::{
    NewRoom, Person, TestStack, days_ahead, next_fall_back, next_spring_forward, send,
};

fn booking(room: &str, start: &str, end: &str) -> Value {
    json!({ "room_id": room, "start": start, "end": end, "title": "Planning" })
}

/// The room most tests book: Atlas, in New York.
fn atlas() -> NewRoom {
    NewRoom::named("Atlas").zone("America/New_York")
}

#[tokio::test]
async fn fifty_concurrent_overlapping_creates_give_one_booking_in_each_of_twenty_rounds() {
    let stack = TestStack::start().await;
    let _burst = steward_e2e::burst().await;
    let owner = stack.sign_up("Busy Rooms", "owner@busy.test").await;
    let room = stack.create_room(&owner, atlas()).await;
    for round in 0..20 {
        let hour = 8 + round % 10;
        let day = days_ahead(20 + round / 10);
        let answers = join_all((0..50).map(|i| {
            // Overlapping, not identical: each starts a few minutes apart within the hour.
            let start = format!("{day}T{hour:02}:{:02}", i % 30);
            let end = format!("{day}T{:02}:{:02}", hour + 1, i % 30);
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
    let room = stack
        .create_room(
            &owner,
            atlas().with_all(
                json!({ "rules": { "buffer_before_minutes": 5, "buffer_after_minutes": 10 } }),
            ),
        )
        .await;
    let create = |start: &str, end: &str| {
        send(
            stack
                .as_person(&owner, Method::POST, "/v1/bookings")
                .json(&booking(&room, start, end)),
        )
    };
    let d = days_ahead(30);
    let at = |time: &str| format!("{d}T{time}");
    let (status, _, first) = create(&at("10:00"), &at("11:00")).await;
    assert_eq!(status, 201, "{first}");
    let new_york = d
        .at(10, 0, 0, 0)
        .in_tz("America/New_York")
        .unwrap()
        .timestamp();
    assert_eq!(first["start"], new_york.to_string(), "10:00 in New York");
    // 11:10 meets the 10-minute clean-up after; 11:15 is the first free start.
    let (status, _, problem) = create(&at("11:10"), &at("12:00")).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("counting the room's buffers")
    );
    assert_eq!(create(&at("11:15"), &at("12:00")).await.0, 201);
    // Before it: this one's clean-up (10) plus the first one's set-up (5).
    assert_eq!(create(&at("09:00"), &at("09:50")).await.0, 409);
    assert_eq!(create(&at("09:00"), &at("09:45")).await.0, 201);

    // 02:30 on the spring-forward day does not exist in New York.
    let spring = next_spring_forward("America/New_York");
    let (status, _, problem) = create(&format!("{spring}T02:30"), &format!("{spring}T03:30")).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("does not exist in America/New_York"),
        "{problem}"
    );
    // An explicit offset is taken as given.
    let d2 = days_ahead(31);
    let (status, _, explicit) = create(
        &format!("{d2}T09:00:00-04:00"),
        &format!("{d2}T10:00:00-04:00"),
    )
    .await;
    assert_eq!(
        (status, explicit["start"].as_str()),
        (201, Some(format!("{d2}T13:00:00Z").as_str()))
    );
}

#[tokio::test]
async fn rules_are_named_managers_may_override_them_and_a_retry_books_once() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Rule Rooms", "owner@rule.test").await;
    let member = stack.join(&owner, "member@rule.test", &["member"]).await;
    let room = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "rules": { "max_duration_minutes": 60 } })),
        )
        .await;
    let long = booking(
        &room,
        &format!("{}T09:00", days_ahead(40)),
        &format!("{}T11:00", days_ahead(40)),
    );
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
    let retry = booking(
        &room,
        &format!("{}T09:00", days_ahead(41)),
        &format!("{}T10:00", days_ahead(41)),
    );
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

#[tokio::test]
async fn a_cancelled_booking_is_kept_its_slot_freed_and_only_its_organiser_or_a_manager_may_cancel()
{
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Cancel Rooms", "owner@cancel.test").await;
    let member = stack.join(&owner, "member@cancel.test", &["member"]).await;
    let other = stack.join(&owner, "other@cancel.test", &["member"]).await;
    let room = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "rules": { "buffer_after_minutes": 15 } })),
        )
        .await;
    let slot = booking(
        &room,
        &format!("{}T10:00", days_ahead(35)),
        &format!("{}T11:00", days_ahead(35)),
    );
    let (status, _, first) = send(
        stack
            .as_person(&member, Method::POST, "/v1/bookings")
            .json(&slot),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let cancel = format!("/v1/bookings/{}/cancel", first["id"].as_str().unwrap());

    // Someone else's booking: refused; no If-Match: 428; a stale one: 412.
    let (status, _, refused) = send(
        stack
            .as_person(&other, Method::POST, &cancel)
            .header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(
        (status, refused["missing_permission"].as_str()),
        (403, Some("rooms:manage"))
    );
    assert_eq!(
        send(stack.as_person(&member, Method::POST, &cancel))
            .await
            .0,
        428
    );
    assert_eq!(
        send(
            stack
                .as_person(&member, Method::POST, &cancel)
                .header("if-match", "\"9\"")
        )
        .await
        .0,
        412
    );
    let (status, headers, cancelled) = send(
        stack
            .as_person(&member, Method::POST, &cancel)
            .header("if-match", "\"1\"")
            .json(&json!({ "reason": "plans changed" })),
    )
    .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    assert_eq!(headers["etag"], "\"2\"");
    // Kept as history; cancelling again is a conflict.
    let (_, _, read) = send(stack.as_person(
        &member,
        Method::GET,
        &format!("/v1/bookings/{}", first["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(read["status"], "cancelled");
    assert_eq!(
        send(
            stack
                .as_person(&member, Method::POST, &cancel)
                .header("if-match", "\"2\"")
        )
        .await
        .0,
        409
    );
    // The slot, buffers included, is free again.
    let (status, _, again) = send(
        stack
            .as_person(&other, Method::POST, "/v1/bookings")
            .json(&slot),
    )
    .await;
    assert_eq!(status, 201, "{again}");
    // A manager (the owner) may cancel anyone's.
    let theirs = format!("/v1/bookings/{}/cancel", again["id"].as_str().unwrap());
    assert_eq!(
        send(
            stack
                .as_person(&owner, Method::POST, &theirs)
                .header("if-match", "\"1\"")
        )
        .await
        .0,
        200
    );
}

/// Sends `method` to `path` as `who` with `If-Match: "<version>"` and a JSON body.
async fn with_version(
    stack: &TestStack,
    who: &Person,
    method: Method,
    path: impl AsRef<str>,
    version: u64,
    body: Value,
) -> (u16, Value) {
    let (status, _, answer) = send(
        stack
            .as_person(who, method, path.as_ref())
            .header("if-match", format!("\"{version}\""))
            .json(&body),
    )
    .await;
    (status, answer)
}

async fn create(stack: &TestStack, who: &Person, body: &Value) -> Value {
    let (status, _, created) = send(
        stack
            .as_person(who, Method::POST, "/v1/bookings")
            .json(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[tokio::test]
async fn moves_extensions_and_approvals_never_double_book_under_concurrency() {
    let stack = TestStack::start().await;
    let _burst = steward_e2e::burst().await;
    let owner = stack.sign_up("Race Rooms", "owner@race.test").await;
    let room = stack
        .create_room(&owner, atlas().with_all(json!({ "time_zone": "UTC" })))
        .await;

    // 50 bookings of 20 minutes, 25 minutes apart, all moved at once onto one free slot.
    for round in 0..3 {
        let day = days_ahead(30 + round);
        let mut bookings = Vec::new();
        for i in 0..50 {
            let start = day
                .at(0, 0, 0, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                + jiff::SignedDuration::from_mins(25 * i);
            let end = start + jiff::SignedDuration::from_mins(20);
            bookings.push(
                create(
                    &stack,
                    &owner,
                    &booking(&room, &start.to_string(), &end.to_string()),
                )
                .await,
            );
        }
        let target_day = days_ahead(40 + round);
        let target = json!({
            "start": format!("{target_day}T10:00:00Z"),
            "end": format!("{target_day}T10:20:00Z"),
        });
        let answers = join_all(bookings.iter().map(|b| {
            with_version(
                &stack,
                &owner,
                Method::PATCH,
                format!("/v1/bookings/{}", id(b)),
                1,
                target.clone(),
            )
        }))
        .await;
        let moved: Vec<&Value> = answers
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        let refused = answers.iter().filter(|(s, _)| *s == 409).count();
        assert_eq!(
            (moved.len(), refused),
            (1, 49),
            "round {round}: {answers:?}"
        );
        let winner = id(moved[0]);
        assert!(
            answers
                .iter()
                .filter(|(s, _)| *s == 409)
                .all(|(_, p)| p["detail"].as_str().unwrap().contains(winner)),
            "every refused move names the booking that got there first"
        );
    }

    // One extension against 25 creates of the time it extends into: one of the 26 wins.
    let d = days_ahead(50);
    let first = create(
        &stack,
        &owner,
        &booking(&room, &format!("{d}T09:00:00Z"), &format!("{d}T10:00:00Z")),
    )
    .await;
    let extend = with_version(
        &stack,
        &owner,
        Method::PATCH,
        format!("/v1/bookings/{}", id(&first)),
        1,
        json!({ "end": format!("{d}T10:30:00Z") }),
    );
    let creates = join_all((0..25).map(|i| {
        let request = stack
            .as_person(&owner, Method::POST, "/v1/bookings")
            .json(&booking(
                &room,
                &format!("{d}T10:{:02}:00Z", i % 10),
                &format!("{d}T10:40:00Z"),
            ));
        async move { send(request).await.0 }
    }));
    let ((extended, _), created) = tokio::join!(extend, creates);
    let winners = created.iter().filter(|s| **s == 201).count() + usize::from(extended == 200);
    assert_eq!(winners, 1, "extension {extended}, creates {created:?}");
    assert!(created.iter().all(|s| [201, 409].contains(s)));

    // Approvals: the pending booking holds its slot; of 50 approvals at once, one applies.
    let board = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "time_zone": "UTC", "rules": { "approval_required": true } })),
        )
        .await;
    // A member's: a booking is approved by someone other than its organiser.
    let member = stack.join(&owner, "member@race.test", &["member"]).await;
    let pending = create(
        &stack,
        &member,
        &booking(&board, &format!("{d}T09:00:00Z"), &format!("{d}T10:00:00Z")),
    )
    .await;
    assert_eq!(pending["status"], "pending");
    let (status, _, held) = send(stack.as_person(&owner, Method::POST, "/v1/bookings").json(
        &booking(&board, &format!("{d}T09:30:00Z"), &format!("{d}T10:30:00Z")),
    ))
    .await;
    assert_eq!(status, 409, "a pending booking holds its slot: {held}");
    assert!(held["detail"].as_str().unwrap().contains(id(&pending)));
    let approve = format!("/v1/bookings/{}/approve", id(&pending));
    let answers = join_all(
        (0..50).map(|_| with_version(&stack, &owner, Method::POST, &approve, 1, json!({}))),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409, 412].contains(s)),
        "{statuses:?}"
    );
    let (_, _, read) = send(stack.as_person(
        &owner,
        Method::GET,
        &format!("/v1/bookings/{}", id(&pending)),
    ))
    .await;
    assert_eq!(
        (read["status"].as_str(), read["version"].as_u64()),
        (Some("confirmed"), Some(2))
    );
}

#[tokio::test]
async fn bookings_move_resize_extend_and_end_early_at_the_version_named() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Change Rooms", "owner@change.test").await;
    let member = stack.join(&owner, "member@change.test", &["member"]).await;
    let other = stack.join(&owner, "other@change.test", &["member"]).await;
    let room = stack
        .create_room(&owner, atlas().with_all(json!({ "time_zone": "UTC" })))
        .await;
    let (d, e) = (days_ahead(60), days_ahead(59));
    let mine = create(
        &stack,
        &member,
        &booking(&room, &format!("{d}T09:00:00Z"), &format!("{d}T10:00:00Z")),
    )
    .await;
    let theirs = create(
        &stack,
        &other,
        &booking(&room, &format!("{d}T11:00:00Z"), &format!("{d}T12:00:00Z")),
    )
    .await;
    let path = format!("/v1/bookings/{}", id(&mine));
    let later = json!({ "start": &format!("{d}T09:30:00Z"), "end": &format!("{d}T10:45:00Z") });

    let (status, _, _) = send(stack.as_person(&member, Method::PATCH, &path).json(&later)).await;
    assert_eq!(status, 428, "If-Match is required");
    assert_eq!(
        with_version(&stack, &member, Method::PATCH, &path, 7, later.clone())
            .await
            .0,
        412
    );
    let (status, refused) =
        with_version(&stack, &other, Method::PATCH, &path, 1, later.clone()).await;
    assert_eq!(
        (status, refused["missing_permission"].as_str()),
        (403, Some("rooms:manage"))
    );
    // Onto the other booking: refused, naming it; nothing changes.
    let (status, clash) = with_version(
        &stack,
        &member,
        Method::PATCH,
        &path,
        1,
        json!({ "end": &format!("{d}T11:30:00Z") }),
    )
    .await;
    assert_eq!(status, 409, "{clash}");
    assert!(clash["detail"].as_str().unwrap().contains(id(&theirs)));
    // Past the room's rules: named; a member may not override them.
    let (status, long) = with_version(
        &stack,
        &member,
        Method::PATCH,
        &path,
        1,
        json!({ "start": &format!("{e}T20:00:00Z") }),
    )
    .await;
    assert_eq!(status, 422, "{long}");
    assert!(long.to_string().contains("rules.too_long"), "{long}");
    let (status, _) = with_version(
        &stack,
        &member,
        Method::PATCH,
        &path,
        1,
        json!({ "start": &format!("{e}T20:00:00Z"), "override_reason": "please" }),
    )
    .await;
    assert_eq!(status, 403);
    // Moved and resized: the old slot is free for someone else.
    let (status, moved) = with_version(&stack, &member, Method::PATCH, &path, 1, later).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (
            moved["start"].as_str(),
            moved["end"].as_str(),
            moved["version"].as_u64()
        ),
        (
            Some(format!("{d}T09:30:00Z").as_str()),
            Some(format!("{d}T10:45:00Z").as_str()),
            Some(2)
        )
    );
    create(
        &stack,
        &other,
        &booking(&room, &format!("{d}T08:30:00Z"), &format!("{d}T09:30:00Z")),
    )
    .await;

    // A booking under way keeps its start; its end may move, and it may end early.
    let now = jiff::Timestamp::now();
    let minutes = |m: i64| (now + jiff::SignedDuration::from_mins(m)).to_string();
    let running = create(
        &stack,
        &owner,
        &json!({
            "room_id": room, "start": minutes(-10), "end": minutes(50),
            "override_reason": "walk-in",
        }),
    )
    .await;
    let running_path = format!("/v1/bookings/{}", id(&running));
    let (status, _) = with_version(
        &stack,
        &owner,
        Method::PATCH,
        &running_path,
        1,
        json!({ "start": minutes(-5) }),
    )
    .await;
    assert_eq!(status, 409, "the start of a booking under way stays");
    let (status, extended) = with_version(
        &stack,
        &owner,
        Method::PATCH,
        &running_path,
        1,
        json!({ "end": minutes(70) }),
    )
    .await;
    assert_eq!(
        status, 200,
        "an extension is not a booking in the past: {extended}"
    );
    let (status, ended) = with_version(
        &stack,
        &owner,
        Method::POST,
        &format!("{running_path}/end"),
        2,
        json!({ "reason": "done early" }),
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["status"], "completed");
    let ended_at: jiff::Timestamp = ended["end"].as_str().unwrap().parse().unwrap();
    assert!(
        ended_at <= jiff::Timestamp::now() && ended_at >= now - jiff::SignedDuration::from_mins(1)
    );
    // The rest of its time is free.
    create(&stack, &member, &booking(&room, &minutes(20), &minutes(40))).await;
    // A booking not under way is cancelled, not ended.
    let (status, _) = with_version(
        &stack,
        &other,
        Method::POST,
        &format!("/v1/bookings/{}/end", id(&theirs)),
        1,
        json!({}),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn approvers_decide_pending_bookings_and_a_moved_booking_is_approved_again() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Board Rooms", "owner@board.test").await;
    let member = stack.join(&owner, "member@board.test", &["member"]).await;
    let board = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "time_zone": "UTC", "rules": { "approval_required": true } })),
        )
        .await;
    let d = days_ahead(61);
    let asked = create(
        &stack,
        &member,
        &booking(&board, &format!("{d}T09:00:00Z"), &format!("{d}T10:00:00Z")),
    )
    .await;
    assert_eq!(asked["status"], "pending");
    let path = format!("/v1/bookings/{}", id(&asked));
    let (status, refused) = with_version(
        &stack,
        &member,
        Method::POST,
        &format!("{path}/approve"),
        1,
        json!({}),
    )
    .await;
    assert_eq!(
        (status, refused["missing_permission"].as_str()),
        (403, Some("bookings:approve"))
    );
    let (status, approved) = with_version(
        &stack,
        &owner,
        Method::POST,
        &format!("{path}/approve"),
        1,
        json!({ "reason": "fine" }),
    )
    .await;
    assert_eq!(
        (
            status,
            approved["status"].as_str(),
            approved["decided_by"].as_str()
        ),
        (200, Some("confirmed"), Some(owner.user_id.as_str()))
    );
    // Its organiser moves it: it needs approval again.
    let (status, moved) = with_version(
        &stack,
        &member,
        Method::PATCH,
        &path,
        2,
        json!({ "start": &format!("{d}T13:00:00Z"), "end": &format!("{d}T14:00:00Z") }),
    )
    .await;
    assert_eq!(
        (status, moved["status"].as_str()),
        (200, Some("pending")),
        "{moved}"
    );
    let (status, rejected) = with_version(
        &stack,
        &owner,
        Method::POST,
        &format!("{path}/reject"),
        3,
        json!({ "reason": "board meets then" }),
    )
    .await;
    assert_eq!(
        (
            status,
            rejected["status"].as_str(),
            rejected["status_reason"].as_str()
        ),
        (200, Some("rejected"), Some("board meets then"))
    );
    // Rejected: kept, and its slot is free.
    let again = create(
        &stack,
        &member,
        &booking(&board, &format!("{d}T13:00:00Z"), &format!("{d}T14:00:00Z")),
    )
    .await;
    assert_eq!(again["status"], "pending");
    let (status, _) = with_version(
        &stack,
        &owner,
        Method::POST,
        &format!("{path}/approve"),
        4,
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "a rejected booking is not pending");
}

#[tokio::test]
async fn closures_refuse_bookings_with_their_reason_and_name_the_bookings_they_meet() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Closed Rooms", "owner@closed.test").await;
    let room = stack
        .create_room(
            &owner,
            atlas().with_all(
                json!({ "time_zone": "Europe/London", "rules": { "horizon_days": 730 } }),
            ),
        )
        .await;
    // The Sunday the clocks go forward, the Sunday before, and the Monday after.
    let spring = next_spring_forward("Europe/London");
    let week_before = spring.checked_sub(jiff::ToSpan::days(7)).unwrap();
    let (before_end, monday) = (week_before.tomorrow().unwrap(), spring.tomorrow().unwrap());
    let sunday = create(
        &stack,
        &owner,
        &booking(
            &room,
            &format!("{week_before}T10:00"),
            &format!("{week_before}T11:00"),
        ),
    )
    .await;
    let closures = format!("/v1/rooms/{room}/closures");
    let (status, _, bad) = send(
        stack
            .as_person(&owner, Method::POST, &closures)
            .json(&json!({ "start": format!("{week_before}T10:00"), "end": format!("{week_before}T09:00"), "reason": "x", "recurrence": "FREQ=YEARLY;COUNT=2" })),
    )
    .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["end", "recurrence"], "{bad}");
    // Every Sunday, all day on the wall clock, for four weeks (the clocks change in the second).
    let (status, _, closed) = send(stack.as_person(&owner, Method::POST, &closures).json(&json!({
        "start": format!("{week_before}T00:00"), "end": format!("{before_end}T00:00"), "reason": "Deep clean",
        "recurrence": "FREQ=WEEKLY;BYDAY=SU;COUNT=4",
    })))
    .await;
    assert_eq!(status, 201, "{closed}");
    let affected: Vec<&str> = closed["bookings_affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        affected,
        [id(&sunday)],
        "the existing booking is named, not cancelled"
    );
    let (_, _, me) = send(stack.as_person(&owner, Method::GET, "/v1/me")).await;
    assert_eq!(
        closed["bookings_affected"][0]["organiser_name"], me["name"],
        "with whom to tell"
    );
    for (start, end) in [
        (format!("{spring}T10:00"), format!("{spring}T11:00")),
        // 23:00 local is 22:00Z once the clocks went forward: still Sunday on the wall clock.
        (format!("{spring}T23:00"), format!("{spring}T23:45")),
    ] {
        let (status, _, refused) = send(
            stack
                .as_person(&owner, Method::POST, "/v1/bookings")
                .json(&booking(&room, &start, &end)),
        )
        .await;
        assert_eq!(status, 409, "{start}: {refused}");
        let detail = refused["detail"].as_str().unwrap();
        assert!(
            detail.contains("Deep clean")
                && detail.contains(closed["closure"]["id"].as_str().unwrap()),
            "{detail}"
        );
    }
    create(
        &stack,
        &owner,
        &booking(
            &room,
            &format!("{monday}T00:00"),
            &format!("{monday}T01:00"),
        ),
    )
    .await;
    let (_, _, listed) = send(stack.as_person(&owner, Method::GET, &closures)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let reopen = format!("{closures}/{}", closed["closure"]["id"].as_str().unwrap());
    assert_eq!(
        send(stack.as_person(&owner, Method::DELETE, &reopen))
            .await
            .0,
        204
    );
    create(
        &stack,
        &owner,
        &booking(
            &room,
            &format!("{spring}T10:00"),
            &format!("{spring}T11:00"),
        ),
    )
    .await;
}

#[tokio::test]
async fn bookings_are_listed_by_organiser_room_and_day_with_sealed_cursors() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Listed Rooms", "owner@listed.test").await;
    let member = stack.join(&owner, "member@listed.test", &["member"]).await;
    let north = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "name": "North", "time_zone": "UTC" })),
        )
        .await;
    let south = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "name": "South", "time_zone": "UTC" })),
        )
        .await;
    let (d, next, far) = (days_ahead(62), days_ahead(63), days_ahead(100));
    let mut made = Vec::new();
    for (who, room, hour) in [
        (&member, &north, 9),
        (&owner, &north, 11),
        (&member, &south, 10),
        (&owner, &south, 12),
        (&member, &north, 14),
    ] {
        let start = format!("{d}T{hour:02}:00:00Z");
        let end = format!("{d}T{:02}:00:00Z", hour + 1);
        made.push(create(&stack, who, &booking(room, &start, &end)).await);
    }
    // Another day, not in the window.
    create(
        &stack,
        &member,
        &booking(
            &north,
            &format!("{next}T09:00:00Z"),
            &format!("{next}T10:00:00Z"),
        ),
    )
    .await;
    let day = format!("from={d}T00:00:00Z&to={next}T00:00:00Z");
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |who: &Person, query: String| {
        let request = stack.as_person(who, Method::GET, &format!("/v1/bookings?{query}"));
        async move { send(request).await }
    };
    let (status, _, mine) = list(&member, format!("{day}&mine=true")).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(ids(&mine), [id(&made[0]), id(&made[2]), id(&made[4])]);
    let (_, _, in_north) = list(&member, format!("{day}&room_id={north}")).await;
    assert_eq!(ids(&in_north), [id(&made[0]), id(&made[1]), id(&made[4])]);
    // The day across rooms, two at a time, in start order.
    let (_, _, first) = list(&owner, format!("{day}&limit=2")).await;
    assert_eq!(ids(&first), [id(&made[0]), id(&made[2])]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, _, second) = list(&owner, format!("{day}&limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), [id(&made[1]), id(&made[3])]);
    // A cursor is sealed to its query: replayed on another it is refused.
    let (status, _, replayed) =
        list(&owner, format!("{day}&limit=2&mine=true&cursor={cursor}")).await;
    assert!([400, 422].contains(&status), "{status} {replayed}");
    // Cancelled bookings stay listed, as history.
    with_version(
        &stack,
        &member,
        Method::POST,
        &format!("/v1/bookings/{}/cancel", id(&made[0])),
        1,
        json!({}),
    )
    .await;
    let (_, _, after) = list(&member, format!("{day}&mine=true")).await;
    assert_eq!(after["items"][0]["status"], "cancelled");
    for (query, field) in [
        (format!("to={next}T00:00:00Z"), "from"),
        (format!("from={d}T00:00:00Z&to={far}T00:00:00Z"), "to"),
        (format!("{day}&mine=true&room_id={north}"), "mine"),
        (format!("{day}&mine=perhaps"), "mine"),
    ] {
        let (status, _, problem) = list(&member, query.clone()).await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
}

#[tokio::test]
async fn availability_names_free_rooms_and_why_the_others_are_not() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Free Rooms", "owner@free.test").await;
    let small = stack.create_room(&owner, atlas().with_all(json!({ "name": "Small", "time_zone": "UTC", "capacity": 4, "equipment": ["screen"] })))
    .await;
    let large = stack.create_room(&owner, atlas().with_all(json!({
            "name": "Large", "time_zone": "UTC", "capacity": 12, "equipment": ["screen", "video"],
            "rules": { "buffer_after_minutes": 15 },
        })))
    .await;
    let closed = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "name": "Closed", "time_zone": "UTC", "capacity": 20 })),
        )
        .await;
    let d = days_ahead(45);
    let booked = create(
        &stack,
        &owner,
        &booking(&large, &format!("{d}T10:00:00Z"), &format!("{d}T11:00:00Z")),
    )
    .await;
    let (status, _, _) = send(
        stack
            .as_person(&owner, Method::POST, &format!("/v1/rooms/{closed}/closures"))
            .json(&json!({ "start": format!("{d}T00:00"), "end": format!("{d}T18:00"), "reason": "Carpets" })),
    )
    .await;
    assert_eq!(status, 201);
    let ask = |query: String| {
        let request = stack.as_person(&owner, Method::GET, &format!("/v1/availability?{query}"));
        async move { send(request).await }
    };
    let interval = format!("start={d}T11:05:00Z&end={d}T12:00:00Z");
    let (status, _, answer) = ask(interval.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let free: Vec<&str> = answer["free"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(free, [small.as_str()]);
    let why = |room: &str| -> Value {
        answer["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["room"]["id"] == room)
            .map(|u| u["reasons"].clone())
            .unwrap_or_else(|| panic!("{room} is listed unavailable: {answer}"))
    };
    let large_why = why(&large);
    assert_eq!(
        (
            large_why[0]["kind"].as_str(),
            large_why[0]["booking_id"].as_str()
        ),
        (Some("buffer"), Some(id(&booked))),
        "only Large's clean-up time meets the interval"
    );
    let closed_why = why(&closed);
    assert_eq!(
        (
            closed_why[0]["kind"].as_str(),
            closed_why[0]["reason"].as_str()
        ),
        (Some("closure"), Some("Carpets"))
    );
    // Filters: capacity and equipment leave only Large and Closed, then only Large.
    let (_, _, big) = ask(format!("{interval}&capacity=10")).await;
    assert!(big["free"].as_array().unwrap().is_empty());
    assert_eq!(big["unavailable"].as_array().unwrap().len(), 2);
    let (_, _, video) = ask(format!("{interval}&equipment=Video")).await;
    assert_eq!(video["unavailable"].as_array().unwrap().len(), 1);
    assert_eq!(video["unavailable"][0]["room"]["id"], large.as_str());
    // A rule is a reason too.
    let past = days_ahead(-1);
    let (_, _, yesterday) = ask(format!("start={past}T10:00:00Z&end={past}T11:00:00Z")).await;
    let small_why = &yesterday["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["room"]["id"] == small.as_str())
        .unwrap()["reasons"][0];
    assert_eq!(
        (small_why["kind"].as_str(), small_why["rule"].as_str()),
        (Some("rule"), Some("in_the_past"))
    );
    // Free/busy of a room over its day: the booking and its clean-up; the closure with its reason.
    let (status, _, busy) = send(stack.as_person(
        &owner,
        Method::GET,
        &format!("/v1/rooms/{large}/free-busy?from={d}T00:00:00Z&to={d}T23:59:00Z"),
    ))
    .await;
    assert_eq!(status, 200, "{busy}");
    let kinds: Vec<(&str, &str, &str)> = busy["busy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["kind"].as_str().unwrap(),
                b["start"].as_str().unwrap(),
                b["end"].as_str().unwrap(),
            )
        })
        .collect();
    let (ten, eleven, quarter) = (
        format!("{d}T10:00:00Z"),
        format!("{d}T11:00:00Z"),
        format!("{d}T11:15:00Z"),
    );
    assert_eq!(
        kinds,
        [
            ("booking", ten.as_str(), eleven.as_str()),
            ("buffer", eleven.as_str(), quarter.as_str())
        ]
    );
    let (_, _, shut) = send(stack.as_person(
        &owner,
        Method::GET,
        &format!("/v1/rooms/{closed}/free-busy?from={d}T00:00:00Z&to={d}T23:59:00Z"),
    ))
    .await;
    assert_eq!(shut["busy"][0]["reason"], "Carpets");
    // Bad windows are named.
    for (query, field) in [
        (format!("end={d}T12:00:00Z"), "start"),
        (format!("start={d}T12:00:00Z&end={d}T11:00:00Z"), "end"),
        (
            format!("start={d}T12:00:00Z&end={}T12:00:00Z", days_ahead(90)),
            "end",
        ),
        (format!("{interval}&capacity=many"), "capacity"),
    ] {
        let (status, _, problem) = ask(query.clone()).await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_local_time_in_the_fall_back_fold_is_the_earlier_instant_as_the_docs_say() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Fold Rooms", "owner@fold.test").await;
    // The next fall-back may be up to a year away.
    let room = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "rules": { "horizon_days": 730 } })),
        )
        .await;
    let fall = next_fall_back("America/New_York");
    let create = |start: String, end: String| {
        send(
            stack
                .as_person(&owner, Method::POST, "/v1/bookings")
                .json(&booking(&room, &start, &end)),
        )
    };
    let instant = |time: &str, offset: &str| -> jiff::Timestamp {
        format!("{fall}T{time}{offset}").parse().unwrap()
    };
    // 01:30 happens twice: EDT (-04:00) first, then EST (-05:00). The earlier is taken.
    let (status, _, first) = create(format!("{fall}T01:30"), format!("{fall}T01:45")).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["start"], instant("01:30", "-04:00").to_string());
    assert_eq!(first["end"], instant("01:45", "-04:00").to_string());
    // The later 01:30 is had by saying its offset, and does not meet the first.
    let (status, _, later) = create(
        format!("{fall}T01:30:00-05:00"),
        format!("{fall}T01:45:00-05:00"),
    )
    .await;
    assert_eq!(status, 201, "{later}");
    assert_eq!(later["start"], instant("01:30", "-05:00").to_string());
    assert_eq!(
        instant("01:30", "-05:00").duration_since(instant("01:30", "-04:00")),
        jiff::SignedDuration::from_hours(1)
    );
    // The earlier one again, given as local time: taken, by the first booking.
    let (status, _, problem) = create(format!("{fall}T01:35"), format!("{fall}T01:55")).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(first["id"].as_str().unwrap())
    );
}

/// A manager's queue: `status=pending` lists only the bookings waiting for approval, across
/// rooms; a status the API does not know is a 422, and a cursor is sealed to its status.
#[tokio::test]
async fn the_tenant_s_bookings_are_listed_by_status() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Queue Rooms", "owner@queue.test").await;
    let member = stack.join(&owner, "member@queue.test", &["member"]).await;
    let approved = NewRoom::named("Board")
        .with_all(json!({ "time_zone": "UTC", "rules": { "approval_required": true } }));
    let board = stack.create_room(&owner, approved).await;
    let open = stack
        .create_room(&owner, NewRoom::named("Open").zone("UTC"))
        .await;
    let d = days_ahead(3);
    let mut pending = Vec::new();
    for hour in ["09", "11", "13"] {
        let made = stack
            .book(
                &member,
                steward_e2e::NewBooking::of(
                    &board,
                    format!("{d}T{hour}:00:00Z"),
                    format!("{d}T{hour}:30:00Z"),
                ),
            )
            .await;
        assert_eq!(made["status"], "pending");
        pending.push(made["id"].as_str().unwrap().to_owned());
    }
    let confirmed = stack
        .book(
            &member,
            steward_e2e::NewBooking::of(&open, format!("{d}T09:00:00Z"), format!("{d}T10:00:00Z")),
        )
        .await;
    assert_eq!(confirmed["status"], "confirmed");
    let window = format!("from={d}T00:00:00Z&to={}T00:00:00Z", days_ahead(4));
    let list = async |query: &str| {
        let (status, _, page) = send(stack.as_person(
            &owner,
            Method::GET,
            &format!("/v1/bookings?{window}&{query}"),
        ))
        .await;
        (status, page)
    };
    // Paged two at a time: every pending one once, nothing else.
    let mut seen = Vec::new();
    let mut query = "status=pending&limit=2".to_owned();
    loop {
        let (status, page) = list(&query).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["status"], "pending", "{item}");
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                // The cursor is this query's: with another status it is refused.
                let (status, _) = list(&format!("status=confirmed&limit=2&cursor={cursor}")).await;
                assert_eq!(status, 400);
                query = format!("status=pending&limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen, pending);
    let (status, page) = list("status=confirmed").await;
    assert_eq!(
        (status, page["items"].as_array().unwrap().len()),
        (200, 1),
        "{page}"
    );
    assert_eq!(page["items"][0]["id"], confirmed["id"]);
    let (status, problem) = list("status=waiting").await;
    assert_eq!(
        (status, &problem["errors"][0]["field"]),
        (422, &json!("status")),
        "{problem}"
    );
}

#[tokio::test]
async fn a_manager_books_for_a_member_past_a_rule_with_a_reason_and_only_a_manager_may() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Desk Rooms", "owner@desk.test").await;
    let manager = stack
        .join_as(&owner, "max@desk.test", "Max Manager", &["manager"])
        .await;
    let member = stack
        .join_as(&owner, "mia@desk.test", "Mia Member", &["member"])
        .await;
    let other = stack
        .join_as(&owner, "ola@desk.test", "Ola Other", &["member"])
        .await;
    let room = stack
        .create_room(
            &owner,
            atlas().with_all(json!({ "rules": { "max_duration_minutes": 60 } })),
        )
        .await;
    let day = days_ahead(30);
    let mut for_mia = booking(&room, &format!("{day}T09:00"), &format!("{day}T11:00"));
    for_mia["organiser_id"] = json!(member.user_id);
    for_mia["override_reason"] = json!("Mia runs the all-hands");
    let audited = stack.audit_entries(&owner).await.len();

    // A member may not book for someone else, even within the rules; nothing is written.
    let mut by_a_member = booking(&room, &format!("{day}T13:00"), &format!("{day}T14:00"));
    by_a_member["organiser_id"] = json!(member.user_id);
    let (status, _, refused) = send(
        stack
            .as_person(&other, Method::POST, "/v1/bookings")
            .json(&by_a_member),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["missing_permission"], "rooms:manage");

    // Not a member here, or no longer active: named, nothing written.
    let stranger = stack.sign_up("Elsewhere", "owner@elsewhere.test").await;
    let (status, suspended) = stack
        .call(
            &owner,
            Method::POST,
            &format!("/v1/members/{}/suspend", other.user_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{suspended}");
    for organiser in [&stranger.user_id, &other.user_id, &"usr_nobody".to_owned()] {
        let mut asked = for_mia.clone();
        asked["organiser_id"] = json!(organiser);
        let (status, _, problem) = send(
            stack
                .as_person(&manager, Method::POST, "/v1/bookings")
                .json(&asked),
        )
        .await;
        assert_eq!(status, 422, "{organiser}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "organiser_id");
    }
    assert_eq!(
        stack.audit_entries(&owner).await.len(),
        audited + 1,
        "only the suspension"
    );

    // The manager books it for Mia past the room's rule, once however often it is sent.
    let send_once = || {
        send(
            stack
                .as_person(&manager, Method::POST, "/v1/bookings")
                .header("idempotency-key", "for-mia-1")
                .json(&for_mia),
        )
    };
    let (status, _, made) = send_once().await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["organiser"], member.user_id.as_str());
    assert_eq!(made["override_reason"], "Mia runs the all-hands");
    let (_, _, again) = send_once().await;
    assert_eq!(again["id"], made["id"]);
    let id = made["id"].as_str().unwrap();
    let (status, _, hers) =
        send(stack.as_person(&member, Method::GET, &format!("/v1/bookings/{id}"))).await;
    assert_eq!((status, hers["status"].as_str()), (200, Some("confirmed")));
    let mine = format!(
        "/v1/bookings?mine=true&from={day}T00:00:00Z&to={}T00:00:00Z",
        days_ahead(31)
    );
    let (_, _, listed) = send(stack.as_person(&member, Method::GET, &mine)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let created: Vec<Value> = stack
        .audit_entries(&owner)
        .await
        .into_iter()
        .filter(|entry| entry["action"] == "booking.create")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0]["actor"],
        manager.user_id.as_str(),
        "the manager did it"
    );
}
