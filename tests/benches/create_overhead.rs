//! The time of a booking create through the local gateway against the raw DynamoDB calls it
//! makes, measured in the same run (SPEC §C target: at most 1.2×). Both sides talk to the same
//! emulator; the difference is everything Steward adds: HTTP, the authorizer, the kit, Cedar,
//! the rules and the calendar check, serialisation.
//!
//! `cargo bench -p steward-e2e --bench create_overhead` (200 of each); under `cargo test` it runs
//! 5 of each, to prove it still works.

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
    let mut through = Vec::with_capacity(rounds);
    let mut last_booking = String::new();
    for i in 0..(rounds + 10) {
        let (start, end) = slot(i);
        let request = stack
            .as_person(&owner, Method::POST, "/v1/bookings")
            .json(&json!({ "room_id": room_id, "start": start, "end": end }));
        let started = Instant::now();
        let (status, _, booked) = send(request).await;
        let took = started.elapsed();
        assert_eq!(status, 201, "{booked}");
        last_booking = booked["id"].as_str().unwrap().to_owned();
        if i >= 10 {
            through.push(took);
        }
    }

    // The same calls, raw: read the user, read the room and its days in one batch, then write
    // the booking, its day, the room check and the audit entry in one transaction. The items are
    // copies of what the gateway wrote, under new keys.
    let client = Client::new(stack.aws());
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
    let mut raw = Vec::with_capacity(rounds);
    for i in 0..(rounds + 10) {
        let started = Instant::now();
        get(
            &client,
            &table,
            &format!("T#{tenant}"),
            &format!("USER#{}", owner.user_id),
        )
        .await;
        let keys = KeysAndAttributes::builder()
            .keys(key(&format!("T#{tenant}"), &format!("ROOM#{room_id}")))
            .keys(key(&day_pk, &format!("RAW#{i}#1")))
            .keys(key(&day_pk, &format!("RAW#{i}#2")))
            .keys(key(&day_pk, &format!("RAW#{i}#3")))
            .consistent_read(true)
            .build()
            .unwrap();
        client
            .batch_get_item()
            .request_items(&table, keys)
            .send()
            .await
            .expect("batch");
        let mut booking = booking.clone();
        booking.insert("sk".into(), s(format!("BOOKING#raw{i}")));
        let mut day = day_item.clone();
        day.insert("sk".into(), s(format!("RAW#{i}#1")));
        let mut entry = audit.clone();
        entry.insert("sk".into(), s(format!("raw#{i}")));
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
            .transact_items(put(day, "attribute_not_exists(pk)"))
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(put(entry, "attribute_not_exists(pk)"))
            .send()
            .await
            .expect("transaction");
        if i >= 10 {
            raw.push(started.elapsed());
        }
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
}
