//! Load on the local stack (issue 8, benchmark 5), driven by goose: mixed traffic from
//! concurrent members of one tenant for a bounded time. Each member, in turn and by weight,
//! looks for a free room (availability), books a half hour on a grid that members share (and
//! cancels half of what it got), checks in at a door terminal by PIN, or signs in. Afterwards
//! every room's bookings are read back from the table and compared pairwise: a double booking
//! would show there. The floor is the emulator alone: the same number of clients putting and
//! getting items straight through the SDK for the same time.
//!
//! `cargo bench -p steward-e2e --bench load` (16 members, 30 s); under `cargo test` 4 members
//! for 3 s, to prove it still works. Both fail on any unexpected answer or double booking.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goose::prelude::*;
use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use steward_domain::booking::rules::Slot;
use steward_domain::terminal::signature::{Signed, sign};
use steward_e2e::floor::quantile_ms;
use steward_e2e::{Person, TestStack, send};
use steward_store::bookings::{BookingStore, Listing};

/// Rooms booked by the members, and doors (one room each) checked in at.
const ROOMS: usize = 8;
const DOORS: usize = 4;

/// Who the members are and what they use.
struct Fixture {
    members: Vec<Person>,
    rooms: Vec<String>,
    doors: Vec<Door>,
    /// Every answer's status and time, by operation.
    answers: Mutex<BTreeMap<&'static str, Vec<(u16, Duration)>>>,
}

/// A paired terminal and the PINs of bookings at its door whose check-in window is open.
struct Door {
    terminal: steward_terminal::Terminal,
    pins: Vec<String>,
}

/// A roll of the dice in `0..below`.
fn random(below: usize) -> usize {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(Instant::now()) as usize) % below.max(1)
}

/// Whole minutes from midnight UTC `days` ahead, as RFC 3339.
fn at(days: i64, minutes: i64) -> String {
    let midnight = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("midnight exists in UTC")
        .timestamp();
    (midnight + SignedDuration::from_hours(24 * days) + SignedDuration::from_mins(minutes))
        .to_string()
}

impl Fixture {
    fn member(&self, user: &GooseUser) -> &Person {
        &self.members[user.weighted_users_index % self.members.len()]
    }

    /// Sends one request as `user` and records its answer under `name`: an answer in
    /// `expected` is a success (a 409 for a taken slot is an answer, not an error), any other
    /// a failure.
    async fn send(
        &self,
        user: &mut GooseUser,
        name: &'static str,
        method: GooseMethod,
        path: &str,
        build: impl FnOnce(reqwest13::RequestBuilder) -> reqwest13::RequestBuilder,
        expected: &[u16],
    ) -> Result<(u16, Value), Box<TransactionError>> {
        let builder = build(user.get_request_builder(&method, path)?);
        let request = GooseRequest::builder()
            .method(method)
            .path(path)
            .name(name)
            .set_request_builder(builder)
            .build();
        let started = Instant::now();
        let mut answered = user.request(request).await?;
        let (status, body) = match answered.response {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        };
        let took = started.elapsed();
        self.answers
            .lock()
            .unwrap()
            .entry(name)
            .or_default()
            .push((status, took));
        if expected.contains(&status) {
            user.set_success(&mut answered.request)?;
        } else {
            eprintln!("{name} {path}: unexpected {status}: {body}");
            user.set_failure(
                &format!("{name}: {status}"),
                &mut answered.request,
                None,
                None,
            )?;
        }
        Ok((status, body))
    }

    async fn availability(&self, user: &mut GooseUser) -> TransactionResult {
        let token = self.member(user).access_token.clone();
        let (day, slot) = (1 + random(14) as i64, random(20) as i64);
        let path = format!(
            "/v1/availability?start={}&end={}",
            at(day, 30 * slot),
            at(day, 30 * slot + 30)
        );
        self.send(
            user,
            "availability",
            GooseMethod::Get,
            &path,
            |b| b.bearer_auth(token),
            &[200],
        )
        .await?;
        Ok(())
    }

    async fn book(&self, user: &mut GooseUser) -> TransactionResult {
        let token = self.member(user).access_token.clone();
        let room = &self.rooms[random(self.rooms.len())];
        // Half hours on a grid of 14 days × 20 slots × 8 rooms: members meet on the same slots.
        let (day, slot) = (1 + random(14) as i64, random(20) as i64);
        let body = json!({ "room_id": room, "title": "Load",
            "start": at(day, 30 * slot), "end": at(day, 30 * slot + 30) });
        let (status, booked) = self
            .send(
                user,
                "book",
                GooseMethod::Post,
                "/v1/bookings",
                |b| b.bearer_auth(&token).json(&body),
                &[201, 409],
            )
            .await?;
        if status == 201 && random(2) == 0 {
            let path = format!(
                "/v1/bookings/{}/cancel",
                booked["id"].as_str().unwrap_or("missing")
            );
            self.send(
                user,
                "cancel",
                GooseMethod::Post,
                &path,
                |b| b.bearer_auth(&token).header("if-match", "\"1\""),
                &[200],
            )
            .await?;
        }
        Ok(())
    }

