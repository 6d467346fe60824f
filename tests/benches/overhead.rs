//! The time of Steward's main routes through the local gateway against the raw SDK calls each
//! makes, measured in the same run (SPEC §C target: at most 1.2×). Both sides talk to the same
//! emulator and read and write the same items (copies, under new keys, of what the gateway
//! wrote); the difference is everything Steward adds: HTTP, the authorizer, the kit, Cedar, the
//! rules and the calendar check, serialisation. The rounds alternate (one request through the
//! gateway, then its replay), so both meet the emulator in the same state and under the same
//! background work (the notifier delivering, the partitions growing).
//!
//! The routes: booking create, booking read, availability (one room) and check-in by PIN at a
//! paired door (warm: the terminals instance keeps the terminal and the room).
//!
//! `cargo bench -p steward-e2e --bench overhead` (200 of each); under `cargo test` it runs 5 of
//! each, to prove it still works.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, KeysAndAttributes, Put, TransactWriteItem,
};
use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use steward_domain::booking::days::dates_between;
use steward_domain::booking::notice::NoticeMessage;
use steward_e2e::{Person, TestStack, days_ahead, minutes_from_now, send};

type Item = std::collections::HashMap<String, AttributeValue>;

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn key(pk: &str, sk: &str) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn put(table: &str, item: Item, condition: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression(condition)
                .build()
                .unwrap(),
        )
        .build()
}

fn version_check(table: &str, key: Item, version: AttributeValue) -> TransactWriteItem {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", version)
        .build()
        .unwrap();
    TransactWriteItem::builder().condition_check(check).build()
}

/// What one route's benchmark shares: the stack, a tenant's owner, and a raw client on the
/// same emulator.
struct Bench {
    stack: TestStack,
    owner: Person,
    client: Client,
    table: String,
    rounds: usize,
    /// The tenant's partition, and the owner's item in it.
    tenant_pk: String,
    user_sk: String,
}

impl Bench {
    async fn get(&self, pk: &str, sk: &str) -> Item {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .expect("get")
            .item
            .unwrap_or_else(|| panic!("{pk}/{sk} exists"))
    }

    /// What the guard reads on every request: the caller's user item.
    async fn read_caller(&self) {
        self.get(&self.tenant_pk, &self.user_sk).await;
    }

    /// `GET path` as the owner through the gateway, timed; it must answer 200.
    fn timed_get(&self, path: &str) -> impl Future<Output = Duration> + use<> {
        let request = self.stack.as_person(&self.owner, Method::GET, path);
        async move {
            let started = Instant::now();
            let (status, _, body) = send(request).await;
            let took = started.elapsed();
            assert_eq!(status, 200, "{body}");
            took
        }
    }

    /// The newest entry of the tenant's audit log: the one the last request wrote.
    async fn last_audit_entry(&self) -> Item {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("{}#AUDIT", self.tenant_pk)))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .expect("audit")
            .items
            .unwrap_or_default()
            .remove(0)
    }

    /// Runs `rounds` rounds of `gateway` then `raw` (given the round's number), each timed.
    /// Each side builds its requests before its timer starts: `gateway`'s futures time only the
    /// exchange themselves, and `raw`'s future is timed from its first poll.
    async fn alternate<G, GF, R, RF>(&self, route: Route, mut gateway: G, mut raw: R) -> Measured
    where
        G: FnMut(usize) -> GF,
        GF: Future<Output = Duration>,
        R: FnMut(usize) -> RF,
        RF: Future<Output = ()>,
    {
        let mut measured = Measured {
            route,
            gateway: Vec::with_capacity(self.rounds),
            raw: Vec::with_capacity(self.rounds),
        };
        for i in 0..self.rounds {
            measured.gateway.push(gateway(i).await);
            let replay = raw(i);
            let started = Instant::now();
            replay.await;
            measured.raw.push(started.elapsed());
        }
        measured
    }
}

/// A route and the raw calls its replay makes.
struct Route {
    name: &'static str,
    raw_calls: &'static str,
}

/// One route's times, through the gateway and raw.
struct Measured {
    route: Route,
    gateway: Vec<Duration>,
    raw: Vec<Duration>,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / samples.len() as u32
}

