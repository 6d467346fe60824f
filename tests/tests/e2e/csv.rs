//! CSV export and import through the gateway (SPEC §C): exports read back by the `csv` crate,
//! imports answered row by row, all-or-nothing or valid-only, never double-booking.

use futures::future::join_all;
use http::Method;
use serde_json::{Value, json};
use steward_e2e::{NewRoom, Person, TestStack, days_ahead, send};

/// A CSV export: its content type and its rows as maps of column to cell.
async fn export(
    stack: &TestStack,
    who: &Person,
    path: &str,
) -> (u16, String, Vec<std::collections::BTreeMap<String, String>>) {
    let response = stack
        .as_person(who, Method::GET, path)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    if status != 200 {
        return (status, kind, Vec::new());
    }
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows = reader.deserialize().map(|row| row.unwrap()).collect();
    (status, kind, rows)
}

async fn bookings_of(stack: &TestStack, who: &Person, room: &str) -> Vec<Value> {
    let path = format!(
        "/v1/bookings?room_id={room}&from={}T00:00:00Z&to={}T00:00:00Z",
        days_ahead(1),
        days_ahead(30)
    );
    let (status, page) = stack.call(who, Method::GET, &path, json!(null)).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors in {problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rooms_export_and_import_with_a_report_of_every_row() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Sheet Rooms", "owner@sheet.test").await;
    let atlas = stack
        .create_room(
            &owner,
            NewRoom::named("Atlas, east").with("equipment", json!(["screen"])),
        )
        .await;

    let (status, kind, rows) = export(&stack, &owner, "/v1/exports/rooms").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], atlas);
    assert_eq!(rows[0]["name"], "Atlas, east", "a comma survives quoting");
    assert_eq!(rows[0]["equipment"], "screen");
    assert_eq!(rows[0]["horizon_days"], "180");

    let sheet = "name,time_zone,capacity,equipment,buffer_after_minutes\n\
                 Birch,Europe/Paris,8,screen;phone,10\n\
                 Cedar,Mars/Base,4,,\n\
                 Dune,UTC,lots,,\n";
    let (status, problem) = stack.import(&owner, "/v1/imports/rooms", sheet).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        fields(&problem),
        ["rows[3].time_zone", "rows[4].capacity"],
        "{problem}"
    );
    assert_eq!(
        export(&stack, &owner, "/v1/exports/rooms").await.2.len(),
        1,
        "none imported"
    );

    let (status, report) = stack
        .import(&owner, "/v1/imports/rooms?mode=valid_only", sheet)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["imported"].as_u64(), report["rejected"].as_u64()),
        (Some(1), Some(2))
    );
    let outcomes: Vec<(u64, &str)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [(2, "imported"), (3, "rejected"), (4, "rejected")]
    );
    let rooms = export(&stack, &owner, "/v1/exports/rooms").await.2;
    let birch = rooms
        .iter()
        .find(|r| r["name"] == "Birch")
        .expect("Birch imported");
    assert_eq!(birch["equipment"], "phone;screen");
    assert_eq!(birch["buffer_after_minutes"], "10");
    assert_eq!(birch["id"], report["rows"][0]["id"].as_str().unwrap());

    // Not CSV, no rows, an unknown mode: refused, nothing changes.
    let (status, _) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/imports/rooms",
            json!({ "name": "x" }),
        )
        .await;
    assert_eq!(status, 415);
    assert_eq!(
        stack
            .import(&owner, "/v1/imports/rooms", "name,time_zone,capacity\n")
            .await
            .0,
        422
    );
    assert_eq!(
        stack
            .import(&owner, "/v1/imports/rooms?mode=some", sheet)
            .await
            .0,
        422
    );
    assert_eq!(export(&stack, &owner, "/v1/exports/rooms").await.2.len(), 2);
}