    async fn check_in(&self, user: &mut GooseUser) -> TransactionResult {
        let door = &self.doors[random(self.doors.len())];
        let pin = &door.pins[random(door.pins.len())];
        let body = json!({ "pin": pin }).to_string();
        let path = "/v1/terminal/check-in";
        let signing = door.terminal.signing();
        let authorization = sign(
            &door.terminal.credential(),
            &signing.secret,
            signing.timestamp,
            &signing.nonce,
            Signed {
                method: "POST",
                path,
                body: body.as_bytes(),
            },
        );
        // A booking's first check-in answers 200, any later one 409 (it is in already).
        self.send(
            user,
            "check-in",
            GooseMethod::Post,
            path,
            |b| {
                b.header("authorization", authorization)
                    .header("content-type", "application/json")
                    .body(body)
            },
            &[200, 409],
        )
        .await?;
        Ok(())
    }

    async fn sign_in(&self, user: &mut GooseUser) -> TransactionResult {
        let email = self.member(user).email.clone();
        let body = json!({ "email": email, "password": steward_e2e::PASSWORD });
        self.send(
            user,
            "sign-in",
            GooseMethod::Post,
            "/v1/auth/login",
            |b| b.json(&body),
            &[200],
        )
        .await?;
        Ok(())
    }
}

/// A goose transaction that calls `step` on the shared fixture.
macro_rules! transaction {
    ($fixture:expr, $step:ident, $weight:expr) => {{
        let fixture = Arc::clone(&$fixture);
        Transaction::new(Arc::new(move |user| {
            let fixture = Arc::clone(&fixture);
            Box::pin(async move { fixture.$step(user).await })
        }))
        .set_name(stringify!($step))
        .set_weight($weight)?
    }};
}

fn scenario(fixture: &Arc<Fixture>) -> Result<Scenario, GooseError> {
    Ok(scenario!("Member")
        .register_transaction(transaction!(fixture, availability, 5))
        .register_transaction(transaction!(fixture, book, 3))
        .register_transaction(transaction!(fixture, check_in, 1))
        .register_transaction(transaction!(fixture, sign_in, 1)))
}

/// The members, the rooms, and the doors with bookings in their check-in window.
async fn fixture(stack: &TestStack, members: usize) -> Fixture {
    let owner = stack.sign_up("Load", "owner@load.test").await;
    let (status, policy) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/check-in",
            json!({ "opens_minutes_before": 60 }),
        )
        .await;
    assert_eq!(status, 200, "{policy}");
    let people = stack.members(&owner, "load.test", members).await;
    let mut rooms = vec![];
    for i in 0..ROOMS {
        rooms.push(
            stack
                .room(
                    &owner,
                    json!({ "name": format!("Room {i}"), "time_zone": "UTC", "capacity": 8 }),
                )
                .await,
        );
    }
    let mut doors = vec![];
    for i in 0..DOORS {
        let room = stack
            .room(
                &owner,
                json!({ "name": format!("Door {i}"), "time_zone": "UTC", "capacity": 8,
                        "rules": { "check_in_required": true, "release_minutes": 15,
                                   "min_notice_minutes": 0, "min_duration_minutes": 5 } }),
            )
            .await;
        let mut pins = vec![];
        for slot in 0..10 {
            let start = Timestamp::now() + SignedDuration::from_mins(1 + 5 * slot);
            let end = start + SignedDuration::from_mins(5);
            let who = &people[(i + slot as usize) % people.len()];
            let (status, _, booked) = send(
                stack
                    .as_person(who, Method::POST, "/v1/bookings")
                    .json(&json!({ "room_id": room, "title": "At the door",
                                   "start": start.to_string(), "end": end.to_string() })),
            )
            .await;
            assert_eq!(status, 201, "{booked}");
            pins.push(booked["check_in_pin"].as_str().unwrap().to_owned());
        }
        let terminal = stack.terminal(&owner, &room).await;
        assert_eq!(terminal.status().await.unwrap().status, 200);
        doors.push(Door { terminal, pins });
    }
    Fixture {
        members: people,
        rooms,
        doors,
        answers: Mutex::new(BTreeMap::new()),
    }
}

