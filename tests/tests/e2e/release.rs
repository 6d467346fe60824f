//! Auto-release and offline sync through the gateway (SPEC §D), the release schedule fired
//! through the local gateway with the time it is fired for: a missed booking is released (kept,
//! readable, its slot free, its organiser emailed), exempt bookings and checked-in ones are
//! left, a series ends after its limit of no-shows in a row; a check-in captured offline in time
//! reinstates a released booking when its slot is free and is a conflict when it is not; an
//! upload sent twice applies once; items apply in device order; the device clock's skew is
//! corrected within its bound.

use std::time::Duration;

use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use steward_e2e::{NewBooking, NewRoom, Person, TestStack, days_ahead, send};
use steward_terminal::answer;

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn whole(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap()
}

async fn read(stack: &TestStack, who: &Person, booking: &Value) -> Value {
    let path = format!("/v1/bookings/{}", booking["id"].as_str().unwrap());
    let (status, booking) = stack.call(who, Method::GET, &path, Value::Null).await;
    assert_eq!(status, 200, "{booking}");
    booking
}

async fn fire(stack: &TestStack, at: Timestamp) -> Value {
    let (status, _, ran) = send(stack.post(&format!(
        "/_local/schedules/ReleaseFunction/Release?at={at}"
    )))
    .await;
    assert_eq!(status, 200, "{ran}");
    ran["output"].clone()
}

/// The released notices mailed to `who` so far, waiting up to 10 s for `count`.
async fn released_mail(stack: &TestStack, who: &Person, count: usize) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..50 {
        found = stack
            .sent_mail(&who.email)
            .await
            .into_iter()
            .filter(|m| m.to_string().contains("Released"))
            .collect();
        if found.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    found
}

/// A room needing a check-in (released 15 minutes in), in UTC.
fn checked_in(name: &str, capacity: u32) -> NewRoom {
    NewRoom::named(name)
        .zone("UTC")
        .capacity(capacity)
        .rules(json!({
            "check_in_required": true, "release_minutes": 15, "max_duration_minutes": 600,
        }))
}

/// A sync in `room` from `start` to `end`, to the second; one already begun is recorded late.
fn sync(room: &str, start: Timestamp, end: Timestamp) -> NewBooking {
    let booking = NewBooking::of(room, whole(start), whole(end)).title("Sync");
    if start < Timestamp::now() {
        booking.with("override_reason", json!("recorded late"))
    } else {
        booking
    }
}

