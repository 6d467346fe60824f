//! Room utilisation through the gateway (SPEC §C): past bookings (a manager books past the
//! rules with a reason), outcomes set as check-in and auto-release will set them, the views
//! refreshed by the operators' endpoint, and the figures read by the tenant under `reports`.

use http::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, days_ahead, send};
use steward_store::bookings::booking_key;

/// A booking `days` ago (local times), booked past the rules as a manager may.
async fn booked(
    stack: &TestStack,
    owner: &Person,
    room: &str,
    days: i64,
    hours: (u32, u32),
) -> String {
    let day = days_ahead(-days);
    let (status, booking) = stack
        .call(
            owner,
            Method::POST,
            "/v1/bookings",
            json!({
                "room_id": room, "title": "Past",
                "start": format!("{day}T{:02}:00", hours.0), "end": format!("{day}T{:02}:00", hours.1),
                "override_reason": "Recorded afterwards",
            }),
        )
        .await;
    assert_eq!(status, 201, "{booking}");
    booking["id"].as_str().unwrap().to_owned()
}

/// Sets a booking's status as the check-in and release flows do.
async fn set_status(stack: &TestStack, tenant_id: &str, booking_id: &str, status: &str) {
    let (pk, sk) = booking_key(tenant_id, booking_id);
    aws_sdk_dynamodb::Client::new(stack.aws())
        .update_item()
        .table_name(stack.table.name())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .update_expression("SET #status = :status")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(
            ":status",
            aws_sdk_dynamodb::types::AttributeValue::S(status.into()),
        )
        .send()
        .await
        .unwrap();
}

async fn utilisation(stack: &TestStack, who: &Person) -> (u16, Value) {
    let (status, _, body) =
        send(stack.as_person(who, Method::GET, "/v1/reports/utilisation")).await;
    (status, body)
}

fn figures<'a>(report: &'a Value, list: &str, id: &str) -> &'a Value {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}: {report}"))
}

#[tokio::test]
async fn utilisation_per_room_and_site_refreshed_on_demand() {
    let stack = TestStack::with_parameters(&[
        ("LicensingConfigCacheSeconds", "0"),
        ("AuthorizerCacheSeconds", "0"),
    ])
    .await;
    let owner = stack.sign_up("Busy Sites", "owner@sites.test").await;
    let auditor = stack.join(&owner, "auditor@sites.test", &["auditor"]).await;
    let member = stack.join(&owner, "member@sites.test", &["member"]).await;
    let checked = stack
        .room(
            &owner,
            json!({ "name": "Door", "site": "North", "time_zone": "UTC", "capacity": 4,
                "rules": { "check_in_required": true } }),
        )
        .await;
    let london = stack.room(
        &owner,
        json!({ "name": "Thames", "site": "North", "time_zone": "Europe/London", "capacity": 8 }),
    )
    .await;

    // Before any refresh: nothing computed yet.
    let (status, empty) = utilisation(&stack, &owner).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["computed_at"], Value::Null);
    assert_eq!(empty["rooms"], json!([]));

    // In the room that needs a check-in: one attended, one no-show, one not yet decided.
    let attended = booked(&stack, &owner, &checked, 3, (9, 10)).await;
    let no_show = booked(&stack, &owner, &checked, 2, (9, 11)).await;
    booked(&stack, &owner, &checked, 4, (9, 10)).await;
    set_status(&stack, &owner.tenant_id, &attended, "completed").await;
    set_status(&stack, &owner.tenant_id, &no_show, "released").await;
    // In London: 13:00–15:00 on the room's clock; a cancelled one counts for nothing.
    booked(&stack, &owner, &london, 5, (13, 15)).await;
    let cancelled = booked(&stack, &owner, &london, 6, (13, 15)).await;
    set_status(&stack, &owner.tenant_id, &cancelled, "cancelled").await;

    let operator = stack.operator().await;
    let (status, refreshed) = stack
        .call(
            &operator,
            Method::POST,
            "/v1/admin/refresh-views",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["utilisation_queued"], 1, "{refreshed}");

    // The sweep's workers compute it from the queue.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let report = loop {
        let (status, report) = utilisation(&stack, &auditor).await;
        assert_eq!(status, 200, "{report}");
        if report["computed_at"].is_string() {
            break report;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never computed: {report}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let door = figures(&report, "rooms", &checked);
    assert_eq!(door["booked_hours"], 2.0, "{door}");
    assert_eq!(door["available_hours"], 720.0, "{door}");
    assert_eq!(door["utilisation"], 0.003, "{door}");
    assert_eq!(
        (door["check_ins"].clone(), door["no_shows"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(door["check_in_rate"], 0.5);
    assert_eq!(door["no_show_rate"], 0.5);
    assert_eq!(
        door["peak_hours"],
        json!([{ "hour": 9, "booked_hours": 2.0 }])
    );
    let thames = figures(&report, "rooms", &london);
    assert_eq!(thames["booked_hours"], 2.0, "{thames}");
    assert_eq!(thames["check_in_rate"], Value::Null, "no check-in needed");
    assert_eq!(
        thames["peak_hours"],
        json!([{ "hour": 13, "booked_hours": 1.0 }, { "hour": 14, "booked_hours": 1.0 }]),
        "on the room's clock"
    );
    let north = figures(&report, "sites", "North");
    assert_eq!(north["booked_hours"], 4.0);
    assert_eq!(north["available_hours"], 1440.0);
    assert_eq!(north["no_show_rate"], 0.5);

    // Over a chosen range, computed on demand: the two days from four days ago.
    let (from, to) = (days_ahead(-4), days_ahead(-2));
    let ranged = format!("/v1/reports/utilisation?from={from}T00:00:00Z&to={to}T00:00:00Z");
    let (status, _, range) = send(stack.as_person(&auditor, Method::GET, &ranged)).await;
    assert_eq!(status, 200, "{range}");
    assert_eq!(range["from"], format!("{from}T00:00:00Z"), "{range}");
    assert_eq!(range["partial"], false);
    let door = figures(&range, "rooms", &checked);
    assert_eq!(
        (
            door["booked_hours"].clone(),
            door["available_hours"].clone()
        ),
        (json!(2.0), json!(48.0)),
        "the two one-hour bookings of those days: {door}"
    );
    assert_eq!(figures(&range, "rooms", &london)["booked_hours"], 0.0);
    for (query, field) in [
        (format!("from={from}T00:00:00Z"), "to"),
        (format!("from={to}T00:00:00Z&to={from}T00:00:00Z"), "to"),
        (
            format!("from={}T00:00:00Z&to={to}T00:00:00Z", days_ahead(-100)),
            "to",
        ),
        ("from=yesterday&to=today".to_owned(), "from"),
    ] {
        let (status, _, problem) = send(stack.as_person(
            &auditor,
            Method::GET,
            &format!("/v1/reports/utilisation?{query}"),
        ))
        .await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{query}: {problem}"
        );
    }

    // Members do not read reports; without the licence feature nobody does.
    let (status, refused) = utilisation(&stack, &member).await;
    assert_eq!(status, 403, "{refused}");
    stack.enforce_offering(&owner, "essential").await;
    let (status, refused) = utilisation(&stack, &owner).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["missing_feature"], "reports", "{refused}");
}