impl Measured {
    /// Prints the route's line and answers its results.
    fn summary(&mut self) -> Value {
        let (gateway_p50, raw_p50) = (median(&mut self.gateway), median(&mut self.raw));
        let (gateway_mean, raw_mean) = (mean(&self.gateway), mean(&self.raw));
        println!(
            "  {:<30} gateway p50 {:>7.2} ms  raw p50 {:>7.2} ms  ratio p50 {:.2}x  mean {:.2}x",
            self.route.name,
            ms(gateway_p50),
            ms(raw_p50),
            gateway_p50.as_secs_f64() / raw_p50.as_secs_f64(),
            gateway_mean.as_secs_f64() / raw_mean.as_secs_f64(),
        );
        json!({
            "route": self.route.name,
            "n": self.gateway.len(),
            "gateway_ms": { "p50": ms(gateway_p50), "mean": ms(gateway_mean) },
            "raw_ms": { "p50": ms(raw_p50), "mean": ms(raw_mean) },
            "raw_calls": self.route.raw_calls,
        })
    }
}

#[tokio::main]
async fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let stack = TestStack::with_parameters(&[
        ("CacheEnabled", "true"),
        ("CacheTtlSeconds", "300"),
        ("LicensingConfigCacheSeconds", "60"),
    ])
    .await;
    let owner = stack.sign_up("Bench Rooms", "owner@bench.test").await;
    let client = Client::new(stack.aws());
    let table = stack.table.name().to_owned();
    let bench = Bench {
        tenant_pk: format!("T#{}", owner.tenant_id),
        user_sk: format!("USER#{}", owner.user_id),
        stack,
        owner,
        client,
        table,
        rounds: if benching { 200 } else { 5 },
    };
    let room_id = bench
        .stack
        .room(
            &bench.owner,
            json!({ "name": "Bench", "time_zone": "UTC", "capacity": 4 }),
        )
        .await;
    let day = days_ahead(10);

    let (create, booking_id) = create(&bench, &room_id, day).await;
    let read = read(&bench, &booking_id).await;
    let availability = availability(&bench, &room_id, day).await;
    let check_in = check_in(&bench).await;

    println!(
        "overhead ({} of each, local stack, same emulator, same run; target <= 1.2x)",
        bench.rounds
    );
    let routes: Vec<Value> = [create, read, availability, check_in]
        .iter_mut()
        .map(Measured::summary)
        .collect();
    steward_e2e::bench_results(
        "overhead",
        &json!({ "benchmark": "overhead", "routes": routes }),
    );
}