#[tokio::test]
async fn missed_bookings_are_released_exempt_ones_are_not_and_series_end() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Release Co", "owner@release.test").await;
    let member = stack.join(&owner, "member@release.test", &["member"]).await;
    let (status, policy) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/check-in",
            json!({ "exempt_longer_than_minutes": 120, "exempt_capacity_from": 20, "series_no_show_limit": 2 }),
        )
        .await;
    assert_eq!(status, 200, "{policy}");
    let small = stack.create_room(&owner, checked_in("Small", 4)).await;
    let large = stack.create_room(&owner, checked_in("Large", 30)).await;
    let attended_room = stack.create_room(&owner, checked_in("Attended", 4)).await;
    let door = stack.terminal(&owner, &attended_room).await;

    let now = Timestamp::now();
    let missed = stack
        .book(&member, sync(&small, now + minutes(5), now + minutes(35)))
        .await;
    let long = stack
        .book(&member, sync(&small, now + minutes(40), now + minutes(220)))
        .await;
    let in_large = stack
        .book(&member, sync(&large, now + minutes(5), now + minutes(35)))
        .await;
    let attended = stack
        .book(
            &member,
            sync(&attended_room, now + minutes(5), now + minutes(35)),
        )
        .await;
    let checked_in = door
        .post(
            "/v1/terminal/check-in",
            &json!({ "pin": attended["check_in_pin"] }),
        )
        .await
        .unwrap();
    assert_eq!(checked_in.status, 200, "{}", checked_in.body);

    // Before the deadline nothing is released; after it, only the missed booking.
    let ran = fire(&stack, now + minutes(19)).await;
    assert_eq!(ran["released"], 0, "{ran}");
    let ran = fire(&stack, now + minutes(90)).await;
    assert_eq!(ran["released"], 1, "{ran}");
    let released = read(&stack, &member, &missed).await;
    assert_eq!(released["status"], "released", "kept and readable");
    assert!(
        released["status_reason"]
            .as_str()
            .unwrap()
            .contains("checked in")
    );
    assert_eq!(
        read(&stack, &member, &long).await["status"],
        "confirmed",
        "long: exempt"
    );
    assert_eq!(
        read(&stack, &member, &in_large).await["status"],
        "confirmed",
        "large: exempt"
    );
    assert_eq!(
        read(&stack, &member, &attended).await["status"],
        "checked_in"
    );
    // The same firing delivered again releases nothing twice.
    assert_eq!(fire(&stack, now + minutes(90)).await["released"], 0);
    // Its slot is free: the same time can be booked again.
    let start: Timestamp = missed["start"].as_str().unwrap().parse().unwrap();
    let end: Timestamp = missed["end"].as_str().unwrap().parse().unwrap();
    stack.book(&owner, sync(&small, start, end)).await;
    let mail = released_mail(&stack, &member, 1).await;
    assert_eq!(mail.len(), 1, "the organiser is told once: {mail:?}");

    // A daily series: released twice in a row, the rest of it is cancelled.
    let day = days_ahead(3);
    let (status, series) = stack
        .call(
            &member,
            Method::POST,
            "/v1/series",
            json!({
                "room_id": small, "title": "Daily", "start": format!("{day}T09:00"),
                "end": format!("{day}T09:30"), "recurrence": "FREQ=DAILY;COUNT=4",
            }),
        )
        .await;
    assert_eq!(status, 201, "{series}");
    let first: Timestamp = format!("{day}T09:00:00Z").parse().unwrap();
    assert_eq!(
        fire(&stack, first + minutes(20)).await["series_cancelled"],
        0
    );
    let ran = fire(&stack, first + minutes(24 * 60 + 20)).await;
    assert_eq!(
        (ran["released"].clone(), ran["series_cancelled"].clone()),
        (json!(1), json!(1)),
        "{ran}"
    );
    let path = format!("/v1/series/{}", series["id"].as_str().unwrap());
    let (_, series) = stack.call(&member, Method::GET, &path, Value::Null).await;
    let statuses: Vec<&str> = series["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["released", "released", "cancelled", "cancelled"],
        "{series}"
    );
}

