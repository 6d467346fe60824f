//! Recurring series through the gateway (SPEC §C): expanded on the room's wall clock across
//! clock changes, all-or-nothing or skipping conflicts with a reason per occurrence, never two
//! series on one slot under concurrency, a retried request creating one series, edited and
//! cancelled from one occurrence on, and gated by the licence's recurring-bookings feature.

use futures::future::join_all;
use http::Method;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use steward_e2e::{NewRoom, Person, TestStack, days_ahead, next_spring_forward, send};

async fn post(stack: &TestStack, who: &Person, path: &str, body: Value) -> (u16, Value) {
    let (status, _, answer) = send(stack.as_person(who, Method::POST, path).json(&body)).await;
    (status, answer)
}

/// The local dates of `zone`'s next two clock changes, at least two weeks ahead.
fn next_two_changes(zone: &str) -> (Date, Date) {
    let tz = TimeZone::get(zone).unwrap();
    let after = Timestamp::now() + SignedDuration::from_hours(24 * 14);
    let mut changes = tz
        .following(after)
        .map(|t| t.timestamp().to_zoned(tz.clone()).date());
    (changes.next().unwrap(), changes.next().unwrap())
}

/// A room booked weekly for up to two years, on `time_zone`'s clock.
fn weekly(time_zone: &str) -> NewRoom {
    NewRoom::named("Weekly")
        .zone(time_zone)
        .capacity(8)
        .rules(json!({ "horizon_days": 730 }))
}

#[tokio::test]
async fn a_weekly_nine_oclock_stays_at_nine_local_across_both_clock_changes() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Weekly Rooms", "owner@weekly.test").await;
    for zone in ["Europe/London", "America/New_York", "Australia/Sydney"] {
        let room = stack.create_room(&owner, weekly(zone)).await;
        let (first_change, second_change) = next_two_changes(zone);
        let first = first_change.checked_sub(jiff::ToSpan::days(7)).unwrap();
        let weeks = (second_change - first).get_days() / 7 + 2;
        let (status, series) = post(
            &stack,
            &owner,
            "/v1/series",
            json!({
                "room_id": room, "title": "Standup",
                "start": format!("{first}T09:00"), "end": format!("{first}T09:30"),
                "recurrence": format!("FREQ=WEEKLY;COUNT={weeks}"),
            }),
        )
        .await;
        assert_eq!(status, 201, "{zone}: {series}");
        let occurrences = series["occurrences"].as_array().unwrap();
        assert_eq!(occurrences.len() as i32, weeks);
        let tz = TimeZone::get(zone).unwrap();
        let mut offsets = Vec::new();
        for occurrence in occurrences {
            assert_eq!(occurrence["outcome"], "booked", "{zone}: {occurrence}");
            let start: Timestamp = occurrence["start"].as_str().unwrap().parse().unwrap();
            let local = start.to_zoned(tz.clone());
            assert_eq!(
                (local.hour(), local.minute()),
                (9, 0),
                "{zone}: {occurrence}"
            );
            offsets.push(local.offset());
        }
        offsets.dedup();
        assert_eq!(
            offsets.len(),
            3,
            "{zone}: the series crosses both changes: {offsets:?}"
        );
    }
}