/// `POST /v1/bookings`, one booking a quarter hour from `day`'s midnight: answers the times
/// and the last booking made.
async fn create(bench: &Bench, room_id: &str, day: jiff::civil::Date) -> (Measured, String) {
    let (stack, owner, table) = (&bench.stack, &bench.owner, bench.table.as_str());
    let tenant = &owner.tenant_id;
    let slot = |i: usize| {
        let start = day.at(0, 0, 0, 0) + SignedDuration::from_mins(15 * i as i64);
        let end = start + SignedDuration::from_mins(15);
        (
            start.strftime("%Y-%m-%dT%H:%M").to_string(),
            end.strftime("%Y-%m-%dT%H:%M").to_string(),
        )
    };
    let book = |i: usize| {
        let (start, end) = slot(i);
        let request = stack
            .as_person(owner, Method::POST, "/v1/bookings")
            .json(&json!({ "room_id": room_id, "start": start, "end": end }));
        async move {
            let started = Instant::now();
            let (status, _, booked) = send(request).await;
            let took = started.elapsed();
            assert_eq!(status, 201, "{booked}");
            (took, booked["id"].as_str().unwrap().to_owned())
        }
    };
    // Warm-up, and the items the replay copies.
    let mut last_booking = String::new();
    for i in 0..10 {
        last_booking = book(i).await.1;
    }

    // The same calls, raw: read the user, read the room and the three days the create reads in
    // one batch, then write the booking, its day, the room check, the audit entry and the
    // outbox entry in one transaction, and send the notice.
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let notices = stack
        .stack
        .queue_url("NotificationsQueue")
        .expect("the notifications queue");
    let tenant_pk = &bench.tenant_pk;
    let room_sk = format!("ROOM#{room_id}");
    let booking = bench
        .get(tenant_pk, &format!("BOOKING#{last_booking}"))
        .await;
    let day_pk = format!("T#{tenant}#ROOM#{room_id}");
    let day_item = bench.get(&day_pk, &format!("DAY#{day}")).await;
    let room_version = bench.get(tenant_pk, &room_sk).await["version"].clone();
    let audit = bench.last_audit_entry().await;
    let table_handle = steward_store::Table::new(stack.aws(), table);
    let booking_record = steward_store::bookings::BookingStore::new(table_handle.clone())
        .get(tenant, &last_booking)
        .await
        .unwrap()
        .expect("the last booking");
    let room_record = steward_store::rooms::RoomStore::new(table_handle)
        .get(tenant, room_id)
        .await
        .unwrap()
        .expect("the room");
    let notice_template = steward_domain::booking::notice::Notice {
        notice_id: String::new(),
        tenant_id: tenant.clone(),
        kind: steward_domain::booking::notice::NoticeKind::Confirmed,
        organiser: owner.user_id.clone(),
        actor: owner.user_id.clone(),
        at: Timestamp::now(),
        room_id: room_id.to_owned(),
        room: Some(room_record.room),
        bookings: vec![booking_record],
    };
    let replay = |i: usize| {
        let (client, sqs) = (&bench.client, &sqs);
        let mut booking = booking.clone();
        booking.insert("sk".into(), s(format!("BOOKING#raw{i}")));
        // The create rewrites its day in place: so does the replay, on one copy (a new copy
        // each round would grow the room's partition, which the emulator reads whole).
        let mut day_copy = day_item.clone();
        day_copy.insert("sk".into(), s("RAW#DAY"));
        let mut entry = audit.clone();
        entry.insert("sk".into(), s(format!("raw#{i}")));
        // The notice as the outbox keeps it: the booking, with its room and the people.
        let outbox = Item::from([
            ("pk".to_owned(), s("OUTBOX#RAW")),
            ("sk".to_owned(), s(format!("raw#{i}"))),
            ("notice".to_owned(), AttributeValue::M(booking.clone())),
        ]);
        // A real notice, so the notifier does for these what it did for the gateway's.
        let mut notice = notice_template.clone();
        notice.notice_id = format!("nt_raw_{i}");
        let body = serde_json::to_string(&NoticeMessage::from(notice)).unwrap();
        // The days a local time's create reads: the day before, the day, the day after.
        let mut keys = KeysAndAttributes::builder()
            .keys(key(tenant_pk, &room_sk))
            .consistent_read(true);
        for date in [day.yesterday().unwrap(), day, day.tomorrow().unwrap()] {
            keys = keys.keys(key(&day_pk, &format!("DAY#{date}")));
        }
        let keys = keys.build().unwrap();
        let transaction = client
            .transact_write_items()
            .transact_items(put(table, booking, "attribute_not_exists(pk)"))
            .transact_items(put(table, day_copy, "attribute_not_exists(never_there)"))
            .transact_items(version_check(
                table,
                key(tenant_pk, &room_sk),
                room_version.clone(),
            ))
            .transact_items(put(table, entry, "attribute_not_exists(pk)"))
            .transact_items(put(table, outbox, "attribute_not_exists(pk)"));
        let notices = &notices;
        async move {
            bench.read_caller().await;
            client
                .batch_get_item()
                .request_items(table, keys)
                .send()
                .await
                .expect("batch");
            transaction.send().await.expect("transaction");
            sqs.send_message_batch()
                .queue_url(notices)
                .entries(
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id("0")
                        .message_body(body)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("send");
        }
    };
    let route = Route {
        name: "POST /v1/bookings",
        raw_calls: "GetItem (the user, for the guard), BatchGetItem (room + 3 days), \
                    TransactWriteItems (booking, day, room check, audit, outbox), \
                    SendMessageBatch (notice)",
    };
    let measured = bench
        .alternate(
            route,
            |i| {
                let booked = book(10 + i);
                async move { booked.await.0 }
            },
            replay,
        )
        .await;
    (measured, last_booking)
}

/// `GET /v1/bookings/{id}`: the guard's user read, then the booking's.
async fn read(bench: &Bench, booking_id: &str) -> Measured {
    let path = format!("/v1/bookings/{booking_id}");
    let tenant_pk = &bench.tenant_pk;
    let booking_sk = format!("BOOKING#{booking_id}");
    let route = Route {
        name: "GET /v1/bookings/{bookingId}",
        raw_calls: "GetItem (the user, for the guard), GetItem (the booking)",
    };
    bench
        .alternate(
            route,
            |_| bench.timed_get(&path),
            |_| async {
                bench.read_caller().await;
                bench.get(tenant_pk, &booking_sk).await;
            },
        )
        .await
}

/// `GET /v1/availability` for an hour of `day`, in a tenant of one room (the one `create`
/// filled): the guard's user, the tenant's rooms (a page of 200), the room's day.
async fn availability(bench: &Bench, room_id: &str, day: jiff::civil::Date) -> Measured {
    let (start, end) = (
        day.at(14, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap(),
        day.at(15, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap(),
    );
    let path = format!(
        "/v1/availability?start={}&end={}",
        start.timestamp(),
        end.timestamp()
    );
    // The days whose bookings, with their buffers, could reach into the hour: as the route
    // reckons them.
    let buffer = steward_domain::booking::rules::MAX_BUFFER;
    let day_pk = format!("T#{}#ROOM#{room_id}", bench.owner.tenant_id);
    let mut day_keys = KeysAndAttributes::builder().consistent_read(true);
    for date in dates_between(start.timestamp() - buffer, end.timestamp() + buffer) {
        day_keys = day_keys.keys(key(&day_pk, &format!("DAY#{date}")));
    }
    let day_keys = day_keys.build().unwrap();
    let tenant_pk = &bench.tenant_pk;
    let route = Route {
        name: "GET /v1/availability",
        raw_calls: "GetItem (the user, for the guard), Query (the tenant's rooms, 200 a page), \
                    BatchGetItem (the room's days)",
    };
    bench
        .alternate(
            route,
            |_| bench.timed_get(&path),
            |_| async {
                bench.read_caller().await;
                bench
                    .client
                    .query()
                    .table_name(&bench.table)
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#pk", "pk")
                    .expression_attribute_names("#sk", "sk")
                    .expression_attribute_values(":pk", s(tenant_pk))
                    .expression_attribute_values(":prefix", s("ROOM#"))
                    .limit(200)
                    .send()
                    .await
                    .expect("rooms");
                bench
                    .client
                    .batch_get_item()
                    .request_items(&bench.table, day_keys.clone())
                    .send()
                    .await
                    .expect("days");
            },
        )
        .await
}

/// `POST /v1/terminal/check-in` by PIN at a paired door, warm. Each round checks one booking
/// in, then sets it back to confirmed, untimed, so that every round is a first check-in.
async fn check_in(bench: &Bench) -> Measured {
    let (stack, owner, table) = (&bench.stack, &bench.owner, bench.table.as_str());
    let tenant = &owner.tenant_id;
    let tenant_pk = &bench.tenant_pk;
    let room_id = stack
        .room(
            owner,
            json!({ "name": "Door", "time_zone": "UTC", "capacity": 4,
                    "rules": { "check_in_required": true, "release_minutes": 15 } }),
        )
        .await;
    let (status, _, booked) = send(stack.as_person(owner, Method::POST, "/v1/bookings").json(
        &json!({ "room_id": room_id, "start": minutes_from_now(5), "end": minutes_from_now(35) }),
    ))
    .await;
    assert_eq!(status, 201, "{booked}");
    let booking_sk = format!("BOOKING#{}", booked["id"].as_str().unwrap());
    let pin = booked["check_in_pin"].clone();
    let door = stack.terminal(owner, &room_id).await;
    let reopen = || {
        bench
            .client
            .update_item()
            .table_name(table)
            .set_key(Some(key(tenant_pk, &booking_sk)))
            .update_expression("SET #status = :confirmed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":confirmed", s("confirmed"))
            .send()
    };
    let check_in_once = || async {
        let started = Instant::now();
        let answer = door
            .post("/v1/terminal/check-in", &json!({ "pin": pin }))
            .await
            .expect("the gateway answers");
        let took = started.elapsed();
        assert_eq!(answer.status, 200, "{}", answer.body);
        reopen().await.expect("reopened");
        took
    };
    // Warm-up: the terminals instance now keeps the terminal and the room.
    for _ in 0..3 {
        check_in_once().await;
    }

    // The items the replay copies or checks, as the check-ins left them.
    let terminal_id = &door.paired.terminal_id;
    let terminal_sk = format!("TERMINAL#{terminal_id}");
    let paired_at = bench.get(tenant_pk, &terminal_sk).await["paired_at"].clone();
    let room_sk = format!("ROOM#{room_id}");
    let room_version = bench.get(tenant_pk, &room_sk).await["version"].clone();
    let audit = bench.last_audit_entry().await;
    let mut booking = bench.get(tenant_pk, &booking_sk).await;
    booking.insert("sk".into(), s("BOOKING#raw-check-in"));
    booking.insert("status".into(), s("checked_in"));
    // The copy is indexed as the booking is, but in partitions of its own, so that the door's
    // query (and every listing) sees only the real booking.
    for (name, value) in booking.iter_mut() {
        if name.starts_with("gsi")
            && name.ends_with("pk")
            && let AttributeValue::S(partition) = value
        {
            partition.push_str("#RAW");
        }
    }
    let nonce_pk = format!("T#{tenant}#TERMINAL#{terminal_id}");
    let room_bookings = format!("T#{tenant}#ROOM#{room_id}#BOOKINGS");
    // The roles that grant bookings:check_in (shared/authz/src/roles.rs).
    let roles = ["owner", "admin", "manager", "member", "provider"];
    let route = Route {
        name: "POST /v1/terminal/check-in",
        raw_calls: "Query (the room's bookings around now), TransactWriteItems (nonce, \
                    terminal check, member check, room check, booking, audit)",
    };
    bench
        .alternate(
            route,
            |_| check_in_once(),
            |i| {
                let now = Timestamp::now();
                let around = SignedDuration::from_hours(24);
                let nonce = Item::from([
                    ("pk".to_owned(), s(&nonce_pk)),
                    ("sk".to_owned(), s(format!("NONCE#raw{i}"))),
                    (
                        "expires_at".to_owned(),
                        AttributeValue::N((now.as_second() + 600).to_string()),
                    ),
                ]);
                let terminal = ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key(tenant_pk, &terminal_sk)))
                    .condition_expression(
                        "paired_at = :paired_at AND \
                         (attribute_not_exists(pin_locked_until) OR pin_locked_until <= :now)",
                    )
                    .expression_attribute_values(":paired_at", paired_at.clone())
                    .expression_attribute_values(
                        ":now",
                        AttributeValue::N(now.as_second().to_string()),
                    )
                    .build()
                    .unwrap();
                let held: Vec<String> = (0..roles.len())
                    .map(|i| format!("contains(#roles, :role{i})"))
                    .collect();
                let mut member = ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key(tenant_pk, &bench.user_sk)))
                    .condition_expression(format!("#status = :active AND ({})", held.join(" OR ")))
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#roles", "roles")
                    .expression_attribute_values(":active", s("active"));
                for (i, role) in roles.iter().enumerate() {
                    member = member.expression_attribute_values(format!(":role{i}"), s(*role));
                }
                let mut entry = audit.clone();
                entry.insert("sk".into(), s(format!("raw-check-in#{i}")));
                let transaction = bench
                    .client
                    .transact_write_items()
                    .transact_items(put(
                        table,
                        booking.clone(),
                        "attribute_not_exists(never_there)",
                    ))
                    .transact_items(version_check(
                        table,
                        key(tenant_pk, &room_sk),
                        room_version.clone(),
                    ))
                    .transact_items(put(table, entry, "attribute_not_exists(pk)"))
                    .transact_items(put(table, nonce, "attribute_not_exists(pk)"))
                    .transact_items(
                        TransactWriteItem::builder()
                            .condition_check(terminal)
                            .build(),
                    )
                    .transact_items(
                        TransactWriteItem::builder()
                            .condition_check(member.build().unwrap())
                            .build(),
                    );
                let query = bench
                    .client
                    .query()
                    .table_name(table)
                    .index_name("gsi1")
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
                    .expression_attribute_names("#pk", "gsi1pk")
                    .expression_attribute_names("#sk", "gsi1sk")
                    .expression_attribute_values(":pk", s(&room_bookings))
                    .expression_attribute_values(":first", s((now - around).to_string()))
                    .expression_attribute_values(":last", s((now + around).to_string()))
                    .limit(100);
                async move {
                    query.send().await.expect("the door's bookings");
                    transaction.send().await.expect("transaction");
                }
            },
        )
        .await
}