#[tokio::test]
async fn a_bookings_import_reports_each_bad_row_and_imports_none_or_the_good_ones() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Import Rooms", "owner@import.test").await;
    let atlas = stack
        .create_room(
            &owner,
            NewRoom::named("Atlas").with("equipment", json!(["screen"])),
        )
        .await;
    let d = days_ahead(10);
    let (status, existing) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/bookings",
            json!({ "room_id": atlas, "start": format!("{d}T14:00"), "end": format!("{d}T15:00") }),
        )
        .await;
    assert_eq!(status, 201, "{existing}");
    let existing_id = existing["id"].as_str().unwrap();

    let sheet = format!(
        "room_id,start,end,title\n\
         {atlas},{d}T09:00,{d}T10:00,Stand-up\n\
         rm_nowhere,{d}T09:00,{d}T10:00,Lost\n\
         {atlas},{d}T09:30,{d}T10:30,Overlaps row 2\n\
         {atlas},{d}T14:30,{d}T15:30,Meets the existing one\n\
         {atlas},not a time,{d}T12:00,Bad start\n\
         {atlas},{d}T16:00,{d}T17:00,\"Review, weekly\"\n"
    );
    let (status, problem) = stack.import(&owner, "/v1/imports/bookings", &sheet).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        fields(&problem),
        [
            "rows[3].room_id",
            "rows[4].start",
            "rows[5].start",
            "rows[6].start"
        ],
        "{problem}"
    );
    let messages = problem["errors"].to_string();
    assert!(messages.contains("overlaps row 2"), "{messages}");
    assert!(
        messages.contains(existing_id),
        "the taken slot names the booking: {messages}"
    );
    assert_eq!(
        bookings_of(&stack, &owner, &atlas).await.len(),
        1,
        "none imported"
    );

    let path = "/v1/imports/bookings?mode=valid_only";
    let retry = |key: &'static str| {
        stack
            .as_person(&owner, Method::POST, path)
            .header("content-type", "text/csv")
            .header("idempotency-key", key)
            .body(sheet.clone())
    };
    let (status, _, report) = send(retry("import-once")).await;
    assert_eq!(status, 200, "{report}");
    let (_, _, again) = send(retry("import-once")).await;
    assert_eq!(again, report, "a retry answers the first import");
    let statuses: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "imported", "rejected", "rejected", "rejected", "rejected", "imported"
        ]
    );
    let listed = bookings_of(&stack, &owner, &atlas).await;
    assert_eq!(
        listed.len(),
        3,
        "the existing booking and the two good rows, once"
    );
    assert!(listed.iter().any(|b| b["title"] == "Review, weekly"));

    // The bookings export reads them back, on the room's clock too.
    let export_path = format!(
        "/v1/exports/bookings?from={}T00:00:00Z&to={}T00:00:00Z",
        days_ahead(1),
        days_ahead(30)
    );
    let (status, kind, rows) = export(&stack, &owner, &export_path).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"));
    assert_eq!(rows.len(), 3);
    let review = rows
        .iter()
        .find(|r| r["title"] == "Review, weekly")
        .unwrap();
    assert_eq!(review["local_start"], format!("{d}T16:00:00"));
    assert_eq!(review["time_zone"], "Europe/London");
    assert_eq!(review["status"], "confirmed");
    assert_eq!(review["room_name"], "Atlas");

    // Imports are audited: one entry a room written.
    let imports = stack
        .audit_entries(&owner)
        .await
        .iter()
        .filter(|e| e["action"] == "booking.import")
        .count();
    assert_eq!(imports, 1);
}

#[tokio::test]
async fn fifty_concurrent_imports_of_one_slot_make_one_booking() {
    let stack = TestStack::start().await;
    let _burst = steward_e2e::burst().await;
    let owner = stack.sign_up("Race Rooms", "owner@race.test").await;
    let atlas = stack
        .create_room(
            &owner,
            NewRoom::named("Atlas").with("equipment", json!(["screen"])),
        )
        .await;
    let d = days_ahead(12);
    let answers = join_all((0..50).map(|i| {
        let sheet = format!(
            "room_id,start,end,title\n{atlas},{d}T10:{:02},{d}T11:00,Racer {i}\n",
            i % 30
        );
        let request = stack
            .as_person(&owner, Method::POST, "/v1/imports/bookings")
            .header("content-type", "text/csv")
            .body(sheet);
        async move { send(request).await }
    }))
    .await;
    let won: Vec<&Value> = answers
        .iter()
        .filter(|(s, _, _)| *s == 200)
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    let winner = won[0]["rows"][0]["id"].as_str().unwrap();
    for (status, _, answer) in answers.iter().filter(|(s, _, _)| *s != 200) {
        assert!([409, 422].contains(status), "{status} {answer}");
        assert!(
            answer.to_string().contains(winner),
            "names the winner: {answer}"
        );
    }
    assert_eq!(bookings_of(&stack, &owner, &atlas).await.len(), 1);
}

#[tokio::test]
async fn imports_need_the_csv_import_feature_and_exports_do_not() {
    let stack = TestStack::with_parameters(&[
        ("LicensingConfigCacheSeconds", "0"),
        ("AuthorizerCacheSeconds", "0"),
    ])
    .await;
    let essential = stack
        .sign_up("Essential Sheets", "owner@essential.test")
        .await;
    stack.enforce_offering(&essential, "essential").await;
    for path in ["/v1/imports/rooms", "/v1/imports/bookings"] {
        let (status, refused) = stack
            .import(&essential, path, "name,time_zone,capacity\nA,UTC,2\n")
            .await;
        assert_eq!(
            (status, refused["missing_feature"].as_str()),
            (403, Some("csv_import")),
            "{refused}"
        );
    }
    assert_eq!(export(&stack, &essential, "/v1/exports/rooms").await.0, 200);
    let (status, _) = stack
        .call(&essential, Method::POST, "/v1/feeds", json!({}))
        .await;
    assert_eq!(status, 201, "essential includes iCal feeds");
}
