//! Provider credentials (SPEC §E) through the local stack: a client uploads through a presigned
//! URL, the bucket's "object created" event reaches `UploadsQueue` (template.yaml's
//! notification, set up by the local stack as S3 would), and the verifier checks it: a real PDF
//! and PNG wait for review with their SHA-256; an ELF or a ZIP declared as a PDF, and a file
//! larger than declared, are rejected with the reason and their objects deleted; the same event
//! delivered again changes nothing. Then review, escalation, expiry and reminders, the licence
//! feature, and rooms that require a credential on every booking path.

use std::time::Duration;

use steward_domain::credential::file::FileKind;
use steward_domain::digest::sha256_hex;
use steward_e2e::TestStack;
use steward_store::credentials::object_key;
use steward_store::objects::Bucket;

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// A real ZIP archive (one stored file, `a.txt`), as Python's `zipfile` writes it.
const ZIP: &[u8] = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00!\x5C\xAC*\x93\xD8\x02\x00\x00\x00\x02\x00\x00\x00\x05\x00\x00\x00a.txthiPK\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00!\x5C\xAC*\x93\xD8\x02\x00\x00\x00\x02\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x00\x00a.txtPK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x003\x00\x00\x00%\x00\x00\x00\x00\x00";

fn elf() -> Vec<u8> {
    let mut bytes = vec![0x7F, b'E', b'L', b'F', 2, 1, 1, 0];
    bytes.resize(64, 0);
    bytes
}

/// Sends `file` through the presigned upload of `created` (a `POST /v1/credentials` answer),
/// with the headers it signed (the client sets the length itself); answers S3's status.
async fn send_file(stack: &TestStack, created: &serde_json::Value, file: &[u8]) -> u16 {
    let upload = &created["upload"];
    let mut request = stack
        .http
        .put(upload["url"].as_str().unwrap())
        .body(file.to_vec());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" {
            request = request.header(name.as_str(), value.as_str().unwrap());
        }
    }
    request.send().await.unwrap().status().as_u16()
}

pub(crate) async fn put_file(stack: &TestStack, created: &serde_json::Value, file: &[u8]) {
    let status = send_file(stack, created, file).await;
    assert!((200..300).contains(&status), "{status}");
}

