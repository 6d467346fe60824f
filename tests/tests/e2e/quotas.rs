//! Per-member quotas through the gateway (SPEC §C): active bookings and hours per week, held on
//! every booking path and under concurrency, with the refusal naming the limit.

use futures::future::join_all;
use http::Method;
use jiff::civil::{Date, Weekday};
use serde_json::{Value, json};
use steward_e2e::{NewBooking, NewRoom, Person, TestStack, days_ahead, send};

/// A Monday at least ten days ahead: the tests' weeks are whole.
fn monday() -> Date {
    let mut day = days_ahead(10);
    while day.weekday() != Weekday::Monday {
        day = day.tomorrow().unwrap();
    }
    day
}

fn at(day: Date, days_later: i64, hour: i64) -> String {
    let day = day.checked_add(jiff::Span::new().days(days_later)).unwrap();
    format!("{day}T{hour:02}:00")
}

async fn set_quota(stack: &TestStack, owner: &Person, quota: Value) -> Value {
    let (status, answer) = stack
        .call(owner, Method::PUT, "/v1/settings/booking-quota", quota)
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// A stand-up in `room` from `start` to `end`.
fn stand_up(room: &str, (start, end): (String, String)) -> NewBooking {
    NewBooking::of(room, start, end).title("Stand-up")
}

#[tokio::test]
async fn a_member_holds_no_more_than_the_quota_on_any_path() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Fair Rooms", "owner@fair.test").await;
    let member = stack.join(&owner, "member@fair.test", &["member"]).await;
    let manager = stack.join(&owner, "manager@fair.test", &["manager"]).await;
    let (a, b) = (
        stack
            .create_room(&owner, NewRoom::named("Ash").zone("UTC").capacity(4))
            .await,
        stack
            .create_room(&owner, NewRoom::named("Birch").zone("UTC").capacity(4))
            .await,
    );
    let week = monday();

    // Setting it: only who may change settings; each limit checked.
    let (status, problem) = stack
        .call(
            &member,
            Method::PUT,
            "/v1/settings/booking-quota",
            json!({ "active_bookings": 2 }),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    let (status, problem) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/booking-quota",
            json!({ "active_bookings": 0, "hours_per_week": 200 }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["active_bookings", "hours_per_week"]);
    let set = set_quota(
        &stack,
        &owner,
        json!({ "active_bookings": 2, "hours_per_week": 3 }),
    )
    .await;
    let (status, _, read) =
        send(stack.as_person(&member, Method::GET, "/v1/settings/booking-quota")).await;
    assert_eq!(status, 200);
    assert_eq!(read, set);
    assert_eq!(read["active_bookings"], 2);

    // Two bookings held; a third is refused, naming the limit, and nothing is written.
    let (status, first) = stack
        .try_book(&member, stand_up(&a, (at(week, 1, 9), at(week, 1, 10))))
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, second) = stack
        .try_book(&member, stand_up(&b, (at(week, 2, 9), at(week, 2, 10))))
        .await;
    assert_eq!(status, 201, "{second}");
    let (status, refused) = stack
        .try_book(&member, stand_up(&a, (at(week, 3, 9), at(week, 3, 10))))
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["type"], "urn:steward:problem:quota-exceeded",
        "{refused}"
    );
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("may hold 2 bookings"),
        "{refused}"
    );
    let (_, _, mine) = send(stack.as_person(
        &member,
        Method::GET,
        &format!(
            "/v1/bookings?mine=true&from={}T00:00:00Z&to={}T00:00:00Z",
            week,
            week.checked_add(jiff::Span::new().days(7)).unwrap()
        ),
    ))
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2, "{mine}");

    // Hours in the week: 2 held of 3; extending one by an hour fits, by two does not.
    let first_id = first["id"].as_str().unwrap();
    let extend = |end: String, version: u64| {
        stack
            .as_person(&member, Method::PATCH, &format!("/v1/bookings/{first_id}"))
            .header("if-match", format!("\"{version}\""))
            .json(&json!({ "end": end }))
    };
    let (status, _, too_long) = send(extend(at(week, 1, 12), 1)).await;
    assert_eq!(status, 409, "{too_long}");
    assert!(
        too_long["detail"].as_str().unwrap().contains(&format!(
            "3 hours of bookings starting in one week; in the week of {week} this would make 4"
        )),
        "{too_long}"
    );
    let (status, _, extended) = send(extend(at(week, 1, 11), 1)).await;
    assert_eq!(status, 200, "{extended}");

    // Cancelling gives the place back.
    let (status, _, cancelled) = send(
        stack
            .as_person(
                &member,
                Method::POST,
                &format!("/v1/bookings/{}/cancel", second["id"].as_str().unwrap()),
            )
            .header("if-match", "\"1\"")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    let (status, again) = stack
        .try_book(&member, stand_up(&b, (at(week, 3, 9), at(week, 3, 10))))
        .await;
    assert_eq!(status, 201, "{again}");

    // A manager's override passes a room's rules, not the quota (it is raised instead).
    for day in [1, 2] {
        let (status, made) = stack
            .try_book(
                &manager,
                stand_up(&b, (at(week, day, 14), at(week, day, 15))),
            )
            .await;
        assert_eq!(status, 201, "{made}");
    }
    let (status, _) = stack
        .try_book(&manager, stand_up(&b, (at(week, 4, 14), at(week, 4, 15))))
        .await;
    assert_eq!(status, 409);
    let (status, overridden) = stack
        .try_book(
            &manager,
            stand_up(&b, (at(week, 4, 14), at(week, 4, 15)))
                .with_all(json!({ "override_reason": "Board week" })),
        )
        .await;
    assert_eq!(status, 409, "{overridden}");
    assert_eq!(overridden["type"], "urn:steward:problem:quota-exceeded");

    // No quota: anything goes; set again, what was booked meanwhile counts.
    set_quota(
        &stack,
        &owner,
        json!({ "active_bookings": null, "hours_per_week": null }),
    )
    .await;
    let (status, _) = stack
        .try_book(&member, stand_up(&a, (at(week, 4, 9), at(week, 4, 10))))
        .await;
    assert_eq!(status, 201);
    set_quota(&stack, &owner, json!({ "active_bookings": 3 })).await;
    let (status, refused) = stack
        .try_book(
            &member,
            stand_up(
                &a,
                (
                    at(week + jiff::Span::new().days(7), 0, 9),
                    at(week + jiff::Span::new().days(7), 0, 10),
                ),
            ),
        )
        .await;
    assert_eq!(
        status, 409,
        "three held, counted from the member's bookings: {refused}"
    );
    assert!(
        refused["detail"].as_str().unwrap().contains("would make 4"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_series_and_an_import_are_held_to_the_quota_as_a_whole() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Serial Rooms", "owner@serial.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Elm").zone("UTC").capacity(4))
        .await;
    set_quota(&stack, &owner, json!({ "active_bookings": 2 })).await;
    let week = monday();

    // Three occurrences where two are allowed: none is booked.
    let (status, refused) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/series",
            json!({
                "room_id": room, "title": "Weekly", "recurrence": "FREQ=DAILY;COUNT=3",
                "start": at(week, 1, 9), "end": at(week, 1, 10),
            }),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["type"], "urn:steward:problem:quota-exceeded",
        "{refused}"
    );
    let (status, allowed) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/series",
            json!({
                "room_id": room, "title": "Weekly", "recurrence": "FREQ=DAILY;COUNT=2",
                "start": at(week, 1, 9), "end": at(week, 1, 10),
            }),
        )
        .await;
    assert_eq!(status, 201, "{allowed}");

    // An import past it writes nothing and says why.
    let csv = format!(
        "room_id,title,start,end\n{room},Imported,{},{}\n",
        at(week, 4, 9),
        at(week, 4, 10)
    );
    let (status, _, imported) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/imports/bookings?mode=valid_only")
            .header("content-type", "text/csv")
            .body(csv),
    )
    .await;
    assert_eq!(status, 409, "{imported}");
    assert_eq!(
        imported["type"], "urn:steward:problem:quota-exceeded",
        "{imported}"
    );
}

