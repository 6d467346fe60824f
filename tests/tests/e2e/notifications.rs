//! Notifications through the local stack (SPEC §C): booking changes through the gateway reach
//! the notifier over SQS; what SES accepted is read back from the emulator's record of sent
//! mail and parsed as MIME by `mailparse` (the product writes it with `mail-builder`), the
//! attached .ics by `ical`; each member's in-app list through the gateway.

use std::io::BufReader;
use std::time::{Duration, Instant};

use http::Method;
use mailparse::MailHeaderMap;
use serde_json::{Value, json};
use steward_e2e::{NewBooking, NewRoom, Person, TestStack, days_ahead, send};
use steward_store::Query;

/// `who`'s in-app notifications, newest first.
async fn notifications(stack: &TestStack, who: &Person) -> Value {
    let (status, _, page) =
        send(stack.as_person(who, Method::GET, "/v1/me/notifications?limit=100")).await;
    assert_eq!(status, 200, "{page}");
    page
}

/// Waits until `who` has `count` notifications of `kind` (the notifier works off a queue),
/// then answers them.
async fn wait_for(stack: &TestStack, who: &Person, kind: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = notifications(stack, who).await;
        let found: Vec<Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == kind)
            .cloned()
            .collect();
        if found.len() >= count && found.iter().all(|n| n["emailed"] == true) {
            assert_eq!(found.len(), count, "{kind} told too often: {page}");
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{} never got {count} {kind}: {page}",
            who.email
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The emails to `who` whose subject begins with `prefix`.
async fn mail(stack: &TestStack, who: &Person, prefix: &str) -> Vec<Value> {
    stack
        .sent_mail(&who.email)
        .await
        .into_iter()
        .filter(|m| {
            let subject = match m["subject"].as_str() {
                Some(subject) => subject.to_owned(),
                None => parsed(m)
                    .headers
                    .get_first_value("Subject")
                    .unwrap_or_default(),
            };
            subject.starts_with(prefix)
        })
        .collect()
}

fn parsed(message: &Value) -> mailparse::ParsedMail<'_> {
    let raw = message["raw"].as_str().expect("sent raw, as MIME");
    mailparse::parse_mail(raw.as_bytes()).expect("valid MIME")
}

/// Every leaf part of a MIME message: its content type and decoded body.
fn leaves(mail: &mailparse::ParsedMail<'_>) -> Vec<(String, String)> {
    if mail.subparts.is_empty() {
        return vec![(
            mail.ctype.mimetype.clone(),
            mail.get_body().expect("a decodable body"),
        )];
    }
    mail.subparts.iter().flat_map(leaves).collect()
}