/// The credential at `path` as `who` reads it once the verifier has decided (within 15 s).
pub(crate) async fn verified_by_pipeline(
    stack: &TestStack,
    who: &steward_e2e::Person,
    path: &str,
) -> serde_json::Value {
    for _ in 0..75 {
        let read = stack
            .call(who, http::Method::GET, path, serde_json::Value::Null)
            .await
            .1;
        if read["status"] != "awaiting_upload" {
            return read;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{path} was not verified");
}

#[tokio::test]
async fn uploaded_files_are_verified_once_by_their_bytes() {
    use http::Method;
    use serde_json::{Value, json};
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Verified", "owner@verified.test").await;
    let provider = stack
        .join(&owner, "provider@verified.test", &["provider"])
        .await;
    let (status, kind) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/credential-types",
            json!({ "name": "First aid", "accepted_types": ["application/pdf", "image/png"],
                    "max_bytes": 1000 }),
        )
        .await;
    assert_eq!(status, 201, "{kind}");
    let bucket = Bucket::new(stack.aws(), stack.stack.physical_name("Bucket"));
    // A credential declared as `content_type` of `size` bytes: its record and upload URL.
    let declare = |content_type: &'static str, size: usize| {
        let body = json!({ "type_id": kind["id"], "content_type": content_type, "size": size });
        let (stack, provider) = (&stack, &provider);
        async move {
            let (status, created) = stack
                .call(provider, Method::POST, "/v1/credentials", body)
                .await;
            assert_eq!(status, 201, "{created}");
            created
        }
    };
    let path = |created: &Value| format!("/v1/credentials/{}", created["id"].as_str().unwrap());
    let key = |created: &Value, file: FileKind| {
        object_key(&owner.tenant_id, created["id"].as_str().unwrap(), file)
    };

    // A real PNG: 1×1 pixel.
    let png: Vec<u8> = vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0D, 0x49, 0x44,
        0x41, 0x54, 0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0,
        0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    let good = declare("application/pdf", PDF.len()).await;
    let picture = declare("image/png", png.len()).await;
    let disguised = declare("application/pdf", 64).await;
    let archive = declare("application/pdf", ZIP.len()).await;
    let oversized = declare("application/pdf", 10).await;
    put_file(&stack, &good, PDF).await;
    put_file(&stack, &picture, &png).await;
    put_file(&stack, &disguised, &elf()).await;
    put_file(&stack, &archive, ZIP).await;
    put_file(&stack, &oversized, PDF).await;

    for (created, bytes) in [(&good, PDF), (&picture, png.as_slice())] {
        let read = verified_by_pipeline(&stack, &provider, &path(created)).await;
        assert_eq!(
            (read["status"].clone(), read["sha256"].clone()),
            (json!("pending_review"), json!(sha256_hex(bytes))),
            "{read}"
        );
        assert!(read["review_due"].is_string(), "{read}");
    }
    for (created, why) in [
        (
            &disguised,
            "declared application/pdf but its content is application/x-executable",
        ),
        (
            &archive,
            "declared application/pdf but its content is application/zip",
        ),
        (&oversized, "takes at most 10"),
    ] {
        let rejected = verified_by_pipeline(&stack, &provider, &path(created)).await;
        assert_eq!(rejected["status"], "rejected", "{rejected}");
        assert!(
            rejected["reason"].as_str().unwrap().contains(why),
            "{rejected}"
        );
        assert!(
            bucket
                .head_of(&key(created, FileKind::Pdf), 8)
                .await
                .unwrap()
                .is_none(),
            "{rejected}: its object is deleted"
        );
    }

    // The same event again (S3 may send one twice): nothing changes.
    let verified = verified_by_pipeline(&stack, &provider, &path(&good)).await;
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let event = json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": { "bucket": { "name": stack.stack.physical_name("Bucket") },
                "object": { "key": key(&good, FileKind::Pdf).replace('/', "%2F"),
                            "size": PDF.len() } }
    }] });
    sqs.send_message()
        .queue_url(stack.stack.queue_url("UploadsQueue").unwrap())
        .message_body(event.to_string())
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = verified_by_pipeline(&stack, &provider, &path(&good)).await;
    assert_eq!(
        again["version"], verified["version"],
        "the event is processed once"
    );

    // Each key is written once: S3 refuses a second file over a checked one (the signed
    // If-None-Match), and a file sent after the verifier refused the first is deleted too.
    assert_eq!(send_file(&stack, &good, &elf()).await, 412);
    put_file(&stack, &disguised, PDF).await;
    let refused_key = key(&disguised, FileKind::Pdf);
    let mut kept = true;
    for _ in 0..75 {
        kept = bucket.head_of(&refused_key, 8).await.unwrap().is_some();
        if !kept {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!kept, "a file sent after the refusal is deleted");
    let refused = verified_by_pipeline(&stack, &provider, &path(&disguised)).await;
    assert_eq!(refused["status"], "rejected", "and stays refused");
}