#[tokio::test]
async fn concurrent_bookings_in_different_rooms_cannot_pass_the_quota() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Racing Rooms", "owner@racing.test").await;
    let member = stack.join(&owner, "member@racing.test", &["member"]).await;
    set_quota(&stack, &owner, json!({ "active_bookings": 3 })).await;
    let mut rooms = Vec::new();
    for i in 0..12 {
        rooms.push(
            stack
                .create_room(
                    &owner,
                    NewRoom::named(&format!("Room {i}")).zone("UTC").capacity(4),
                )
                .await,
        );
    }
    let week = monday();
    // The same hour in twelve rooms: no two meet on a calendar, only on the member's ledger.
    let answers =
        join_all(rooms.iter().map(|room| {
            stack.try_book(&member, stand_up(room, (at(week, 1, 9), at(week, 1, 10))))
        }))
        .await;
    let made = answers.iter().filter(|(status, _)| *status == 201).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 409)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(made, 3, "{answers:?}");
    assert_eq!(refused.len(), 9, "{answers:?}");
    assert!(
        refused
            .iter()
            .all(|body| body["type"] == "urn:steward:problem:quota-exceeded"),
        "{refused:?}"
    );
}

/// With the caches on, the instance that sets a quota applies it from its next request: it
/// forgets its own copy of the tenant (other instances follow within the cache's TTL). The
/// tenant is cached before the change, by a booking made under no quota.
#[tokio::test]
async fn a_quota_set_on_a_warm_instance_binds_its_next_booking() {
    let stack =
        TestStack::with_parameters(&[("CacheEnabled", "true"), ("CacheTtlSeconds", "300")]).await;
    let owner = stack.sign_up("Warm Rooms", "owner@warm.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Cedar").zone("UTC"))
        .await;
    let week = monday();
    let (status, first) = stack
        .try_book(&owner, stand_up(&room, (at(week, 1, 9), at(week, 1, 10))))
        .await;
    assert_eq!(status, 201, "{first}");
    set_quota(&stack, &owner, json!({ "active_bookings": 1 })).await;
    let (status, refused) = stack
        .try_book(&owner, stand_up(&room, (at(week, 2, 9), at(week, 2, 10))))
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["type"], "urn:steward:problem:quota-exceeded",
        "{refused}"
    );
}
