//! A bounded soak through the gateway: members book, cancel and retry at random on a few rooms
//! for `STEWARD_SOAK_SECONDS` (40 by default), then every write the API acknowledged is read
//! back as it was left, no room is double-booked, and every booking notice the writes queued is
//! processed (in its organiser's notifications) or in the dead-letter queue, counted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, days_ahead, send, visible_and_in_flight};

const MEMBERS: usize = 4;
const ROOMS: usize = 3;

/// What one member's client saw acknowledged, and what else happened.
#[derive(Debug, Default)]
struct Ledger {
    /// Booking id -> its room and slot, as created.
    created: BTreeMap<String, (String, String, String)>,
    /// Booking id -> its ETag, for the cancellation's If-Match.
    etags: BTreeMap<String, String>,
    cancelled: BTreeSet<String>,
    conflicts: usize,
    replays: usize,
    /// Anything but the answers above: must stay empty.
    unexpected: Vec<String>,
}

async fn member_client(
    stack: &TestStack,
    member: &Person,
    rooms: &[String],
    until: Instant,
    seed: u64,
) -> Ledger {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut ledger = Ledger::default();
    let mut n = 0;
    while Instant::now() < until {
        n += 1;
        let live: Vec<String> = ledger
            .created
            .keys()
            .filter(|id| !ledger.cancelled.contains(*id))
            .cloned()
            .collect();
        let roll = rng.random_range(0..10);
        if roll < 2 && !live.is_empty() {
            let id = &live[rng.random_range(0..live.len())];
            let (status, _, answer) = send(
                stack
                    .as_person(member, Method::POST, &format!("/v1/bookings/{id}/cancel"))
                    .header("if-match", &ledger.etags[id])
                    .json(&json!({})),
            )
            .await;
            match status {
                200 => {
                    ledger.cancelled.insert(id.clone());
                }
                _ => ledger
                    .unexpected
                    .push(format!("cancel {id}: {status} {answer}")),
            }
            continue;
        }
        let room = &rooms[rng.random_range(0..rooms.len())];
        let day = days_ahead(rng.random_range(1..15));
        let half_hour = rng.random_range(16..36);
        let body = json!({
            "room_id": room,
            "start": format!("{day}T{:02}:{:02}", half_hour / 2, (half_hour % 2) * 30),
            "end": format!("{day}T{:02}:{:02}", (half_hour + 1) / 2, ((half_hour + 1) % 2) * 30),
            "title": "Soak",
        });
        let key = format!("soak-{seed}-{n}");
        // One create in ten is sent twice, as a client that lost the first answer would.
        let tries = if roll == 9 { 2 } else { 1 };
        let mut first: Option<(u16, Value)> = None;
        for _ in 0..tries {
            let (status, headers, answer) = send(
                stack
                    .as_person(member, Method::POST, "/v1/bookings")
                    .header("idempotency-key", &key)
                    .json(&body),
            )
            .await;
            match &first {
                None => first = Some((status, answer.clone())),
                Some((was, before)) => {
                    if status != *was || answer["id"] != before["id"] {
                        ledger.unexpected.push(format!(
                            "replay of {key}: {status} {answer} after {was} {before}"
                        ));
                    } else if status == 201 && headers.get("idempotent-replayed").is_some() {
                        ledger.replays += 1;
                    }
                    continue;
                }
            }
            match status {
                201 => {
                    let id = answer["id"].as_str().unwrap().to_owned();
                    let slot = (
                        room.clone(),
                        answer["start"].as_str().unwrap().to_owned(),
                        answer["end"].as_str().unwrap().to_owned(),
                    );
                    let etag = headers["etag"].to_str().unwrap().to_owned();
                    ledger.etags.insert(id.clone(), etag);
                    ledger.created.insert(id, slot);
                }
                409 if answer["type"] == "urn:steward:problem:conflict" => ledger.conflicts += 1,
                _ => ledger
                    .unexpected
                    .push(format!("create {key}: {status} {answer}")),
            }
        }
    }
    ledger
}