#[tokio::test]
async fn a_provider_uploads_through_the_api_and_the_file_waits_for_review() {
    use http::Method;
    use serde_json::json;
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Creds", "owner@creds.test").await;
    let provider = stack
        .join(&owner, "provider@creds.test", &["provider"])
        .await;
    let (status, problem) = stack
        .call(
            &provider,
            Method::POST,
            "/v1/credential-types",
            json!({ "name": "First aid", "accepted_types": ["application/pdf"], "max_bytes": 1000 }),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    let (status, kind) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/credential-types",
            json!({ "name": "First aid", "accepted_types": ["application/pdf"], "max_bytes": 1000 }),
        )
        .await;
    assert_eq!(status, 201, "{kind}");
    for (body, field) in [
        (
            json!({ "type_id": kind["id"], "content_type": "image/png", "size": 10 }),
            "content_type",
        ),
        (
            json!({ "type_id": kind["id"], "content_type": "application/pdf", "size": 5000 }),
            "size",
        ),
        (
            json!({ "type_id": "ct_none", "content_type": "application/pdf", "size": 10 }),
            "type_id",
        ),
    ] {
        let (status, problem) = stack
            .call(&provider, Method::POST, "/v1/credentials", body)
            .await;
        assert_eq!(
            (status, problem["errors"][0]["field"].clone()),
            (422, json!(field)),
            "{problem}"
        );
    }
    let (status, created) = stack
        .call(
            &provider,
            Method::POST,
            "/v1/credentials",
            json!({ "type_id": kind["id"], "content_type": "application/pdf", "size": PDF.len() }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "awaiting_upload");
    let upload = &created["upload"];
    assert!(
        upload["url"]
            .as_str()
            .unwrap()
            .contains(&format!("tenants/{}/credentials/", owner.tenant_id)),
        "{upload}"
    );
    put_file(&stack, &created, PDF).await;
    let path = format!("/v1/credentials/{}", created["id"].as_str().unwrap());
    let read = verified_by_pipeline(&stack, &provider, &path).await;
    let expected = sha256_hex(PDF);
    assert_eq!(
        (read["status"].clone(), read["sha256"].clone()),
        (json!("pending_review"), json!(expected)),
        "{read}"
    );
    // Another tenant sees nothing of it.
    let other = stack.sign_up("Other", "owner@other.test").await;
    let (status, _) = stack.call(&other, Method::GET, &path, json!(null)).await;
    assert_eq!(status, 404);

    // Overdue reviews are escalated once, to the reviewers (here the owner).
    let fire = |sweep: &str, at: jiff::Timestamp| {
        stack.post(&format!(
            "/_local/schedules/CredentialSweepsFunction/{sweep}?at={at}"
        ))
    };
    let now = jiff::Timestamp::now();
    for (hours, escalated) in [(3, 0), (5, 1), (5, 0), (6, 0)] {
        let (status, _, ran) = steward_e2e::send(fire(
            "Escalate",
            now + jiff::SignedDuration::from_hours(hours),
        ))
        .await;
        assert_eq!(status, 200, "{ran}");
        assert_eq!(
            ran["output"]["done"]["escalated"], escalated,
            "{hours} h: {ran}"
        );
    }
    let mails = stack.sent_mail(&owner.email).await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.to_string().contains("Overdue review"))
            .count(),
        1,
        "{mails:?}"
    );

    // Review: the queue, oldest first; a non-reviewer cannot download; the reviewer's URL
    // serves the file; nobody reviews their own; a rejection needs a reason; decided once.
    let manager = stack.join(&owner, "manager@creds.test", &["manager"]).await;
    let later = stack.join(&owner, "later@creds.test", &["provider"]).await;
    let (_, second) = stack
        .call(
            &later,
            Method::POST,
            "/v1/credentials",
            json!({ "type_id": kind["id"], "content_type": "application/pdf", "size": PDF.len() }),
        )
        .await;
    put_file(&stack, &second, PDF).await;
    let second_path = format!("/v1/credentials/{}", second["id"].as_str().unwrap());
    verified_by_pipeline(&stack, &later, &second_path).await;
    // The first one's SLA passed (its due time moved back, as four hours would).
    let store = steward_store::credentials::CredentialStore::new(stack.table.clone());
    let first = store
        .get(&owner.tenant_id, created["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut overdue = first.revised(&jiff::Timestamp::now().to_string());
    overdue.review_due =
        Some((jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1)).to_string());
    store
        .put(&overdue, Some(first.version), None)
        .await
        .unwrap();
    let (status, queue) = stack
        .call(&manager, Method::GET, "/v1/credential-reviews", json!(null))
        .await;
    assert_eq!(status, 200, "{queue}");
    let listed: Vec<(serde_json::Value, serde_json::Value)> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].clone(), item["overdue"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (created["id"].clone(), json!(true)),
            (second["id"].clone(), json!(false))
        ],
        "oldest upload first, the one past its SLA flagged"
    );
    let download = format!("{path}/download");
    let (status, problem) = stack
        .call(&provider, Method::GET, &download, json!(null))
        .await;
    assert_eq!(
        (status, problem["missing_permission"].clone()),
        (403, json!("credentials:review"))
    );
    let (status, link) = stack
        .call(&manager, Method::GET, &download, json!(null))
        .await;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Expires=300"), "{url}");
    let fetched = stack.http.get(url).send().await.unwrap();
    // Saved as a file, never shown in the browser, whatever it holds (issue 23).
    let disposition = fetched.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"cr_") && disposition.contains(".pdf\""),
        "{disposition}"
    );
    assert_eq!(&fetched.bytes().await.unwrap()[..], PDF);
    let (status, problem) = stack
        .call(&manager, Method::POST, &format!("{path}/reject"), json!({}))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (422, json!("reason"))
    );
    let (status, approved) = stack
        .call(
            &manager,
            Method::POST,
            &format!("{path}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, approved["status"].clone()),
        (200, json!("verified")),
        "{approved}"
    );
    assert_eq!(approved["decided_by"], json!(manager.user_id));
    let (status, _) = stack
        .call(
            &manager,
            Method::POST,
            &format!("{path}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "decided once");

    // The provider's trust score: the one type, verified: 100, explained.
    let trust = format!("/v1/members/{}/trust", provider.user_id);
    let (status, score) = stack
        .call(&provider, Method::GET, &trust, json!(null))
        .await;
    assert_eq!(
        (status, score["score"].clone()),
        (200, json!(100)),
        "{score}"
    );
    assert_eq!(score["breakdown"][0]["credential_id"], created["id"]);
    let (status, _) = stack
        .call(
            &provider,
            Method::GET,
            &format!("/v1/members/{}/trust", manager.user_id),
            json!(null),
        )
        .await;
    assert_eq!(status, 403, "only reviewers read others' scores");

    // The manager's own credential: another reviewer decides it, never the manager.
    let (_, own) = stack
        .call(
            &manager,
            Method::POST,
            "/v1/credentials",
            json!({ "type_id": kind["id"], "content_type": "application/pdf", "size": 10 }),
        )
        .await;
    let (status, problem) = stack
        .call(
            &manager,
            Method::POST,
            &format!("/v1/credentials/{}/approve", own["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("own"));
}

#[tokio::test]
async fn verified_credentials_are_reminded_then_expire() {
    use http::Method;
    use jiff::{SignedDuration, Timestamp};
    use serde_json::json;
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Expiring", "owner@expiring.test").await;
    let provider = stack
        .join(&owner, "provider@expiring.test", &["provider"])
        .await;
    let (_, kind) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/credential-types",
            json!({ "name": "Licence", "accepted_types": ["application/pdf"], "max_bytes": 1000,
                    "expiry_required": true, "review_required": false }),
        )
        .await;
    let (status, problem) = stack
        .call(
            &provider,
            Method::POST,
            "/v1/credentials",
            json!({ "type_id": kind["id"], "content_type": "application/pdf", "size": PDF.len() }),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (422, json!("expires_at"))
    );
    let expires =
        Timestamp::from_second((Timestamp::now() + SignedDuration::from_hours(24)).as_second())
            .unwrap();
    let (_, created) = stack
        .call(
            &provider,
            Method::POST,
            "/v1/credentials",
            json!({ "type_id": kind["id"], "content_type": "application/pdf", "size": PDF.len(),
                    "expires_at": expires.to_string() }),
        )
        .await;
    put_file(&stack, &created, PDF).await;
    let path = format!("/v1/credentials/{}", created["id"].as_str().unwrap());
    let read = verified_by_pipeline(&stack, &provider, &path).await;
    assert_eq!(
        read["status"], "verified",
        "no review for this type: {read}"
    );

    let fire = |at: Timestamp| {
        stack.post(&format!(
            "/_local/schedules/CredentialSweepsFunction/Expire?at={at}"
        ))
    };
    let now = Timestamp::now();
    for (hours, expired, reminded) in [(1, 0, 1), (2, 0, 0), (25, 1, 0), (26, 0, 0)] {
        let (status, _, ran) =
            steward_e2e::send(fire(now + SignedDuration::from_hours(hours))).await;
        assert_eq!(status, 200, "{ran}");
        let done = &ran["output"]["done"];
        assert_eq!(
            (done["expired"].clone(), done["reminded"].clone()),
            (json!(expired), json!(reminded)),
            "{hours} h: {ran}"
        );
    }
    let read = stack
        .call(&provider, Method::GET, &path, json!(null))
        .await
        .1;
    assert_eq!(read["status"], "expired");
    let mails = stack.sent_mail(&provider.email).await;
    let subjects: Vec<String> = mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("expires soon")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("has expired")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn credentials_are_a_licence_feature() {
    use http::Method;
    use serde_json::json;
    let stack = TestStack::with_parameters(&[
        ("LicensingConfigCacheSeconds", "0"),
        ("AuthorizerCacheSeconds", "0"),
    ])
    .await;
    let owner = stack
        .sign_up("Essentials", "owner@cred-essential.test")
        .await;
    let body =
        json!({ "name": "First aid", "accepted_types": ["application/pdf"], "max_bytes": 1000 });
    let (status, kind) = stack
        .call(&owner, Method::POST, "/v1/credential-types", body.clone())
        .await;
    assert_eq!(status, 201, "the trial has every feature: {kind}");
    stack.enforce_offering(&owner, "essential").await;
    let (status, problem) = stack
        .call(&owner, Method::POST, "/v1/credential-types", body)
        .await;
    assert_eq!(
        (status, problem["missing_feature"].clone()),
        (403, json!("credentials")),
        "{problem}"
    );
    let (status, problem) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/credentials",
            json!({ "type_id": kind["id"], "content_type": "application/pdf", "size": 10 }),
        )
        .await;
    assert_eq!(
        (status, problem["missing_feature"].clone()),
        (403, json!("credentials")),
        "{problem}"
    );
}

#[tokio::test]
async fn a_room_requiring_a_credential_refuses_every_booking_path_without_it() {
    use http::Method;
    use jiff::{SignedDuration, Timestamp};
    use serde_json::{Value, json};
    use steward_e2e::days_ahead;
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Clinics", "owner@clinics.test").await;
    // A manager may also import; the owner reviews (nobody reviews their own).
    let nurse = stack.join(&owner, "nurse@clinics.test", &["manager"]).await;
    let (_, kind) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/credential-types",
            json!({ "name": "First aid", "accepted_types": ["application/pdf"], "max_bytes": 1000,
                    "expiry_required": true }),
        )
        .await;
    let type_id = kind["id"].as_str().unwrap();
    let clinic_body = |required: Value| {
        json!({ "name": "Clinic", "time_zone": "Europe/London", "capacity": 4,
                "required_credentials": required })
    };
    let (status, problem) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/rooms",
            clinic_body(json!(["ct_typo"])),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (422, json!("required_credentials")),
        "an unknown type would lock everyone out: {problem}"
    );
    let clinic = stack.room(&owner, clinic_body(json!([type_id]))).await;
    let open = stack
        .room(
            &owner,
            json!({ "name": "Open", "time_zone": "Europe/London", "capacity": 4 }),
        )
        .await;
    let (status, _) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/badges/0C11C0DE",
            json!({ "member_id": nurse.user_id }),
        )
        .await;
    assert_eq!(status, 200);
    let door = stack.terminal(&owner, &clinic).await;

    let at = |days: i64, time: &str| format!("{}T{time}", days_ahead(days));
    let booking = |day: i64, hour: u8| {
        json!({ "room_id": clinic, "title": "Clinic",
                "start": at(day, &format!("{hour:02}:00")), "end": at(day, &format!("{hour:02}:45")) })
    };
    let series = |recurrence: &str| {
        json!({ "room_id": clinic, "title": "Clinic series",
                "start": at(1, "15:00"), "end": at(1, "15:45"), "recurrence": recurrence })
    };
    // A row in the clinic and one in the open room, at `hour` the day after tomorrow.
    let import = |mode: &str, hour: u8| {
        let (start, end) = (at(2, &format!("{hour}:00")), at(2, &format!("{hour}:45")));
        stack
            .as_person(
                &nurse,
                Method::POST,
                &format!("/v1/imports/bookings?mode={mode}"),
            )
            .header("content-type", "text/csv")
            .body(format!(
                "room_id,start,end,title\n\
                 {clinic},{start},{end},Imported clinic\n\
                 {open},{start},{end},Imported open\n"
            ))
    };
    let names_first_aid = |problem: &Value| {
        let missing = problem["missing_credentials"].to_string();
        missing.contains("First aid") && missing.contains(type_id)
    };
    let clinic_bookings = || async {
        let (from, to) = (
            Timestamp::now() - SignedDuration::from_hours(1),
            Timestamp::now() + SignedDuration::from_hours(24 * 10),
        );
        let (status, _, listed) = steward_e2e::send(stack.as_person(
            &owner,
            Method::GET,
            &format!("/v1/bookings?room_id={clinic}&from={from}&to={to}"),
        ))
        .await;
        assert_eq!(status, 200, "{listed}");
        listed["items"].as_array().unwrap().len()
    };

    // Availability says so before anyone tries: not free to her, for want of First aid.
    let window = format!(
        "/v1/availability?start={}:00Z&end={}:00Z",
        at(1, "09:00"),
        at(1, "09:45")
    );
    let available = |who| stack.call(who, Method::GET, &window, Value::Null);
    let (status, found) = available(&nurse).await;
    assert_eq!(status, 200, "{found}");
    let names = |rooms: &Value| -> Vec<String> {
        rooms
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["room"]["name"]
                    .as_str()
                    .or(r["name"].as_str())
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(names(&found["free"]), ["Open"], "{found}");
    assert_eq!(names(&found["unavailable"]), ["Clinic"], "{found}");
    assert_eq!(
        found["unavailable"][0]["reasons"],
        json!([{ "kind": "credential", "credential_type_id": type_id, "credential_type": "First aid" }])
    );

    // Without the credential every path refuses, naming it, and writes nothing.
    let (status, problem) = stack
        .call(&nurse, Method::POST, "/v1/bookings", booking(1, 9))
        .await;
    assert_eq!(
        (
            status,
            problem["type"]
                .as_str()
                .map(|t| t.ends_with("credential-required"))
        ),
        (403, Some(true)),
        "{problem}"
    );
    assert!(names_first_aid(&problem), "{problem}");
    let (status, problem) = stack
        .call(
            &nurse,
            Method::POST,
            "/v1/series",
            series("FREQ=DAILY;COUNT=2"),
        )
        .await;
    assert!(
        status == 403 && names_first_aid(&problem),
        "series: {problem}"
    );
    let walk_up = door
        .post("/v1/terminal/walk-up", &json!({ "badge": "0C11C0DE" }))
        .await
        .unwrap();
    assert!(
        walk_up.status == 403 && names_first_aid(&walk_up.body),
        "walk-up: {} {}",
        walk_up.status,
        walk_up.body
    );
    let (status, _, problem) = steward_e2e::send(import("all_or_nothing", 17)).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "rows[2].room_id",
        "{problem}"
    );
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("First aid"),
        "{problem}"
    );
    let (status, _, report) = steward_e2e::send(import("valid_only", 17)).await;
    assert_eq!(status, 200, "{report}");
    let statuses: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(
        statuses,
        [&json!("rejected"), &json!("imported")],
        "{report}"
    );
    assert_eq!(clinic_bookings().await, 0, "nothing written in the clinic");

    // A credential waiting for review does not count; once approved, every path books.
    let expires =
        Timestamp::from_second((Timestamp::now() + SignedDuration::from_hours(72)).as_second())
            .unwrap();
    let (status, created) = stack
        .call(
            &nurse,
            Method::POST,
            "/v1/credentials",
            json!({ "type_id": type_id, "content_type": "application/pdf", "size": PDF.len(),
                    "expires_at": expires.to_string() }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    put_file(&stack, &created, PDF).await;
    let path = format!("/v1/credentials/{}", created["id"].as_str().unwrap());
    let pending = verified_by_pipeline(&stack, &nurse, &path).await;
    assert_eq!(pending["status"], "pending_review", "{pending}");
    let (status, problem) = stack
        .call(&nurse, Method::POST, "/v1/bookings", booking(1, 9))
        .await;
    assert!(status == 403 && names_first_aid(&problem), "{problem}");
    let (status, approved) = stack
        .call(&owner, Method::POST, &format!("{path}/approve"), json!({}))
        .await;
    assert_eq!((status, &approved["status"]), (200, &json!("verified")));

    let (status, booked) = stack
        .call(&nurse, Method::POST, "/v1/bookings", booking(1, 9))
        .await;
    assert_eq!(status, 201, "{booked}");
    let (status, problem) = stack
        .call(
            &nurse,
            Method::POST,
            "/v1/series",
            series("FREQ=WEEKLY;COUNT=2"),
        )
        .await;
    assert!(
        status == 403 && names_first_aid(&problem),
        "the second week ends after the credential expires: {problem}"
    );
    let (status, daily) = stack
        .call(
            &nurse,
            Method::POST,
            "/v1/series",
            series("FREQ=DAILY;COUNT=2"),
        )
        .await;
    assert_eq!(status, 201, "{daily}");
    let (status, _, report) = steward_e2e::send(import("all_or_nothing", 18)).await;
    assert_eq!(status, 200, "{report}");
    let walked = door
        .post("/v1/terminal/walk-up", &json!({ "badge": "0C11C0DE" }))
        .await
        .unwrap();
    assert_eq!(walked.status, 201, "{}", walked.body);
    assert_eq!(
        clinic_bookings().await,
        5,
        "booked, two in the series, imported, walked up"
    );
    // With it, the clinic is no longer held back from her (the owner's booking at 09:00 there
    // aside, which is a booking's reason, not a credential's).
    let (_, found) = available(&nurse).await;
    assert!(
        !found.to_string().contains("\"credential\""),
        "no credential reason once verified: {found}"
    );

    // A booking ending after the expiry is refused, and so is a move past it.
    let (status, problem) = stack
        .call(&nurse, Method::POST, "/v1/bookings", booking(5, 9))
        .await;
    assert!(status == 403 && names_first_aid(&problem), "{problem}");
    let (status, _, problem) = steward_e2e::send(
        stack
            .as_person(
                &nurse,
                Method::PATCH,
                &format!("/v1/bookings/{}", booked["id"].as_str().unwrap()),
            )
            .header("if-match", format!("\"{}\"", booked["version"]))
            .json(&json!({ "start": at(5, "09:00"), "end": at(5, "09:45") })),
    )
    .await;
    assert!(
        status == 403 && names_first_aid(&problem),
        "move: {problem}"
    );
    let (_, unmoved) = stack
        .call(
            &nurse,
            Method::GET,
            &format!("/v1/bookings/{}", booked["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(unmoved["start"], booked["start"]);

    // Once the nightly sweep expires it, the room refuses again.
    let (status, _, ran) = steward_e2e::send(stack.post(&format!(
        "/_local/schedules/CredentialSweepsFunction/Expire?at={}",
        Timestamp::now() + SignedDuration::from_hours(73)
    )))
    .await;
    assert_eq!(
        (status, ran["output"]["done"]["expired"].clone()),
        (200, json!(1)),
        "{ran}"
    );
    let (status, problem) = stack
        .call(&nurse, Method::POST, "/v1/bookings", booking(2, 9))
        .await;
    assert!(status == 403 && names_first_aid(&problem), "{problem}");
    assert_eq!(clinic_bookings().await, 5);
}