#[tokio::test]
async fn offline_check_ins_reinstate_conflict_apply_once_and_in_device_order() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Offline Co", "owner@offline.test").await;
    let (north, south, east) = (
        stack.create_room(&owner, checked_in("North", 4)).await,
        stack.create_room(&owner, checked_in("South", 4)).await,
        stack.create_room(&owner, checked_in("East", 4)).await,
    );
    let (north_door, south_door, east_door) = (
        stack.terminal(&owner, &north).await,
        stack.terminal(&owner, &south).await,
        stack.terminal(&owner, &east).await,
    );
    // Two bookings that began 8 minutes ago; nobody checked in before the release.
    let now = Timestamp::now();
    let free_after = stack
        .book(&owner, sync(&north, now - minutes(8), now + minutes(30)))
        .await;
    let taken_after = stack
        .book(&owner, sync(&south, now - minutes(8), now + minutes(30)))
        .await;
    let ran = fire(&stack, now + minutes(10)).await;
    assert_eq!(ran["released"], 2, "{ran}");
    // South's slot is booked again meanwhile.
    stack
        .book(&owner, sync(&south, now + minutes(1), now + minutes(20)))
        .await;

    // The check-ins captured a minute ago, in time for both.
    let item = |id: &str, booking: &Value, device_time: Timestamp| json!({ "id": id, "kind": "check_in", "device_time": device_time.to_string(), "pin": booking["check_in_pin"] });
    let a_minute_ago = now - minutes(1);
    let synced = north_door
        .post(
            "/v1/terminal/sync",
            &json!({ "items": [item("n-1", &free_after, a_minute_ago)] }),
        )
        .await
        .unwrap();
    assert_eq!(synced.status, 200, "{}", synced.body);
    assert_eq!(
        synced.body["results"][0]["outcome"], "reinstated",
        "{}",
        synced.body
    );
    let reinstated = read(&stack, &owner, &free_after).await;
    assert_eq!(reinstated["status"], "checked_in");
    let synced = south_door
        .post(
            "/v1/terminal/sync",
            &json!({ "items": [item("s-1", &taken_after, a_minute_ago)] }),
        )
        .await
        .unwrap();
    assert_eq!(
        synced.body["results"][0]["outcome"], "conflict",
        "{}",
        synced.body
    );
    assert_eq!(
        read(&stack, &owner, &taken_after).await["status"],
        "released"
    );

    // The same upload again: applied once.
    let again = north_door
        .post(
            "/v1/terminal/sync",
            &json!({ "items": [item("n-1", &free_after, a_minute_ago)] }),
        )
        .await
        .unwrap();
    assert_eq!(
        again.body["results"][0]["outcome"], "already_applied",
        "{}",
        again.body
    );
    assert_eq!(
        read(&stack, &owner, &free_after).await["version"],
        reinstated["version"]
    );

    // Device order: uploaded late-first, applied early-first; the later one finds it done.
    let current = stack
        .book(&owner, sync(&east, now - minutes(2), now + minutes(30)))
        .await;
    let synced = east_door
        .post(
            "/v1/terminal/sync",
            &json!({ "items": [
                item("late", &current, now - minutes(1)),
                item("early", &current, now - minutes(2)),
            ] }),
        )
        .await
        .unwrap();
    let results = synced.body["results"].as_array().unwrap();
    assert_eq!(
        (results[0]["id"].clone(), results[0]["outcome"].clone()),
        (json!("early"), json!("checked_in")),
        "{}",
        synced.body
    );
    assert_eq!(results[0]["detail"], Value::Null);
    assert_eq!(
        (results[1]["id"].clone(), results[1]["detail"].clone()),
        (json!("late"), json!("already checked in"))
    );

    // Skew: a device two minutes slow signs at its time; its items are moved by the same two
    // minutes. One stamped after its own signing time, or a day old, is refused.
    let slow = now - minutes(2);
    let mut signing = east_door.signing();
    signing.timestamp = Timestamp::now().as_second() - 120;
    let body = json!({ "items": [
        item("future", &current, Timestamp::from_second(signing.timestamp + 30).unwrap()),
        item("old", &current, slow - SignedDuration::from_hours(25)),
    ] })
    .to_string()
    .into_bytes();
    let skewed = answer(east_door.request(
        Method::POST,
        "/v1/terminal/sync",
        &body,
        body.clone(),
        &signing,
    ))
    .await
    .unwrap();
    assert_eq!(skewed.status, 200, "{}", skewed.body);
    let results = skewed.body["results"].as_array().unwrap();
    let outcome = |id: &str| {
        results
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| (r["outcome"].clone(), r["detail"].clone()))
            .unwrap()
    };
    let (future, why) = outcome("future");
    assert_eq!(future, "rejected");
    assert!(
        why.as_str().unwrap().contains("after the server's clock"),
        "{why}"
    );
    let (old, why) = outcome("old");
    assert_eq!(old, "rejected");
    assert!(why.as_str().unwrap().contains("24 hours"), "{why}");
    // Beyond the bound the request itself is refused.
    let mut too_slow = east_door.signing();
    too_slow.timestamp -= 301;
    let refused = answer(east_door.request(
        Method::POST,
        "/v1/terminal/sync",
        &body,
        body.clone(),
        &too_slow,
    ))
    .await
    .unwrap();
    assert_eq!(refused.status, 401);

    // Bad uploads change nothing.
    let bad = north_door
        .post("/v1/terminal/sync", &json!({ "items": [] }))
        .await
        .unwrap();
    assert_eq!(bad.status, 422);
    let bad = north_door
        .post(
            "/v1/terminal/sync",
            &json!({ "items": [{ "id": "x", "kind": "walk_up", "device_time": now.to_string() }] }),
        )
        .await
        .unwrap();
    assert_eq!(
        (bad.status, bad.body["errors"][0]["field"].clone()),
        (422, json!("items[0].kind"))
    );
}