/// Waits until every notice has left the outbox (the notifier deletes its entry last).
async fn outbox_drained(stack: &TestStack) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while outbox(stack).await > 0 {
        assert!(Instant::now() < deadline, "notices stayed in the outbox");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The outbox entries left (each is a notice not yet delivered).
async fn outbox(stack: &TestStack) -> usize {
    let mut left = 0;
    for shard in 0..16 {
        let pk = format!("OUTBOX#{shard:02}");
        let (items, _) = stack
            .table
            .query_up_to::<Value>(Query::partition(&pk), 1000)
            .await
            .unwrap();
        left += items.len();
    }
    left
}

/// A quarterly review in `room`, `day` days ahead at `hour` (the room's wall clock), an hour.
fn review(room: &str, day: i64, hour: u32) -> NewBooking {
    let day = days_ahead(day);
    let (start, end) = (
        format!("{day}T{hour:02}:00"),
        format!("{day}T{:02}:00", hour + 1),
    );
    NewBooking::of(room, start, end).title("Quarterly review")
}

#[tokio::test]
async fn a_bookings_life_is_told_to_its_organiser_by_email_and_in_the_app() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Told Rooms", "owner@told.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Orchid").rules(json!({})))
        .await;
    let booking = stack.book(&owner, review(&room, 12, 9)).await;
    let id = booking["id"].as_str().unwrap();

    // Confirmed: in the app, and by email with text, HTML and the booking as an .ics.
    let confirmed = wait_for(&stack, &owner, "confirmed", 1).await;
    assert_eq!(confirmed[0]["booking_ids"], json!([id]));
    assert_eq!(confirmed[0]["read"], false);
    let emails = mail(&stack, &owner, "Confirmed: Quarterly review").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email = parsed(&emails[0]);
    assert!(
        email
            .headers
            .get_first_value("To")
            .unwrap()
            .contains("owner@told.test")
    );
    // moto lists the raw message's To header besides the envelope's recipient.
    let destinations = emails[0]["destinations"].as_array().unwrap();
    assert!(
        destinations.iter().all(|d| d == "owner@told.test"),
        "{destinations:?}"
    );
    let parts = leaves(&email);
    let kinds: Vec<&str> = parts.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["text/plain", "text/html", "text/calendar"],
        "{kinds:?}"
    );
    // The room's wall clock: London in summer or winter, 09:00 either way.
    assert!(parts[0].1.contains(", 09:00–10:00 "), "{}", parts[0].1);
    assert!(parts[1].1.contains("<li>"), "{}", parts[1].1);
    let calendar = ical::IcalParser::new(BufReader::new(parts[2].1.as_bytes()))
        .next()
        .expect("one calendar")
        .expect("the .ics parses");
    assert_eq!(calendar.events.len(), 1);
    assert_eq!(calendar.timezones.len(), 1, "with its VTIMEZONE");
    let uid = calendar.events[0]
        .properties
        .iter()
        .find(|p| p.name == "UID")
        .and_then(|p| p.value.clone());
    assert_eq!(uid, Some(format!("{id}@steward")));

    // Moved: changed, with the new time in an .ics; renamed only: nothing.
    let day = days_ahead(12);
    let (status, _, moved) = send(
        stack
            .as_person(&owner, Method::PATCH, &format!("/v1/bookings/{id}"))
            .header("if-match", "\"1\"")
            .json(&json!({ "start": format!("{day}T11:00"), "end": format!("{day}T12:00") })),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (status, _, renamed) = send(
        stack
            .as_person(&owner, Method::PATCH, &format!("/v1/bookings/{id}"))
            .header("if-match", "\"2\"")
            .json(&json!({ "title": "Quarterly review (final)" })),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    wait_for(&stack, &owner, "changed", 1).await;
    let changed = mail(&stack, &owner, "Changed: Quarterly review").await;
    assert_eq!(changed.len(), 1);
    assert!(
        parts_of(&changed[0]).contains(&"text/calendar".to_owned()),
        "a change carries the new time"
    );

    // Cancelled, with the reason; no calendar attached.
    act(
        &stack,
        &owner,
        &format!("/v1/bookings/{id}/cancel"),
        3,
        json!({ "reason": "Board moved online" }),
    )
    .await;
    wait_for(&stack, &owner, "cancelled", 1).await;
    let cancelled = mail(&stack, &owner, "Cancelled: Quarterly review (final)").await;
    assert_eq!(cancelled.len(), 1);
    let body = cancelled[0]["body"].as_str().unwrap_or_default().to_owned();
    assert!(body.contains("Reason: Board moved online"), "{cancelled:?}");

    // Each change told once, newest first; every notice delivered, so the outbox is empty.
    let page = notifications(&stack, &owner).await;
    let kinds: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cancelled", "changed", "confirmed"]);
    let notices = stack
        .sent_mail(&owner.email)
        .await
        .into_iter()
        .filter(|m| m["subject"] != steward_e2e::VERIFY_SUBJECT)
        .count();
    assert_eq!(notices, 3, "one email a notice, besides the sign-up's link");
    outbox_drained(&stack).await;

    // Read up to now: every one is read; an earlier mark does not move it back.
    let (status, read) = stack
        .call(&owner, Method::POST, "/v1/me/notifications/read", json!({}))
        .await;
    assert_eq!(status, 200, "{read}");
    let (status, _) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/me/notifications/read",
            json!({ "up_to": "2020-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(status, 200);
    let page = notifications(&stack, &owner).await;
    assert_eq!(page["read_up_to"], read["read_up_to"]);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["read"] == true)
    );
    let (status, problem) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/me/notifications/read",
            json!({ "up_to": "soon" }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "up_to", "{problem}");
}

/// `POST path` on a booking at `version` (`If-Match`), as `who`.
async fn act(stack: &TestStack, who: &Person, path: &str, version: u64, body: Value) -> Value {
    let (status, _, answer) = send(
        stack
            .as_person(who, Method::POST, path)
            .header("if-match", format!("\"{version}\""))
            .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

fn parts_of(message: &Value) -> Vec<String> {
    leaves(&parsed(message))
        .into_iter()
        .map(|(kind, _)| kind)
        .collect()
}

#[tokio::test]
async fn approvers_hear_of_requests_and_organisers_of_decisions() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Asked Rooms", "owner@asked.test").await;
    let manager = stack.join(&owner, "manager@asked.test", &["manager"]).await;
    let member = stack.join(&owner, "member@asked.test", &["member"]).await;
    let colleague = stack
        .join(&owner, "colleague@asked.test", &["member"])
        .await;
    let room = stack
        .create_room(
            &owner,
            NewRoom::named("Orchid").rules(json!({ "approval_required": true })),
        )
        .await;

    let first = stack.book(&member, review(&room, 14, 9)).await;
    let second = stack.book(&member, review(&room, 14, 11)).await;
    assert_eq!(first["status"], "pending");

    // Everyone who may approve is asked, each once per request; the member and another member
    // (who may not approve) are not.
    for approver in [&owner, &manager] {
        wait_for(&stack, approver, "approval_needed", 2).await;
        assert_eq!(
            mail(&stack, approver, "Approval needed: Quarterly review")
                .await
                .len(),
            2
        );
    }
    for bystander in [&member, &colleague] {
        let notices: Vec<Value> = stack
            .sent_mail(&bystander.email)
            .await
            .into_iter()
            .filter(|m| {
                !m["subject"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("invited you")
            })
            .collect();
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(notifications(&stack, bystander).await["items"], json!([]));
    }

    // Approved: the organiser is told, with the .ics; rejected: told, with the reason.
    act(
        &stack,
        &manager,
        &format!("/v1/bookings/{}/approve", first["id"].as_str().unwrap()),
        1,
        json!({}),
    )
    .await;
    act(
        &stack,
        &manager,
        &format!("/v1/bookings/{}/reject", second["id"].as_str().unwrap()),
        1,
        json!({ "reason": "The room is for the board" }),
    )
    .await;
    wait_for(&stack, &member, "approved", 1).await;
    wait_for(&stack, &member, "rejected", 1).await;
    let approved = mail(&stack, &member, "Approved: Quarterly review").await;
    assert_eq!(approved.len(), 1);
    assert!(parts_of(&approved[0]).contains(&"text/calendar".to_owned()));
    let declined = mail(&stack, &member, "Declined: Quarterly review").await;
    assert_eq!(declined.len(), 1);
    assert!(
        declined[0]["body"]
            .as_str()
            .unwrap()
            .contains("Reason: The room is for the board")
    );
    // The approver is not told of their own decision.
    assert!(mail(&stack, &manager, "Approved").await.is_empty());
}

#[tokio::test]
async fn reminders_go_once_per_booking_whatever_the_schedule_does() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Reminded Rooms", "owner@reminded.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Orchid").rules(json!({})))
        .await;
    let booking = stack.book(&owner, review(&room, 9, 10)).await;
    let cancelled = stack.book(&owner, review(&room, 9, 12)).await;
    act(
        &stack,
        &owner,
        &format!("/v1/bookings/{}/cancel", cancelled["id"].as_str().unwrap()),
        1,
        json!({}),
    )
    .await;
    let start: jiff::Timestamp = booking["start"].as_str().unwrap().parse().unwrap();
    let cancelled_start: jiff::Timestamp = cancelled["start"].as_str().unwrap().parse().unwrap();

    // The firing whose window (30 to 35 minutes ahead) holds the start reminds; the same
    // firing delivered again, and the next one, do not remind twice; a cancelled booking is
    // not reminded.
    let fire = |at: jiff::Timestamp| {
        stack.post(&format!(
            "/_local/schedules/RemindersFunction/Remind?at={at}"
        ))
    };
    let window = start - jiff::SignedDuration::from_mins(32);
    for at in [
        window,
        window,
        window + jiff::SignedDuration::from_mins(5),
        start - jiff::SignedDuration::from_mins(12 * 60 + 32),
        cancelled_start - jiff::SignedDuration::from_mins(32),
    ] {
        let (status, _, ran) = send(fire(at)).await;
        assert_eq!(status, 200, "{ran}");
    }
    let reminders = wait_for(&stack, &owner, "reminder", 1).await;
    assert_eq!(reminders[0]["booking_ids"], json!([booking["id"]]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(wait_for(&stack, &owner, "reminder", 1).await.len(), 1);
    let emails = mail(&stack, &owner, "Starting soon: Quarterly review").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
}

#[tokio::test]
async fn a_notice_left_in_the_outbox_is_sent_again_by_the_schedule() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Crashed Rooms", "owner@crashed.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Orchid").rules(json!({})))
        .await;
    let booking = stack.book(&owner, review(&room, 10, 9)).await;
    wait_for(&stack, &owner, "confirmed", 1).await;
    outbox_drained(&stack).await;

    // As if an instance had committed a cancellation and died before sending its notice: the
    // outbox entry is there, the queue never saw it.
    let id = booking["id"].as_str().unwrap();
    let store = steward_store::bookings::BookingStore::new(stack.table.clone());
    let mut record = store.get(&owner.tenant_id, id).await.unwrap().unwrap();
    record.status = steward_domain::booking::status::BookingStatus::Cancelled;
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    let notice = json!({
        "version": "1",
        "notice_id": "nt_stranded", "tenant_id": owner.tenant_id, "kind": "cancelled",
        "organiser": owner.user_id, "actor": owner.user_id, "at": at.to_string(),
        "room_id": room, "bookings": [record],
    });
    let shard = steward_domain::licensing::sweep::shard_of("nt_stranded");
    stack
        .table
        .put(&json!({
            "pk": format!("OUTBOX#{shard:02}"), "sk": format!("{at}#nt_stranded"),
            "notice": notice, "expires_at": at.as_second() + 86_400,
        }))
        .await
        .unwrap();
    assert_eq!(outbox(&stack).await, 1);

    let (status, _, ran) = send(stack.post(&format!(
        "/_local/schedules/RemindersFunction/Remind?at={}",
        jiff::Timestamp::now()
    )))
    .await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["output"]["resent"], 1, "{ran}");
    let told = wait_for(&stack, &owner, "cancelled", 1).await;
    assert_eq!(told[0]["id"], "nt_stranded");
    outbox_drained(&stack).await;
    assert_eq!(
        mail(&stack, &owner, "Cancelled: Quarterly review")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_notice_that_cannot_be_delivered_leaves_the_outbox_for_the_dead_letter_queue() {
    let stack = TestStack::start_with(|options| {
        options.retry_delay = Some(Duration::from_millis(100));
        options
            .parameter_overrides
            .insert("NotificationsMaxReceiveCount".into(), "2".into());
    })
    .await;
    let owner = stack.sign_up("Broken Rooms", "owner@broken.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Orchid").rules(json!({})))
        .await;
    // A member whose item cannot be read: every delivery to them fails the same way.
    stack
        .table
        .put(&json!({ "pk": format!("T#{}", owner.tenant_id), "sk": "USER#usr_broken" }))
        .await
        .unwrap();
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    let shard = steward_domain::licensing::sweep::shard_of("nt_doomed");
    stack
        .table
        .put(&json!({
            "pk": format!("OUTBOX#{shard:02}"), "sk": format!("{at}#nt_doomed"),
            "notice": {
                "version": "1",
                "notice_id": "nt_doomed", "tenant_id": owner.tenant_id, "kind": "confirmed",
                "organiser": "usr_broken", "actor": "usr_broken", "at": at.to_string(),
                "room_id": room, "bookings": [],
            },
            "expires_at": at.as_second() + 86_400,
        }))
        .await
        .unwrap();

    let remind = || {
        stack.post(&format!(
            "/_local/schedules/RemindersFunction/Remind?at={}",
            jiff::Timestamp::now()
        ))
    };
    let (status, _, ran) = send(remind()).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["output"]["resent"], 1, "{ran}");

    // Two failed deliveries: on the last, the notice leaves the outbox; SQS dead-letters it.
    outbox_drained(&stack).await;
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let dead = stack
        .stack
        .queue_url("NotificationsDeadLetterQueue")
        .expect("the dead-letter queue");
    let deadline = Instant::now() + Duration::from_secs(15);
    let letters = loop {
        let received = sqs
            .receive_message()
            .queue_url(&dead)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if !received.is_empty() {
            break received;
        }
        assert!(
            Instant::now() < deadline,
            "nothing reached the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(letters.len(), 1);
    assert!(letters[0].body().unwrap().contains("nt_doomed"));
    // The schedule does not send it round again.
    let (_, _, ran) = send(remind()).await;
    assert_eq!(ran["output"]["resent"], 0, "{ran}");
}
