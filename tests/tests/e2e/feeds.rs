//! Calendar feeds through the gateway (SPEC §C): what a calendar client reads is parsed by the
//! `ical` crate, an iCalendar parser the product does not use (it writes with `ics`), and
//! every event's local start is turned back into an instant with the feed's own VTIMEZONE, to
//! be compared with the booking's UTC start from the API.

use std::collections::BTreeMap;
use std::io::BufReader;

use http::Method;
use ical::parser::ical::component::{IcalCalendar, IcalEvent, IcalTimeZone};
use ical::property::Property;
use jiff::Timestamp;
use jiff::civil::DateTime;
use serde_json::{Value, json};
use steward_e2e::{NewBooking, TestStack, days_ahead, next_spring_forward, send};

const ZONE: &str = "America/New_York";

/// The feed at `path`, as a calendar client fetches it: no credentials but the URL.
async fn fetch(stack: &TestStack, path: &str) -> (u16, String, String) {
    let response = reqwest::get(stack.url(path)).await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

fn parse(text: &str) -> IcalCalendar {
    let mut calendars = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let calendar = calendars
        .next()
        .expect("one calendar")
        .unwrap_or_else(|e| panic!("the feed parses: {e}\n{text}"));
    assert!(calendars.next().is_none(), "exactly one VCALENDAR");
    calendar
}

fn value<'a>(properties: &'a [Property], name: &str) -> Option<&'a str> {
    properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

fn param<'a>(property: &'a Property, name: &str) -> Option<&'a str> {
    property
        .params
        .as_ref()?
        .iter()
        .find(|(key, _)| key == name)
        .and_then(|(_, values)| values.first())
        .map(String::as_str)
}

fn events_by_uid(calendar: &IcalCalendar) -> BTreeMap<String, &IcalEvent> {
    calendar
        .events
        .iter()
        .map(|event| (value(&event.properties, "UID").unwrap().to_owned(), event))
        .collect()
}

/// A TEXT value as RFC 5545 3.3.11 escapes it, read back.
fn unescape(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => plain.push('\n'),
            Some(other) => plain.push(other),
            None => plain.push('\\'),
        }
    }
    plain
}

