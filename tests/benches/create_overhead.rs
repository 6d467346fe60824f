//! The time of a booking create through the local gateway against the raw SDK calls it makes,
//! measured in the same run (SPEC §C target: at most 1.2×). Both sides talk to the same
//! emulator and read and write the same items (the room, the very day items the create reads,
//! copies of the booking, day, audit and outbox items it writes, and its notice on the queue);
//! the difference is everything Steward adds: HTTP, the authorizer, the kit, Cedar, the rules
//! and the calendar check, serialisation.
//!
//! The same for a read, `GET /v1/bookings/{id}`, against the guard's user read and the booking's.
//!
//! `cargo bench -p steward-e2e --bench create_overhead` (200 of each, alternating); under
//! `cargo test` it runs 5 of each, to prove it still works.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, KeysAndAttributes, Put, TransactWriteItem,
};
use http::Method;
use serde_json::json;
use steward_e2e::{TestStack, days_ahead, send};

type Item = std::collections::HashMap<String, AttributeValue>;

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn key(pk: &str, sk: &str) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / samples.len() as u32
}

async fn get(client: &Client, table: &str, pk: &str, sk: &str) -> Item {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
        .unwrap_or_else(|| panic!("{pk}/{sk} exists"))
}

#[tokio::main]
async fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let rounds = if benching { 200 } else { 5 };
    let stack = TestStack::with_parameters(&[
        ("CacheEnabled", "true"),
        ("CacheTtlSeconds", "300"),
        ("LicensingConfigCacheSeconds", "60"),
    ])
    .await;
    let owner = stack.sign_up("Bench Rooms", "owner@bench.test").await;
    let (_, _, room) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/rooms")
            .json(&json!({ "name": "Bench", "time_zone": "UTC", "capacity": 4 })),
    )
    .await;
    let room_id = room["id"].as_str().unwrap().to_owned();
    let table = stack.table.name().to_owned();
    let tenant = owner.tenant_id.clone();

    // Through the gateway: one booking a quarter hour, after a warm-up.
    let day = days_ahead(10);
    let slot = |i: usize| {
        let start = day.at(0, 0, 0, 0) + jiff::SignedDuration::from_mins(15 * i as i64);
        let end = start + jiff::SignedDuration::from_mins(15);
        (
            start.strftime("%Y-%m-%dT%H:%M").to_string(),
            end.strftime("%Y-%m-%dT%H:%M").to_string(),
        )
    };
    let create = |i: usize| {
        let (start, end) = slot(i);
        let request = stack
            .as_person(&owner, Method::POST, "/v1/bookings")
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
        last_booking = create(i).await.1;
    }

    // The same calls, raw: read the user, read the room and the three days the create reads in
    // one batch, then write the booking, its day, the room check, the audit entry and the
    // outbox entry in one transaction, and send the notice. The items are copies of what the
    // gateway wrote, under new keys.
    let client = Client::new(stack.aws());
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let notices = stack
        .stack
        .queue_url("NotificationsQueue")
        .expect("the notifications queue");
    let booking = get(
        &client,
        &table,
        &format!("T#{tenant}"),
        &format!("BOOKING#{last_booking}"),
    )
    .await;
    let day_pk = format!("T#{tenant}#ROOM#{room_id}");
    let day_item = get(&client, &table, &day_pk, &format!("DAY#{day}")).await;
    let room_version = get(
        &client,
        &table,
        &format!("T#{tenant}"),
        &format!("ROOM#{room_id}"),
    )
    .await["version"]
        .clone();
    let audit_pk = format!("T#{tenant}#AUDIT");
    let audit = client
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(&audit_pk))
        .scan_index_forward(false)
        .limit(1)
        .send()
        .await
        .expect("audit")
        .items
        .unwrap_or_default()
        .remove(0);
    let table_handle = steward_store::Table::new(stack.aws(), &table);
    let booking_record = steward_store::bookings::BookingStore::new(table_handle.clone())
        .get(&tenant, &last_booking)
        .await
        .unwrap()
        .expect("the last booking");
    let room_record = steward_store::rooms::RoomStore::new(table_handle)
        .get(&tenant, &room_id)
        .await
        .unwrap()
        .expect("the room");
    let notice_template = steward_store::notices::Notice {
        notice_id: String::new(),
        tenant_id: tenant.clone(),
        kind: steward_domain::booking::notice::NoticeKind::Confirmed,
        organiser: owner.user_id.clone(),
        actor: owner.user_id.clone(),
        at: jiff::Timestamp::now().to_string(),
        room_id: room_id.clone(),
        room: Some(room_record.room),
        bookings: vec![booking_record],
    };
    // Each round, one create through the gateway, then its replay: both meet the emulator in
    // the same state and under the same background work (the notifier delivering).
    let mut through = Vec::with_capacity(rounds);
    let mut raw = Vec::with_capacity(rounds);
    for i in 0..rounds {
        through.push(create(10 + i).await.0);
        let started = Instant::now();
        get(
            &client,
            &table,
            &format!("T#{tenant}"),
            &format!("USER#{}", owner.user_id),
        )
        .await;
        // The days a local time's create reads: the day before, the day, the day after.
        let dates = [day.yesterday().unwrap(), day, day.tomorrow().unwrap()];
        let mut keys = KeysAndAttributes::builder()
            .keys(key(&format!("T#{tenant}"), &format!("ROOM#{room_id}")))
            .consistent_read(true);
        for date in dates {
            keys = keys.keys(key(&day_pk, &format!("DAY#{date}")));
        }
        let keys = keys.build().unwrap();
        client
            .batch_get_item()
            .request_items(&table, keys)
            .send()
            .await
            .expect("batch");
        let mut booking = booking.clone();
        booking.insert("sk".into(), s(format!("BOOKING#raw{i}")));
        // The create rewrites its day in place: so does the replay, on one copy (a new copy
        // each round would grow the room's partition, which the emulator reads whole).
        let mut day = day_item.clone();
        day.insert("sk".into(), s("RAW#DAY"));
        let mut entry = audit.clone();
        entry.insert("sk".into(), s(format!("raw#{i}")));
        // The notice as the outbox keeps it: the booking, with its room and the people.
        let notice = Item::from([
            ("pk".to_owned(), s("OUTBOX#RAW")),
            ("sk".to_owned(), s(format!("raw#{i}"))),
            ("notice".to_owned(), AttributeValue::M(booking.clone())),
        ]);
        // A real notice, so the notifier does for these what it did for the gateway's.
        let mut notice_of = notice_template.clone();
        notice_of.notice_id = format!("nt_raw_{i}");
        let body = serde_json::to_string(&notice_of).unwrap();
        let put = |item: Item, condition: &str| {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&table)
                        .set_item(Some(item))
                        .condition_expression(condition)
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let check = ConditionCheck::builder()
            .table_name(&table)
            .set_key(Some(key(
                &format!("T#{tenant}"),
                &format!("ROOM#{room_id}"),
            )))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", room_version.clone())
            .build()
            .unwrap();
        client
            .transact_write_items()
            .transact_items(put(booking, "attribute_not_exists(pk)"))
            .transact_items(put(day, "attribute_not_exists(never_there)"))
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(put(entry, "attribute_not_exists(pk)"))
            .transact_items(put(notice, "attribute_not_exists(pk)"))
            .send()
            .await
            .expect("transaction");
        sqs.send_message_batch()
            .queue_url(&notices)
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
        raw.push(started.elapsed());
    }

    // GET /v1/bookings/{id}, the same way: the gateway, then the calls it makes (the guard's
    // user, then the booking), alternating.
    let read_path = format!("/v1/bookings/{last_booking}");
    let (user_pk, user_sk) = (format!("T#{tenant}"), format!("USER#{}", owner.user_id));
    let booking_sk = format!("BOOKING#{last_booking}");
    let mut read_through = Vec::with_capacity(rounds);
    let mut read_raw = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let (status, _, read) = send(stack.as_person(&owner, Method::GET, &read_path)).await;
        read_through.push(started.elapsed());
        assert_eq!(status, 200, "{read}");
        let started = Instant::now();
        get(&client, &table, &user_pk, &user_sk).await;
        get(&client, &table, &user_pk, &booking_sk).await;
        read_raw.push(started.elapsed());
    }

    let (through_p50, raw_p50) = (median(&mut through), median(&mut raw));
    let (through_mean, raw_mean) = (mean(&through), mean(&raw));
    println!("create_overhead ({rounds} creates each, local stack, same emulator, same run)");
    println!(
        "  through the gateway: p50 {:>7.2} ms  mean {:>7.2} ms",
        through_p50.as_secs_f64() * 1e3,
        through_mean.as_secs_f64() * 1e3
    );
    println!(
        "  raw SDK calls:       p50 {:>7.2} ms  mean {:>7.2} ms",
        raw_p50.as_secs_f64() * 1e3,
        raw_mean.as_secs_f64() * 1e3
    );
    println!(
        "  ratio: p50 {:.2}x  mean {:.2}x  (target <= 1.2x)",
        through_p50.as_secs_f64() / raw_p50.as_secs_f64(),
        through_mean.as_secs_f64() / raw_mean.as_secs_f64()
    );
    let (read_through_p50, read_raw_p50) = (median(&mut read_through), median(&mut read_raw));
    let (read_through_mean, read_raw_mean) = (mean(&read_through), mean(&read_raw));
    println!(
        "  GET /v1/bookings/{{id}}: gateway p50 {:.2} ms, raw p50 {:.2} ms, ratio {:.2}x",
        read_through_p50.as_secs_f64() * 1e3,
        read_raw_p50.as_secs_f64() * 1e3,
        read_through_p50.as_secs_f64() / read_raw_p50.as_secs_f64()
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    steward_e2e::bench_results(
        "overhead",
        &json!({
            "benchmark": "overhead",
            "routes": [{
                "route": "POST /v1/bookings",
                "n": rounds,
                "gateway_ms": { "p50": ms(through_p50), "mean": ms(through_mean) },
                "raw_ms": { "p50": ms(raw_p50), "mean": ms(raw_mean) },
                "raw_calls": "BatchGetItem (room + 3 days), TransactWriteItems (booking, day, room check, audit, outbox), SendMessageBatch (notice)",
            }, {
                "route": "GET /v1/bookings/{bookingId}",
                "n": rounds,
                "gateway_ms": { "p50": ms(read_through_p50), "mean": ms(read_through_mean) },
                "raw_ms": { "p50": ms(read_raw_p50), "mean": ms(read_raw_mean) },
                "raw_calls": "GetItem (the user, for the guard), GetItem (the booking)",
            }],
        }),
    );
}