#[tokio::test]
async fn conflicts_refuse_the_whole_series_or_are_skipped_each_with_its_reason() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Series Rooms", "owner@series.test").await;
    let member = stack.join(&owner, "member@series.test", &["member"]).await;
    let room = stack.create_room(&owner, weekly("UTC")).await;
    let d = days_ahead(20);
    let third = d.checked_add(jiff::ToSpan::days(2)).unwrap();
    let (status, blocker) = post(
        &stack,
        &owner,
        "/v1/bookings",
        json!({ "room_id": room, "start": format!("{third}T09:15:00Z"), "end": format!("{third}T09:45:00Z") }),
    )
    .await;
    assert_eq!(status, 201);
    let daily = |policy: &str| {
        json!({
            "room_id": room, "title": "Daily",
            "start": format!("{d}T09:00"), "end": format!("{d}T10:00"),
            "recurrence": "FREQ=DAILY;COUNT=5", "on_conflict": policy,
        })
    };
    // All or nothing: refused, naming the occurrence's time and the booking; nothing written.
    let (status, refused) = post(&stack, &member, "/v1/series", daily("all_or_nothing")).await;
    assert_eq!(status, 409, "{refused}");
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains(blocker["id"].as_str().unwrap())
            && detail.contains(&format!("{third}T09:00:00Z")),
        "{detail}"
    );
    let (_, _, listed) = send(stack.as_person(
        &member,
        Method::GET,
        &format!(
            "/v1/bookings?room_id={room}&from={d}T00:00:00Z&to={}T00:00:00Z",
            days_ahead(30)
        ),
    ))
    .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "only the blocker: {listed}"
    );
    // Skip: four booked, the third skipped saying why.
    let (status, series) = post(&stack, &member, "/v1/series", daily("skip")).await;
    assert_eq!(status, 201, "{series}");
    let outcomes: Vec<&str> = series["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["booked", "booked", "skipped", "booked", "booked"]
    );
    assert!(
        series["occurrences"][2]["reason"]
            .as_str()
            .unwrap()
            .contains(blocker["id"].as_str().unwrap())
    );
    // What it met, as a 409 names it: the booking, its times, its organiser by name; in the
    // answer and whenever the series is read again.
    let met = json!([{ "kind": "booking", "booking_id": blocker["id"], "held_by": "Owner",
                       "start": format!("{third}T09:15:00Z"), "end": format!("{third}T09:45:00Z") }]);
    assert_eq!(series["occurrences"][2]["obstacles"], met);
    assert_eq!(series["occurrences"][1]["obstacles"], json!([]));
    let series_path = format!("/v1/series/{}", series["id"].as_str().unwrap());
    let (_, _, read) = send(stack.as_person(&member, Method::GET, &series_path)).await;
    assert_eq!(read["occurrences"][2]["obstacles"], met, "{read}");
    let occurrence = |i: usize| {
        series["occurrences"][i]["booking_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // One occurrence is a booking: cancelled alone.
    let (status, _, _) = send(
        stack
            .as_person(
                &member,
                Method::POST,
                &format!("/v1/bookings/{}/cancel", occurrence(0)),
            )
            .header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(status, 200);
    // This and following: from the fourth occurrence on, moved to 14:00–15:00 local.
    let (status, _, _) = send(
        stack
            .as_person(&member, Method::PATCH, &series_path)
            .json(&json!({ "from_index": 3, "start_time": "14:00", "end_time": "15:00" })),
    )
    .await;
    assert_eq!(status, 428, "If-Match is required");
    let (status, _, moved) = send(
        stack
            .as_person(&member, Method::PATCH, &series_path)
            .header("if-match", "\"1\"")
            .json(&json!({ "from_index": 3, "start_time": "14:00", "end_time": "15:00", "title": "Later" })),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    // Renamed from the fourth on: the series keeps its name (from the first, it takes the new one).
    assert_eq!(moved["title"], "Daily");
    let starts: Vec<&str> = moved["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["start"].as_str().unwrap_or("-"))
        .collect();
    let fourth = d.checked_add(jiff::ToSpan::days(3)).unwrap();
    assert_eq!(starts[3], format!("{fourth}T14:00:00Z"));
    assert_eq!(starts[1], format!("{}T09:00:00Z", d.tomorrow().unwrap()));
    // The old 09:00 on the fourth day is free again.
    let (status, _) = post(
        &stack,
        &owner,
        "/v1/bookings",
        json!({ "room_id": room, "start": format!("{fourth}T09:00:00Z"), "end": format!("{fourth}T10:00:00Z") }),
    )
    .await;
    assert_eq!(status, 201);
    // Cancel this and following from the second: the rest are cancelled, the first stays as it was.
    let (status, _, stale) = send(
        stack
            .as_person(&member, Method::POST, &format!("{series_path}/cancel"))
            .header("if-match", "\"1\"")
            .json(&json!({ "from_index": 1 })),
    )
    .await;
    assert_eq!(status, 412, "{stale}");
    let (status, _, cancelled) = send(
        stack
            .as_person(&member, Method::POST, &format!("{series_path}/cancel"))
            .header("if-match", "\"2\"")
            .json(&json!({ "from_index": 1, "reason": "project over" })),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    let statuses: Vec<&str> = cancelled["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        statuses,
        ["cancelled", "cancelled", "-", "cancelled", "cancelled"]
    );
    let (_, _, read) = send(stack.as_person(&member, Method::GET, &series_path)).await;
    assert_eq!(read["version"], 3);
}

#[tokio::test]
async fn a_local_time_that_does_not_exist_is_refused_or_skipped() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Gap Rooms", "owner@gap.test").await;
    let room = stack.create_room(&owner, weekly("America/New_York")).await;
    let spring = next_spring_forward("America/New_York");
    let first = spring.yesterday().unwrap();
    let body = |policy: &str| {
        json!({
            "room_id": room, "start": format!("{first}T02:30"), "end": format!("{first}T03:00"),
            "recurrence": "FREQ=DAILY;COUNT=3", "on_conflict": policy,
        })
    };
    let (status, refused) = post(&stack, &owner, "/v1/series", body("all_or_nothing")).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "occurrences[1]");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    let (status, skipped) = post(&stack, &owner, "/v1/series", body("skip")).await;
    assert_eq!(status, 201, "{skipped}");
    assert_eq!(skipped["occurrences"][1]["outcome"], "skipped");
    assert_eq!(
        (skipped["booked"].as_u64(), skipped["skipped"].as_u64()),
        (Some(2), Some(1))
    );
    // Bad rules are named.
    for (recurrence, fragment) in [
        ("FREQ=HOURLY;COUNT=2", "FREQ HOURLY"),
        ("FREQ=DAILY", "COUNT or UNTIL"),
        ("FREQ=DAILY;COUNT=49", "more than 48"),
    ] {
        let mut bad = body("skip");
        bad["start"] = json!(format!("{}T09:00", days_ahead(10)));
        bad["end"] = json!(format!("{}T10:00", days_ahead(10)));
        bad["recurrence"] = json!(recurrence);
        let (status, problem) = post(&stack, &owner, "/v1/series", bad).await;
        assert_eq!(status, 422, "{recurrence}: {problem}");
        assert!(
            problem.to_string().contains(fragment),
            "{recurrence}: {problem}"
        );
    }
}

#[tokio::test]
async fn fifty_concurrent_series_on_one_slot_give_one_and_a_retry_creates_one() {
    let stack = TestStack::start().await;
    let _burst = steward_e2e::burst().await;
    let owner = stack.sign_up("Busy Series", "owner@busyseries.test").await;
    let room = stack.create_room(&owner, weekly("UTC")).await;
    let d = days_ahead(15);
    let answers = join_all((0..50).map(|i| {
        let request = stack
            .as_person(&owner, Method::POST, "/v1/series")
            .json(&json!({
                "room_id": room,
                "start": format!("{d}T10:{:02}", i % 30),
                "end": format!("{d}T11:{:02}", i % 30),
                "recurrence": "FREQ=WEEKLY;COUNT=4",
            }));
        async move { send(request).await }
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        (
            statuses.iter().filter(|s| **s == 201).count(),
            statuses.iter().filter(|s| **s == 409).count()
        ),
        (1, 49),
        "{statuses:?}"
    );
    let (_, _, listed) = send(stack.as_person(
        &owner,
        Method::GET,
        &format!(
            "/v1/bookings?room_id={room}&from={d}T00:00:00Z&to={}T00:00:00Z",
            days_ahead(45)
        ),
    ))
    .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        4,
        "one series of four"
    );

    let retry = json!({
        "room_id": room, "start": format!("{d}T15:00"), "end": format!("{d}T16:00"),
        "recurrence": "FREQ=DAILY;COUNT=3",
    });
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, _, series) = send(
            stack
                .as_person(&owner, Method::POST, "/v1/series")
                .header("idempotency-key", "series-once")
                .json(&retry),
        )
        .await;
        assert_eq!(status, 201, "{series}");
        ids.push(series["id"].clone());
    }
    assert_eq!(ids[0], ids[1], "the retry answers the first series");
}

#[tokio::test]
async fn series_need_the_recurring_bookings_feature_when_the_licence_is_enforced() {
    let stack = TestStack::with_parameters(&[
        ("LicensingConfigCacheSeconds", "0"),
        ("AuthorizerCacheSeconds", "0"),
    ])
    .await;
    let essential = stack
        .sign_up("Essential Rooms", "owner@essential.test")
        .await;
    let room_of_essential = stack.create_room(&essential, weekly("UTC")).await;
    stack.enforce_offering(&essential, "essential").await;
    let d = days_ahead(12);
    let series = |room: &str| {
        json!({
            "room_id": room, "start": format!("{d}T09:00"), "end": format!("{d}T10:00"),
            "recurrence": "FREQ=DAILY;COUNT=2",
        })
    };
    let (status, refused) =
        post(&stack, &essential, "/v1/series", series(&room_of_essential)).await;
    assert_eq!(
        (status, refused["missing_feature"].as_str()),
        (403, Some("recurring_bookings")),
        "{refused}"
    );
    // A single booking needs no feature.
    let (status, _) = post(
        &stack,
        &essential,
        "/v1/bookings",
        json!({ "room_id": room_of_essential, "start": format!("{d}T13:00"), "end": format!("{d}T14:00") }),
    )
    .await;
    assert_eq!(status, 201);
    // A new tenant's trial shows every feature, enforced or not.
    let trial = stack.sign_up("Trial Rooms", "owner@trial.test").await;
    let room_of_trial = stack.create_room(&trial, weekly("UTC")).await;
    let (status, created) = post(&stack, &trial, "/v1/series", series(&room_of_trial)).await;
    assert_eq!(status, 201, "{created}");
}