fn civil(text: &str) -> DateTime {
    DateTime::strptime("%Y%m%dT%H%M%S", text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn seconds(offset: &str) -> i64 {
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let hours: i64 = offset[1..3].parse().unwrap();
    let minutes: i64 = offset[3..5].parse().unwrap();
    sign * (hours * 3600 + minutes * 60)
}

/// A local time in `zone` as the VTIMEZONE itself defines it: the offset of the latest
/// observance whose onset (local, in the offset before it) is not after the time.
fn resolve(zone: &IcalTimeZone, local: DateTime) -> Timestamp {
    let mut latest: Option<(Timestamp, i64)> = None;
    for observance in &zone.transitions {
        let props = &observance.properties;
        let onset = civil(value(props, "DTSTART").expect("an observance starts"));
        let before = seconds(value(props, "TZOFFSETFROM").expect("TZOFFSETFROM"));
        let after = seconds(value(props, "TZOFFSETTO").expect("TZOFFSETTO"));
        let at = onset
            .to_zoned(jiff::tz::TimeZone::fixed(
                jiff::tz::Offset::from_seconds(before as i32).unwrap(),
            ))
            .unwrap()
            .timestamp();
        let local_at = local
            .to_zoned(jiff::tz::TimeZone::fixed(
                jiff::tz::Offset::from_seconds(after as i32).unwrap(),
            ))
            .unwrap()
            .timestamp();
        if at <= local_at && latest.is_none_or(|(seen, _)| seen < at) {
            latest = Some((at, after));
        }
    }
    let (_, offset) = latest.expect("an observance in force");
    local
        .to_zoned(jiff::tz::TimeZone::fixed(
            jiff::tz::Offset::from_seconds(offset as i32).unwrap(),
        ))
        .unwrap()
        .timestamp()
}

/// Checks the event against the booking: UID, times resolved through the feed's own zone,
/// summary; answers its SEQUENCE and STATUS.
fn check(calendar: &IcalCalendar, booking: &Value) -> (u64, String) {
    let uid = format!("{}@steward", booking["id"].as_str().unwrap());
    let events = events_by_uid(calendar);
    let event = events
        .get(&uid)
        .unwrap_or_else(|| panic!("{uid} in the feed"));
    let props = &event.properties;
    for (name, field) in [("DTSTART", "start"), ("DTEND", "end")] {
        let property = props.iter().find(|p| p.name == name).unwrap();
        let tzid = param(property, "TZID").expect("times on the room's wall clock");
        assert_eq!(tzid, ZONE);
        let zone = calendar
            .timezones
            .iter()
            .find(|zone| value(&zone.properties, "TZID") == Some(tzid))
            .unwrap_or_else(|| panic!("a VTIMEZONE for {tzid}"));
        let instant = resolve(zone, civil(property.value.as_deref().unwrap()));
        let expected: Timestamp = booking[field].as_str().unwrap().parse().unwrap();
        assert_eq!(
            instant, expected,
            "{uid} {name} through the feed's VTIMEZONE"
        );
    }
    assert_eq!(
        value(props, "SUMMARY").map(unescape).as_deref(),
        booking["title"].as_str()
    );
    let sequence = value(props, "SEQUENCE").unwrap().parse().unwrap();
    (sequence, value(props, "STATUS").unwrap().to_owned())
}

#[tokio::test]
async fn feeds_are_valid_icalendar_with_time_zones_stable_uids_sequences_and_cancellations() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Feed Rooms", "owner@feed.test").await;
    let member = stack.join(&owner, "member@feed.test", &["member"]).await;
    let (status, room) = stack.call(
        &owner,
        Method::POST,
        "/v1/rooms",
        json!({ "name": "Atlas; 3rd floor, east", "time_zone": ZONE, "capacity": 8, "building": "HQ" }),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["id"].as_str().unwrap();

    // Either side of New York's next spring-forward, and one soon.
    let spring = next_spring_forward(ZONE);
    let before = spring.yesterday().unwrap();
    let after = spring.checked_add(jiff::Span::new().days(7)).unwrap();
    let soon = days_ahead(5);
    let at = |day: jiff::civil::Date, time: &str| format!("{day}T{time}");
    let winter = stack
        .book(
            &member,
            NewBooking::of(room_id, at(before, "09:00"), at(before, "10:00"))
                .title("Winter, stand-up"),
        )
        .await;
    let summer = stack
        .book(
            &member,
            NewBooking::of(room_id, at(after, "09:00"), at(after, "10:00"))
                .title("Summer stand-up"),
        )
        .await;
    let soon_one = stack
        .book(
            &member,
            NewBooking::of(room_id, at(soon, "15:00"), at(soon, "16:00")).title("Soon\\now"),
        )
        .await;
    let owners = stack
        .book(
            &owner,
            NewBooking::of(room_id, at(soon, "10:00"), at(soon, "11:00")).title("Owner's"),
        )
        .await;

    // The member's own feed: a token shown once, a URL that needs no sign-in.
    let (status, feed) = stack
        .call(&member, Method::POST, "/v1/feeds", json!({}))
        .await;
    assert_eq!(status, 201, "{feed}");
    assert_eq!(feed["kind"], "member");
    let path = feed["path"].as_str().unwrap().to_owned();
    assert!(feed["url"].as_str().unwrap().ends_with(&path), "{feed}");
    let (status, kind, text) = fetch(&stack, &path).await;
    assert_eq!(status, 200, "{text}");
    assert!(kind.starts_with("text/calendar"), "{kind}");
    assert!(
        text.lines().all(|line| line.len() <= 75),
        "folded at 75 octets"
    );
    let calendar = parse(&text);
    assert_eq!(value(&calendar.properties, "VERSION"), Some("2.0"));
    assert!(value(&calendar.properties, "PRODID").is_some());
    assert_eq!(calendar.timezones.len(), 1, "one VTIMEZONE per zone used");
    assert_eq!(calendar.events.len(), 3, "the member's bookings only");
    for booking in [&winter, &summer, &soon_one] {
        assert_eq!(check(&calendar, booking), (0, "CONFIRMED".to_owned()));
    }
    assert!(
        !events_by_uid(&calendar)
            .contains_key(&format!("{}@steward", owners["id"].as_str().unwrap()))
    );

    // A move keeps the UID and raises SEQUENCE; a cancellation is marked, not dropped.
    let summer_path = format!("/v1/bookings/{}", summer["id"].as_str().unwrap());
    let (status, _, moved) = send(
        stack
            .as_person(&member, Method::PATCH, &summer_path)
            .header("if-match", format!("\"{}\"", summer["version"]))
            .json(&json!({ "start": at(after, "11:00"), "end": at(after, "12:30") })),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let cancel = format!("/v1/bookings/{}/cancel", soon_one["id"].as_str().unwrap());
    let (status, _, cancelled) = send(
        stack
            .as_person(&member, Method::POST, &cancel)
            .header("if-match", format!("\"{}\"", soon_one["version"]))
            .json(&json!({ "reason": "no longer needed" })),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    let again = parse(&fetch(&stack, &path).await.2);
    assert_eq!(check(&again, &winter), (0, "CONFIRMED".to_owned()));
    assert_eq!(check(&again, &moved), (1, "CONFIRMED".to_owned()));
    assert_eq!(check(&again, &cancelled), (1, "CANCELLED".to_owned()));

    // A room's feed shows everyone's bookings in the room.
    let (status, room_feed) = stack
        .call(
            &member,
            Method::POST,
            "/v1/feeds",
            json!({ "room_id": room_id }),
        )
        .await;
    assert_eq!(status, 201, "{room_feed}");
    let room_calendar = parse(&fetch(&stack, room_feed["path"].as_str().unwrap()).await.2);
    assert_eq!(room_calendar.events.len(), 4);
    assert_eq!(check(&room_calendar, &owners), (0, "CONFIRMED".to_owned()));
    assert!(
        value(&room_calendar.properties, "X-WR-CALNAME")
            .unwrap()
            .starts_with("Atlas\\; 3rd floor\\, east")
    );

    // The feeds listed hold no token; revoking one closes its URL at once.
    let (status, listed) = stack
        .call(&member, Method::GET, "/v1/feeds", json!(null))
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains(feed["token"].as_str().unwrap()));
    let revoke = format!("/v1/feeds/{}", feed["id"].as_str().unwrap());
    assert_eq!(
        stack
            .call(&owner, Method::DELETE, &revoke, json!(null))
            .await
            .0,
        404,
        "not the owner's feed"
    );
    assert_eq!(
        stack
            .call(&member, Method::DELETE, &revoke, json!(null))
            .await
            .0,
        204
    );
    assert_eq!(fetch(&stack, &path).await.0, 404, "revoked");
    assert_eq!(
        stack
            .call(&member, Method::DELETE, &revoke, json!(null))
            .await
            .0,
        404,
        "once"
    );
    let (_, listed) = stack
        .call(&member, Method::GET, "/v1/feeds", json!(null))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // A guessed or altered token is the same 404 as an unknown one.
    let room_path = room_feed["path"].as_str().unwrap();
    let mut altered = room_path.to_owned();
    altered.push('x');
    let other_tenant = room_path.replace(&owner.tenant_id, "tnt_someoneelse");
    for probe in [
        altered.as_str(),
        other_tenant.as_str(),
        "/v1/ical/not-a-token",
        "/v1/ical/a.b.c",
    ] {
        let (status, kind, body) = fetch(&stack, probe).await;
        assert_eq!(status, 404, "{probe}: {body}");
        assert!(kind.starts_with("application/problem+json"), "{kind}");
    }

    // Bad input changes nothing.
    let (status, problem) = stack
        .call(
            &member,
            Method::POST,
            "/v1/feeds",
            json!({ "room_id": "rm_nope" }),
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    let (status, problem) = stack
        .call(
            &member,
            Method::POST,
            "/v1/feeds",
            json!({ "rooms": room_id }),
        )
        .await;
    assert!(status == 400 || status == 422, "{status} {problem}");
    let (_, listed) = stack
        .call(&member, Method::GET, "/v1/feeds", json!(null))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // A retried create with its Idempotency-Key makes one feed.
    let mut retried = Vec::new();
    for _ in 0..2 {
        let request = stack
            .as_person(&owner, Method::POST, "/v1/feeds")
            .header("idempotency-key", "feed-once")
            .json(&json!({}));
        retried.push(send(request).await.2);
    }
    assert_eq!(retried[0]["id"], retried[1]["id"], "{retried:?}");
    let (_, owners_feeds) = stack
        .call(&owner, Method::GET, "/v1/feeds", json!(null))
        .await;
    assert_eq!(owners_feeds["items"].as_array().unwrap().len(), 1);

    // A suspended member's feeds close with them.
    let suspend = format!("/v1/members/{}/suspend", member.user_id);
    assert_eq!(
        stack
            .call(&owner, Method::POST, &suspend, json!(null))
            .await
            .0,
        200
    );
    assert_eq!(fetch(&stack, room_path).await.0, 404);

    // Each create and revoke is audited.
    let actions: Vec<String> = stack
        .audit_entries(&owner)
        .await
        .iter()
        .filter_map(|e| {
            e["action"]
                .as_str()
                .filter(|a| a.starts_with("feed."))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "feed.create").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(actions.iter().filter(|a| *a == "feed.revoke").count(), 1);
}