/// Every notification of `who`: kind and booking ids.
async fn notices_of(stack: &TestStack, who: &Person) -> Vec<(String, Vec<String>)> {
    let mut notices = Vec::new();
    let mut path = "/v1/me/notifications?limit=200".to_owned();
    loop {
        let (status, _, page) = send(stack.as_person(who, Method::GET, &path)).await;
        assert_eq!(status, 200, "{page}");
        for notice in page["items"].as_array().unwrap() {
            let ids = notice["booking_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_str().unwrap().to_owned())
                .collect();
            notices.push((notice["kind"].as_str().unwrap().to_owned(), ids));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/me/notifications?limit=200&cursor={cursor}"),
            None => return notices,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_write_survives_a_soak_and_every_notice_is_accounted_for() {
    let seconds: u64 = std::env::var("STEWARD_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Soak Rooms", "owner@soak.test").await;
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        rooms.push(
            stack
                .room(
                    &owner,
                    json!({ "name": format!("Soak {i}"), "time_zone": "Europe/London", "capacity": 8 }),
                )
                .await,
        );
    }
    let members = stack.members(&owner, "soak.test", MEMBERS).await;

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let ledgers = futures::future::join_all(
        members
            .iter()
            .enumerate()
            .map(|(i, member)| member_client(&stack, member, &rooms, until, 1000 + i as u64)),
    )
    .await;

    let unexpected: Vec<&String> = ledgers.iter().flat_map(|l| &l.unexpected).collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");

    // Every acknowledged write reads back as it was left.
    let mut confirmed: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for (member, ledger) in members.iter().zip(&ledgers) {
        for (id, slot) in &ledger.created {
            let (status, _, booking) =
                send(stack.as_person(member, Method::GET, &format!("/v1/bookings/{id}"))).await;
            assert_eq!(status, 200, "{id}: {booking}");
            let expected = if ledger.cancelled.contains(id) {
                "cancelled"
            } else {
                "confirmed"
            };
            assert_eq!(booking["status"], expected, "{id}: {booking}");
            if expected == "confirmed" {
                confirmed.entry(slot.0.clone()).or_default().push((
                    slot.1.clone(),
                    slot.2.clone(),
                    id.clone(),
                ));
            }
        }
    }
    // No room holds two confirmed bookings at once (RFC 3339 UTC strings order as times).
    for (room, slots) in &mut confirmed {
        slots.sort();
        for pair in slots.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{room}: {pair:?} overlap");
        }
    }

    // Every notice the writes queued is processed, or dead-lettered: waited for, then counted.
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let queue = stack.stack.queue_url("NotificationsQueue").unwrap();
    let dead_letters = stack
        .stack
        .queue_url("NotificationsDeadLetterQueue")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut told, mut missing);
    loop {
        (told, missing) = (0, Vec::new());
        for (member, ledger) in members.iter().zip(&ledgers) {
            let notices = notices_of(&stack, member).await;
            let has = |kind: &str, id: &String| {
                notices.iter().any(|(k, ids)| k == kind && ids.contains(id))
            };
            for id in ledger.created.keys() {
                if has("confirmed", id) {
                    told += 1;
                } else {
                    missing.push(format!("confirmed {id}"));
                }
            }
            for id in &ledger.cancelled {
                if has("cancelled", id) {
                    told += 1;
                } else {
                    missing.push(format!("cancelled {id}"));
                }
            }
        }
        let (waiting, in_flight) = visible_and_in_flight(&sqs, &queue).await;
        let (dead, _) = visible_and_in_flight(&sqs, &dead_letters).await;
        if missing.len() as u64 == dead && waiting == 0 && in_flight == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} notices neither processed nor dead-lettered ({dead} dead letters, {waiting} \
             queued, {in_flight} in flight): {missing:?}",
            missing.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(missing.is_empty(), "dead-lettered: {missing:?}");

    let created: usize = ledgers.iter().map(|l| l.created.len()).sum();
    let cancelled: usize = ledgers.iter().map(|l| l.cancelled.len()).sum();
    let conflicts: usize = ledgers.iter().map(|l| l.conflicts).sum();
    let replays: usize = ledgers.iter().map(|l| l.replays).sum();
    println!(
        "soak: {seconds} s, {MEMBERS} members, {ROOMS} rooms: {created} bookings and {cancelled} \
         cancellations acknowledged and read back, {conflicts} conflicts refused, {replays} \
         retries replayed, {told} notices processed, 0 dead-lettered, 0 errors, no double booking"
    );
    assert!(created > 20 && cancelled > 0, "the soak did little");
}