/// Two held bookings of one room that overlap, over every room of the tenant.
async fn double_bookings(stack: &TestStack, tenant_id: &str, rooms: &[String]) -> (usize, usize) {
    let store = BookingStore::new(stack.table.clone());
    let (mut held_total, mut overlaps) = (0, 0);
    let ever = Slot {
        start: Timestamp::MIN,
        end: Timestamp::MAX,
    };
    for room in rooms {
        let (bookings, more) = store
            .all(tenant_id, Listing::Room(room), ever, 100_000)
            .await
            .expect("the room's bookings");
        assert!(!more, "every booking read");
        let held: Vec<_> = bookings
            .iter()
            .filter(|b| b.status.holds_room())
            .map(|b| b.slot)
            .collect();
        held_total += held.len();
        for (i, a) in held.iter().enumerate() {
            overlaps += held[i + 1..].iter().filter(|b| a.overlaps(b)).count();
        }
    }
    (held_total, overlaps)
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let (users, seconds) = if benching { (16, 30) } else { (4, 3) };
    let stack = TestStack::with_parameters(&[
        ("CacheEnabled", "true"),
        ("CacheTtlSeconds", "300"),
        ("LicensingConfigCacheSeconds", "60"),
    ])
    .await;
    let fixture = Arc::new(fixture(&stack, users).await);
    let tenant_id = fixture.members[0].tenant_id.clone();

    let started = Instant::now();
    let attack = GooseAttack::initialize_with_config(goose::config::GooseConfiguration::default())?
        .register_scenario(scenario(&fixture)?)
        .set_default(GooseDefault::Host, stack.url.as_str())?
        .set_default(GooseDefault::Users, users)?
        .set_default(GooseDefault::IncreaseRate, users.to_string().as_str())?
        .set_default(GooseDefault::RunTime, seconds)?
        .set_default(GooseDefault::Quiet, 1)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .execute()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let goose_failures: usize = attack.requests.values().map(|a| a.fail_count).sum();

    let answers = std::mem::take(&mut *fixture.answers.lock().unwrap());
    let mut rows = vec![];
    let (mut total, mut errors) = (0, 0);
    println!(
        "\n{:<14} {:>7} {:>7} {:>8} {:>8} {:>8}  statuses",
        "operation", "count", "errors", "p50 ms", "p95 ms", "p99 ms"
    );
    for (name, samples) in &answers {
        let mut times: Vec<Duration> = samples.iter().map(|(_, t)| *t).collect();
        times.sort();
        let expected: &[u16] = match *name {
            "book" => &[201, 409],
            "check-in" => &[200, 409],
            _ => &[200],
        };
        let failed = samples
            .iter()
            .filter(|(status, _)| !expected.contains(status))
            .count();
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        for (status, _) in samples {
            *statuses.entry(*status).or_default() += 1;
        }
        let (p50, p95, p99) = (
            quantile_ms(&times, 0.50),
            quantile_ms(&times, 0.95),
            quantile_ms(&times, 0.99),
        );
        println!(
            "{name:<14} {:>7} {failed:>7} {p50:>8.1} {p95:>8.1} {p99:>8.1}  {statuses:?}",
            samples.len()
        );
        total += samples.len();
        errors += failed;
        rows.push(
            json!({ "operation": name, "count": samples.len(), "errors": failed,
                          "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "statuses": statuses }),
        );
    }
    let mut all: Vec<Duration> = answers.values().flatten().map(|(_, t)| *t).collect();
    all.sort();
    let throughput = total as f64 / elapsed;
    let mut rooms = fixture.rooms.clone();
    rooms.extend(
        fixture
            .doors
            .iter()
            .map(|d| d.terminal.paired.room_id.clone()),
    );
    let (held, overlaps) = double_bookings(&stack, &tenant_id, &rooms).await;
    let (floor_ops, floor_p50, floor_p99) =
        steward_e2e::floor::emulator_alone(&stack, users, seconds.min(10) as u64).await;
    println!(
        "{users} members for {elapsed:.0} s: {total} requests, {throughput:.1}/s, p50 {:.1} ms, \
         p95 {:.1} ms, p99 {:.1} ms; {errors} errors; {held} bookings held, {overlaps} double \
         bookings",
        quantile_ms(&all, 0.5),
        quantile_ms(&all, 0.95),
        quantile_ms(&all, 0.99),
    );
    println!(
        "the emulator alone, {users} clients: {floor_ops:.0} operations/s, p50 {floor_p50:.1} ms, \
         p99 {floor_p99:.1} ms"
    );
    steward_e2e::bench_results(
        "load",
        &json!({
            "benchmark": "load",
            "users": users, "seconds": elapsed, "requests": total, "throughput_per_s": throughput,
            "p50_ms": quantile_ms(&all, 0.5), "p95_ms": quantile_ms(&all, 0.95),
            "p99_ms": quantile_ms(&all, 0.99),
            "errors": errors, "goose_failures": goose_failures,
            "bookings_held": held, "double_bookings": overlaps,
            "operations": rows,
            "emulator_alone": { "clients": users, "operations_per_s": floor_ops,
                                "p50_ms": floor_p50, "p99_ms": floor_p99 },
        }),
    );
    assert!(total > 0, "the run sent requests");
    assert_eq!(errors, 0, "every answer expected");
    assert_eq!(goose_failures, 0, "goose counted no failure");
    assert_eq!(overlaps, 0, "no room double booked");
    Ok(())
}
