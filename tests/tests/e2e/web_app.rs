//! The web app (web/app, served by the gateway at /app/) in headless Chromium against the local
//! stack: each member journey of issue 28 is a script of web/tests/app, run by
//! `steward_e2e::browser`, and what it did is checked here through the API.

use http::Method;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};
use steward_e2e::browser::run_browser_test;
use steward_e2e::{NewBooking, NewRoom, PASSWORD, Person, TestStack};

/// Tomorrow (UTC): the day the journeys book on, clear of any rule about notice.
fn tomorrow() -> Date {
    Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date() + 1.day()
}

fn instant(day: Date, time: &str) -> String {
    format!("{day}T{time}:00Z")
}

fn person(person: &Person) -> Value {
    json!({ "email": person.email, "password": PASSWORD })
}

/// Runs `script` with `scenario`; panics naming the step that failed. Its screenshots are
/// checked, and copied into WEB_SCREENSHOTS when that is set (`make screenshots`).
async fn journey(script: &str, scenario: Value) -> Vec<String> {
    journey_answering(script, scenario, async |what| {
        panic!("{script} asked for {what}")
    })
    .await
}

/// `journey`, with `answer` for what the script asks of the test (a code, an emailed link).
async fn journey_answering(
    script: &str,
    scenario: Value,
    answer: impl AsyncFnMut(&str) -> String,
) -> Vec<String> {
    // A folder of this run's and script's own: the journeys run side by side.
    let shots = std::env::temp_dir().join(format!(
        "steward-web-{}-{}",
        std::process::id(),
        script.replace(['/', '.'], "-")
    ));
    let env = [
        ("SCENARIO", scenario.to_string()),
        ("SCREENSHOTS", shots.display().to_string()),
    ];
    let steps = run_browser_test(script, &env, answer)
        .await
        .unwrap_or_else(|failed| panic!("{script}: {failed}"))
        .steps;
    for name in steps
        .iter()
        .filter_map(|step| step.strip_prefix("screenshot-"))
    {
        let shot = shots.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
            "{script}: the screenshot {name}"
        );
        if let Ok(keep) = std::env::var("WEB_SCREENSHOTS") {
            std::fs::create_dir_all(&keep).expect("the screenshots' folder");
            std::fs::copy(
                &shot,
                std::path::Path::new(&keep).join(format!("{name}.png")),
            )
            .expect("screenshot kept");
        }
    }
    let _ = std::fs::remove_dir_all(&shots);
    steps
}

async fn bookings_of(stack: &TestStack, person: &Person, room: &str, day: Date) -> Vec<Value> {
    let path = format!(
        "/v1/bookings?room_id={room}&from={}&to={}",
        instant(day, "00:00"),
        instant(day + 1.day(), "00:00")
    );
    let (status, page) = stack.call(person, Method::GET, &path, Value::Null).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_member_finds_a_room_books_it_once_with_a_double_click_and_cancels_it() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "member@web.test", &["member"]).await;
    let room = |name: &str| NewRoom::named(name).capacity(8);
    let atlas = stack.create_room(&owner, room("Atlas")).await;
    let board = stack.create_room(&owner, room("Board")).await;
    let cellar = stack.create_room(&owner, room("Cellar")).await;
    let den = room("Den").rules(json!({ "max_duration_minutes": 30 }));
    stack.create_room(&owner, den).await;
    let day = tomorrow();
    let held = NewBooking::of(&board, instant(day, "10:00"), instant(day, "11:00"));
    stack.book(&owner, held.title("Board meeting")).await;
    let (status, closed) = stack
        .call(
            &owner,
            Method::POST,
            &format!("/v1/rooms/{cellar}/closures"),
            json!({ "start": format!("{day}T00:00"), "end": format!("{}T00:00", day + 1.day()),
                    "reason": "Flooded" }),
        )
        .await;
    assert_eq!(status, 201, "{closed}");

    let steps = journey(
        "app/member-books.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "member": person(&member),
            "slot": { "date": day.to_string(), "start": "10:00", "minutes": 60, "capacity": 4,
                      "title": "Design review", "shown": "10:00" },
            "free": "Atlas",
            "reasons": {
                "Board": "Booked from 10:00 to 11:00.",
                "Cellar": "Closed: Flooded.",
                "Den": "The room's rules: longer than the room's maximum of 30 minutes.",
            },
        }),
    )
    .await;
    // The PIN the page showed, checked below against the booking's own.
    let (pin_step, shown_pin) = steps
        .iter()
        .enumerate()
        .find_map(|(i, step)| Some((i, step.strip_prefix("pin ")?.to_owned())))
        .expect("a PIN shown");
    let mut steps = steps;
    steps[pin_step] = "pin".to_owned();
    assert_eq!(
        steps,
        [
            "signed-out-sent-to-sign-in",
            "accessible-sign-in-refused",
            "screenshot-sign-in",
            "wrong-password-told",
            "signed-in member@web.test",
            "resumed-after-reload",
            "accessible-find-results",
            "free-first-others-with-reasons",
            "screenshot-find-a-room",
            "booked",
            "accessible-booked",
            "listed",
            "pin",
            "accessible-my-bookings",
            "screenshot-my-bookings",
            "cancelled",
            "signed-out",
        ]
    );

    // The double click made one booking, which the app then cancelled.
    let made = bookings_of(&stack, &member, &atlas, day).await;
    assert_eq!(made.len(), 1, "one booking however often clicked: {made:?}");
    assert_eq!(made[0]["title"], "Design review");
    assert_eq!(made[0]["organiser"], member.user_id.as_str());
    assert_eq!(made[0]["status"], "cancelled");
    assert_eq!(made[0]["start"], instant(day, "10:00"));
    let (_, booking) = stack
        .call(
            &member,
            Method::GET,
            &format!("/v1/bookings/{}", made[0]["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(booking["check_in_pin"], shown_pin.as_str());
}

#[tokio::test]
async fn two_members_booking_one_slot_in_two_browsers_one_has_it_the_other_sees_who() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let ann = stack
        .join_as(&owner, "ann@web.test", "Ann Archer", &["member"])
        .await;
    let ben = stack
        .join_as(&owner, "ben@web.test", "Ben Baker", &["member"])
        .await;
    let atlas = stack.create_room(&owner, NewRoom::named("Atlas")).await;
    let day = tomorrow();
    let named = |who: &Person, name: &str| json!({ "email": who.email, "password": PASSWORD, "name": name });
    let steps = journey(
        "app/same-slot.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "first": named(&ann, "Ann Archer"),
            "second": named(&ben, "Ben Baker"),
            "slot": { "date": day.to_string(), "start": "14:00", "end": "15:00", "minutes": 60 },
            "room": "Atlas",
        }),
    )
    .await;
    let winner = steps
        .iter()
        .find_map(|step| step.strip_prefix("winner "))
        .expect("a winner")
        .to_owned();
    assert_eq!(
        steps,
        [
            "signed-in ann@web.test".to_owned(),
            "signed-in ben@web.test".to_owned(),
            "both-see-it-free".to_owned(),
            "one-booked-the-other-told-who".to_owned(),
            format!("winner {winner}"),
            "accessible-slot-taken".to_owned(),
            "screenshot-slot-taken".to_owned(),
        ]
    );
    let made = bookings_of(&stack, &owner, &atlas, day).await;
    assert_eq!(made.len(), 1, "{made:?}");
    let (organiser, other, name) = if winner == ann.email {
        (&ann, &ben, "Ann Archer")
    } else {
        (&ben, &ann, "Ben Baker")
    };
    assert_eq!(made[0]["organiser"], organiser.user_id.as_str());
    // The API's refusal names what is in the way: the booking, its times, who holds it.
    let (status, refused) = stack
        .try_book(
            other,
            NewBooking::of(&atlas, instant(day, "14:30"), instant(day, "15:30")),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["obstacles"],
        json!([{ "kind": "booking", "booking_id": made[0]["id"], "held_by": name,
                 "start": instant(day, "14:00"), "end": instant(day, "15:00") }])
    );
}

#[tokio::test]
async fn a_room_s_day_across_the_clocks_going_forward_is_drawn_on_its_own_clock() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "member@web.test", &["member"]).await;
    let lumen = stack
        .create_room(&owner, NewRoom::named("Lumen").zone("Europe/Paris"))
        .await;
    // Paris goes from 02:00 to 03:00 on the last Sunday of March: 01:30 to 03:30 on its clock
    // is one hour. The next such night within the room's horizon.
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let change = (today.year()..)
        .map(|year| Date::new(year, 3, 31).unwrap())
        .map(|end| end - (end.weekday().to_sunday_zero_offset() as i64).days())
        .find(|sunday| *sunday > today)
        .unwrap();
    let night = NewBooking::of(&lumen, format!("{change}T01:30"), format!("{change}T03:30"));
    let booked = stack.book(&member, night.title("Night shift")).await;
    let at = |field: &str| {
        booked[field]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap()
    };
    assert_eq!(
        at("end").as_second() - at("start").as_second(),
        3_600,
        "{booked}"
    );
    let monday = change - 6.days();
    let steps = journey(
        "app/room-calendar.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "member": person(&member),
            "room": lumen,
            "roomName": "Lumen",
            "date": change.to_string(),
            // New York has moved its clocks two weeks before: 20:30 to 21:30 there.
            "viewerZone": "America/New_York",
            "said": "Booked 01:30–03:30 (20:30–21:30)",
            "weekStarts": monday.strftime("%A %-d %B").to_string(),
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in member@web.test",
            "a-23-hour-day",
            "drawn-one-hour-long",
            "accessible-room-day",
            "screenshot-room-day",
            "week",
            "accessible-room-week",
        ]
    );
}

#[tokio::test]
async fn the_app_is_served_as_the_deployment_serves_it_under_its_content_security_policy() {
    let stack = TestStack::start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = async |path: &str| {
        let response = http.get(stack.url(path)).send().await.unwrap();
        let csp = response
            .headers()
            .get("content-security-policy")
            .map(|value| value.to_str().unwrap().to_owned());
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        (
            response.status().as_u16(),
            csp,
            location,
            response.text().await.unwrap(),
        )
    };
    // The policy the distribution gives the app (template.yaml, AppHeaders), with the
    // emulator's S3 for the bucket's.
    let template =
        std::fs::read_to_string(steward_e2e::repository_root().join("template.yaml")).unwrap();
    let deployed = template
        .lines()
        .find_map(|line| line.trim().strip_prefix("ContentSecurityPolicy: !Sub "))
        .expect("AppHeaders' policy")
        .trim_matches('"')
        .replace(
            "https://${Bucket}.s3.${AWS::Region}.${AWS::URLSuffix}",
            "http://127.0.0.1:*",
        );

    let (status, csp, _, index) = get("/app/").await;
    assert_eq!(status, 200);
    assert_eq!(csp.as_deref(), Some(deployed.as_str()));
    assert!(!index.contains("<script>"), "no inline script: {index}");
    let start = index
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the start-up script");
    let (status, _, _, code) = get(start).await;
    assert_eq!(status, 200, "{start}");
    assert!(code.contains("import("), "{code}");
    // A page of the app is its index.html, where its router takes over.
    let (status, csp, _, page) = get("/app/rooms/rm_x?date=2027-01-01").await;
    assert_eq!((status, csp.is_some(), page), (200, true, index.clone()));
    assert_eq!(get("/app").await.2.as_deref(), Some("/app/"));
    // The API and the kiosk are served beside it as before.
    let (status, _, _, health) = get("/v1/health").await;
    assert_eq!(status, 200, "{health}");
    let (status, _, _, kiosk) = get("/kiosk/").await;
    assert_eq!(status, 200);
    assert!(kiosk.contains("kiosk.js"));
}

#[tokio::test]
async fn a_forgotten_password_is_chosen_again_through_the_emailed_link() {
    const NEW_PASSWORD: &str = "lantern harbour quiet spruce";
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "member@web.test", &["member"]).await;
    let scenario = json!({
        "app": stack.url("/app/"),
        "member": person(&member),
        "newPassword": NEW_PASSWORD,
    });
    let env = [("SCENARIO", scenario.to_string())];
    let run = run_browser_test("app/forgotten-password.test.mjs", &env, async |what| {
        let email = what
            .strip_prefix("reset-link ")
            .expect("asks for the reset link");
        let tokens = stack
            .emailed_tokens(email, "Choose a new Steward password")
            .await;
        assert_eq!(tokens.len(), 1, "one email");
        let mail = stack
            .sent_mail(email)
            .await
            .into_iter()
            .find(|mail| mail["subject"] == "Choose a new Steward password")
            .expect("the reset email")["body"]
            .to_string();
        let link = format!("{}#token={}", stack.url("/app/reset-password"), tokens[0]);
        assert!(mail.contains(&link), "the email links to the app: {mail}");
        link
    })
    .await
    .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!(
        run.steps,
        [
            "accessible-forgot-password",
            "asked",
            "accessible-reset-password",
            "weak-password-told",
            "changed",
            "signed-in member@web.test",
            "spent-link-told",
            "accessible-reset-spent",
        ]
    );
    // The old password no longer signs in.
    let (status, _, _) = steward_e2e::send(
        stack
            .post("/v1/auth/login")
            .json(&json!({ "email": member.email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_member_of_two_organisations_chooses_switches_and_ends_her_sessions() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let mia = stack
        .join_as(&owner, "mia@web.test", "Mia Member", &["member"])
        .await;
    let other = stack.sign_up("Other Co", "owner@other.test").await;
    let invitation = stack.invite(&other, "mia@web.test", &["member"]).await;
    let (status, joined) = stack
        .call(
            &mia,
            Method::POST,
            "/v1/me/invitations/accept",
            json!({ "token": invitation["token"] }),
        )
        .await;
    assert_eq!(status, 201, "{joined}");
    let steps = journey(
        "app/profile.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "member": person(&mia),
            "first": "Web Co",
            "second": "Other Co",
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "accessible-choose-organisation",
            "chose-an-organisation",
            "accessible-profile",
            "ended-the-other-session",
            "switched",
            "signed-out-everywhere",
        ]
    );
    // The session ended from the browser was the one her invitation opened.
    let (status, _, _) = steward_e2e::send(
        stack
            .post("/v1/auth/refresh")
            .json(&json!({ "refresh_token": mia.refresh_token })),
    )
    .await;
    assert_eq!(status, 401, "the other session ended");
}

#[tokio::test]
async fn a_member_reads_her_notifications_and_makes_copies_and_revokes_a_calendar_feed() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "member@web.test", &["member"]).await;
    let atlas = stack.create_room(&owner, NewRoom::named("Atlas")).await;
    let day = tomorrow();
    let plan = NewBooking::of(&atlas, instant(day, "09:00"), instant(day, "10:00"));
    stack.book(&member, plan.title("Quarterly plan")).await;
    // The notifier tells her of it through its queue: wait for the notice.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let subject = loop {
        let (_, notices) = stack
            .call(&member, Method::GET, "/v1/me/notifications", Value::Null)
            .await;
        if let Some(subject) = notices["items"][0]["subject"].as_str() {
            break subject.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no notice: {notices}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let steps = journey(
        "app/notices-and-feeds.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "member": person(&member),
            "subject": subject,
            "title": "Quarterly plan",
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in member@web.test",
            "accessible-notifications",
            "read",
            "accessible-feed-made",
            "feed-read",
            "feed-revoked",
        ]
    );
    let (_, notices) = stack
        .call(&member, Method::GET, "/v1/me/notifications", Value::Null)
        .await;
    assert_eq!(notices["items"][0]["read"], true, "{notices}");
    let (_, feeds) = stack
        .call(&member, Method::GET, "/v1/feeds", Value::Null)
        .await;
    assert_eq!(feeds["items"], json!([]));
}

#[tokio::test]
async fn a_member_moves_and_extends_her_booking_and_reloads_it_when_it_changed_elsewhere() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "member@web.test", &["member"]).await;
    let atlas = stack.create_room(&owner, NewRoom::named("Atlas")).await;
    let day = tomorrow();
    let mine = NewBooking::of(&atlas, instant(day, "10:00"), instant(day, "11:00"));
    let booking = stack.book(&member, mine.title("Design review")).await;
    let theirs = NewBooking::of(&atlas, instant(day, "12:30"), instant(day, "13:30"));
    stack.book(&owner, theirs).await;
    let path = format!("/v1/bookings/{}", booking["id"].as_str().unwrap());
    let scenario = json!({
        "app": stack.url("/app/"),
        "member": person(&member),
        "title": "Design review",
        "conflict": "That slot is taken. Owner has it from 12:30 to 13:30.",
        "nowIs": format!("It is now {}, 11:00–12:00 GMT, Confirmed.", day.strftime("%a %-d %b")),
        "renamed": "Design review (moved)",
    });
    let env = [("SCENARIO", scenario.to_string())];
    let run = run_browser_test("app/change-booking.test.mjs", &env, async |what| {
        assert_eq!(what, "change-it-elsewhere");
        // Renamed from another device: the page's version is stale.
        let (_, now) = stack.call(&member, Method::GET, &path, Value::Null).await;
        let (status, _, renamed) = steward_e2e::send(
            stack
                .as_person(&member, Method::PATCH, &path)
                .header("If-Match", format!("\"{}\"", now["version"]))
                .json(&json!({ "title": "Design review (moved)" })),
        )
        .await;
        assert_eq!(status, 200, "{renamed}");
        "ok".to_owned()
    })
    .await
    .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!(
        run.steps,
        [
            "signed-in member@web.test",
            "accessible-change-booking",
            "conflict-told",
            "moved",
            "extended",
            "stale-reloaded",
            "accessible-change-reloaded",
        ]
    );
    let (_, now) = stack.call(&member, Method::GET, &path, Value::Null).await;
    assert_eq!(
        (&now["start"], &now["end"], &now["title"]),
        (
            &json!(instant(day, "11:00")),
            &json!(instant(day, "12:00")),
            &json!("Design review (moved)")
        ),
        "moved and extended once, the stale extension refused: {now}"
    );
}

#[tokio::test]
async fn an_organisation_is_started_and_a_person_joins_it_through_their_emailed_links() {
    const OWNER_PASSWORD: &str = "harbour lantern quiet spruce";
    let stack = TestStack::start().await;
    let scenario = json!({
        "app": stack.url("/app/"),
        "owner": { "organisation": "Join Co", "name": "Olga Owner", "email": "olga@join.test",
                   "password": OWNER_PASSWORD },
        "invited": { "name": "Nia Newbie", "email": "nia@join.test", "password": PASSWORD },
    });
    let env = [("SCENARIO", scenario.to_string())];
    let run = run_browser_test("app/joining.test.mjs", &env, async |what| {
        let (kind, email) = what.split_once(' ').expect("what and for whom");
        let (page, subject) = match kind {
            "verify-link" => ("verify-email", steward_e2e::VERIFY_SUBJECT.to_owned()),
            "invitation-link" => {
                // The owner the browser made invites the person through the API.
                let (status, _, signed_in) = steward_e2e::send(
                    stack
                        .post("/v1/auth/login")
                        .json(&json!({ "email": "olga@join.test", "password": OWNER_PASSWORD })),
                )
                .await;
                assert_eq!(status, 200, "{signed_in}");
                let (status, _, invited) = steward_e2e::send(
                    stack
                        .post("/v1/invitations")
                        .bearer_auth(signed_in["access_token"].as_str().unwrap())
                        .json(&json!({ "email": email, "roles": ["member"] })),
                )
                .await;
                assert_eq!(status, 201, "{invited}");
                (
                    "accept-invitation",
                    "Olga Owner invited you to Join Co on Steward".to_owned(),
                )
            }
            other => panic!("the joining test asked for {other}"),
        };
        let tokens = stack.emailed_tokens(email, &subject).await;
        assert_eq!(tokens.len(), 1, "one {kind} email to {email}");
        format!("{}#token={}", stack.url(&format!("/app/{page}")), tokens[0])
    })
    .await
    .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!(
        run.steps,
        [
            "accessible-sign-up",
            "signed-up",
            "confirmed-and-signed-in",
            "accessible-accept-invitation",
            "joined",
            "spent-invitation-told",
        ]
    );
}

#[tokio::test]
async fn a_member_books_a_repeating_room_sees_the_skipped_date_and_changes_one_the_rest_or_all() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "member@web.test", &["member"]).await;
    let atlas = stack.create_room(&owner, NewRoom::named("Atlas")).await;
    let first = tomorrow();
    let third = first + 2.days();
    let theirs = NewBooking::of(&atlas, instant(third, "10:30"), instant(third, "11:00"));
    stack.book(&owner, theirs).await;

    let steps = journey(
        "app/recurring.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "member": person(&member),
            "room": "Atlas",
            "slot": { "date": first.to_string(), "start": "10:00", "minutes": 60, "title": "Stand-up" },
            "heldBy": "Owner has it from 10:30 to 11:00.",
            "renamed": "Daily stand-up",
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in member@web.test",
            "accessible-find-repeating",
            "series-booked",
            "skipped-says-who",
            "accessible-series",
            "screenshot-series",
            "accessible-series-change",
            "following-moved",
            "one-moved",
            "all-renamed",
            "one-cancelled",
            "following-cancelled",
            "accessible-series-changed",
            "found-from-my-bookings",
        ]
    );
    // One series, booked once: each date as the browser left it.
    let path = format!(
        "/v1/bookings?mine=true&from={}&to={}",
        instant(first, "00:00"),
        instant(first + 5.days(), "00:00")
    );
    let (status, listed) = stack.call(&member, Method::GET, &path, Value::Null).await;
    assert_eq!(status, 200, "{listed}");
    let mine: Vec<(String, String, String, String)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let text = |key: &str| b[key].as_str().unwrap_or_default().to_owned();
            (text("start"), text("end"), text("status"), text("title"))
        })
        .collect();
    let date = |days: i64, from: &str, to: &str, status: &str| {
        let day = first + days.days();
        (
            instant(day, from),
            instant(day, to),
            status.to_owned(),
            "Daily stand-up".to_owned(),
        )
    };
    assert_eq!(
        mine,
        [
            date(0, "09:00", "10:00", "confirmed"),
            date(1, "10:00", "11:00", "cancelled"),
            date(3, "14:00", "15:00", "cancelled"),
            date(4, "14:00", "15:00", "cancelled"),
        ]
    );
}

#[tokio::test]
async fn a_provider_uploads_her_certificate_straight_to_storage_and_it_waits_for_review() {
    const PDF: &str =
        "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let provider = stack.join(&owner, "provider@web.test", &["provider"]).await;
    let kind = stack
        .create_credential_type(
            &owner,
            json!({ "name": "First aid certificate", "accepted_types": ["application/pdf"],
                    "max_bytes": 1_000_000, "expiry_required": true, "weight": 40 }),
        )
        .await;
    let clinic = NewRoom::named("Clinic").with("required_credentials", json!([kind["id"]]));
    stack.create_room(&owner, clinic).await;
    let expiry = tomorrow() + 365.days();

    let steps = journey(
        "app/credentials.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "provider": person(&provider),
            "slot": { "date": tomorrow().to_string(), "start": "10:00", "minutes": 60 },
            "room": "Clinic",
            "needs": "Needs your verified First aid certificate: upload it under My credentials.",
            "type": "First aid certificate",
            "expiry": expiry.to_string(),
            "expiryShown": expiry.strftime("%-d %b %Y").to_string(),
            "pdf": PDF,
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in provider@web.test",
            "room-needs-the-credential",
            "none-yet",
            "accessible-credentials",
            "wrong-kind-told",
            "accessible-credentials-refused",
            "pending-review",
            "accessible-credentials-uploaded",
            "screenshot-credentials",
        ]
    );
    // One credential (the wrong kind of file was never asked for), its bytes in the bucket as
    // the browser read them, checked by the verifier.
    let (_, mine) = stack
        .call(&provider, Method::GET, "/v1/credentials", Value::Null)
        .await;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{mine}");
    assert_eq!(items[0]["status"], "pending_review");
    assert_eq!(items[0]["type_id"], kind["id"]);
    assert_eq!(
        items[0]["sha256"],
        steward_domain::digest::sha256_hex(PDF.as_bytes())
    );
    assert!(
        items[0]["expires_at"]
            .as_str()
            .is_some_and(|at| at.starts_with(&expiry.to_string())),
        "{mine}"
    );
}

#[tokio::test]
async fn a_member_sets_up_a_second_factor_signs_in_with_a_recovery_code_and_moves_her_address() {
    const NEW_PASSWORD: &str = "copper meadow listens slowly";
    const NEW_EMAIL: &str = "mia@elsewhere.test";
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "mia@web.test", &["member"]).await;
    let scenario = json!({
        "app": stack.url("/app/"),
        "member": person(&member),
        "newPassword": NEW_PASSWORD,
        "newEmail": NEW_EMAIL,
    });
    let steps = journey_answering("app/security.test.mjs", scenario, async |what| {
        match what.split_once(' ') {
            // As an authenticator app computes it (pyotp).
            Some(("totp", secret)) => crate::second_factor::code(secret, 0),
            // The link in the email to the new address, as sent.
            Some(("email-link", address)) => {
                let subject = "Confirm your new email address for Steward";
                let tokens = stack.emailed_tokens(address, subject).await;
                assert_eq!(tokens.len(), 1, "one confirmation to {address}");
                let mail = stack.sent_mail(address).await;
                let text = steward_e2e::mail_text(mail.last().expect("the email"));
                let link = format!("{}#token={}", stack.url("/app/confirm-email"), tokens[0]);
                assert!(
                    text.contains(&link),
                    "the email links to the app's page: {text}"
                );
                link
            }
            _ => panic!("the security test asked for {what}"),
        }
    })
    .await;
    assert_eq!(
        steps,
        [
            "accessible-security",
            "qr-read",
            "accessible-security-scan",
            "screenshot-security",
            "factor-on",
            "accessible-security-recovery-codes",
            "signed-in-with-a-recovery-code",
            "factor-off",
            "wrong-password-told",
            "password-changed",
            "link-sent",
            "accessible-security-done",
            "address-confirmed",
            "signed-in-at-the-new-address",
        ]
    );
    // Through the API: the old address and password no longer sign in; the factor is off.
    for (email, password) in [(member.email.as_str(), NEW_PASSWORD), (NEW_EMAIL, PASSWORD)] {
        let (status, _, _) = steward_e2e::send(
            stack
                .post("/v1/auth/login")
                .json(&json!({ "email": email, "password": password })),
        )
        .await;
        assert_eq!(status, 401, "{email} with the wrong password");
    }
    let (status, _, signed_in) = steward_e2e::send(
        stack
            .post("/v1/auth/login")
            .json(&json!({ "email": NEW_EMAIL, "password": NEW_PASSWORD })),
    )
    .await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["status"], "signed_in", "no second factor asked");
}

#[tokio::test]
async fn a_member_ends_her_meeting_early_and_the_room_is_free_again() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack.join(&owner, "member@web.test", &["member"]).await;
    let atlas = stack.create_room(&owner, NewRoom::named("Atlas")).await;
    // Starting in two seconds, so that it is under way when the page shows it.
    let start = Timestamp::now() + 2.seconds();
    let end = start + 1.hour();
    let meeting = NewBooking::of(&atlas, start, end).title("Retro");
    let booking = stack.book(&member, meeting).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    let steps = journey(
        "app/end-now.test.mjs",
        json!({ "app": stack.url("/app/"), "member": person(&member), "title": "Retro" }),
    )
    .await;
    assert_eq!(
        steps,
        ["signed-in member@web.test", "accessible-under-way", "ended"]
    );
    let path = format!("/v1/bookings/{}", booking["id"].as_str().unwrap());
    let (_, ended) = stack.call(&member, Method::GET, &path, Value::Null).await;
    assert_eq!(ended["status"], "completed", "{ended}");
    let ended_at: Timestamp = ended["end"].as_str().unwrap().parse().unwrap();
    assert!(ended_at < end, "the rest of the slot freed: {ended}");
    // The rest of the hour can be booked again.
    let (status, again) = stack
        .try_book(&owner, NewBooking::of(&atlas, end - 30.minutes(), end))
        .await;
    assert_eq!(status, 201, "{again}");
}

#[tokio::test]
async fn a_manager_approves_one_booking_and_rejects_another_and_a_member_is_refused_the_queue() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let manager = stack
        .join_as(&owner, "max@web.test", "Max Manager", &["manager"])
        .await;
    let member = stack
        .join_as(&owner, "mia@web.test", "Mia Member", &["member"])
        .await;
    let board = NewRoom::named("Board").rules(json!({ "approval_required": true }));
    let board = stack.create_room(&owner, board).await;
    let day = tomorrow();
    let ask = |title: &str, from: &str, to: &str| {
        NewBooking::of(&board, instant(day, from), instant(day, to)).title(title)
    };
    let budget = stack
        .book(&member, ask("Budget review", "10:00", "11:00"))
        .await;
    let party = stack
        .book(&member, ask("Party planning", "14:00", "15:00"))
        .await;
    assert_eq!(
        (&budget["status"], &party["status"]),
        (&json!("pending"), &json!("pending"))
    );
    let path = |booking: &Value| format!("/v1/bookings/{}", booking["id"].as_str().unwrap());

    let steps = journey_answering(
        "app/approvals.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "member": person(&member),
            "manager": person(&manager),
            "memberName": "Mia Member",
            "approve": "Budget review",
            "reject": "Party planning",
            "reason": "The board meets then",
        }),
        async |what| {
            assert_eq!(what, "still-pending");
            let (_, now) = stack
                .call(&owner, Method::GET, &path(&budget), Value::Null)
                .await;
            assert_eq!(
                now["status"], "pending",
                "a member's approval changes nothing"
            );
            "ok".to_owned()
        },
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in mia@web.test",
            "member-refused",
            "accessible-approvals-refused",
            "signed-in max@web.test",
            "accessible-approvals",
            "screenshot-approvals",
            "approved",
            "accessible-approvals-rejecting",
            "rejected",
            "member-sees-both",
        ]
    );
    let (_, approved) = stack
        .call(&member, Method::GET, &path(&budget), Value::Null)
        .await;
    let (_, rejected) = stack
        .call(&member, Method::GET, &path(&party), Value::Null)
        .await;
    assert_eq!(
        (&approved["status"], &approved["decided_by"]),
        (&json!("confirmed"), &json!(manager.user_id))
    );
    assert_eq!(
        (&rejected["status"], &rejected["status_reason"]),
        (&json!("rejected"), &json!("The board meets then"))
    );
}

#[tokio::test]
async fn a_reviewer_opens_and_approves_a_certificate_and_its_provider_can_book_the_room_needing_it()
{
    // A whole PDF (one blank page), so that the browser's viewer shows it.
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
        2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n\
        3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>\nendobj\n\
        xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n\
        0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n";
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let provider = stack
        .join_as(&owner, "pia@web.test", "Pia Provider", &["provider"])
        .await;
    let kind = stack
        .create_credential_type(
            &owner,
            json!({ "name": "First aid certificate", "accepted_types": ["application/pdf"],
                    "max_bytes": 1_000_000, "expiry_required": true }),
        )
        .await;
    let clinic = NewRoom::named("Clinic").with("required_credentials", json!([kind["id"]]));
    let clinic = stack.create_room(&owner, clinic).await;
    // Each provider's certificate uploaded and checked, waiting for review.
    let uploaded = async |who: &Person| {
        let expires = (Timestamp::now() + (400 * 24).hours()).to_string();
        let (status, created) = stack
            .call(
                who,
                Method::POST,
                "/v1/credentials",
                json!({ "type_id": kind["id"], "content_type": "application/pdf",
                        "size": PDF.len(), "expires_at": expires }),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        crate::uploads::put_file(&stack, &created, PDF).await;
        let path = format!("/v1/credentials/{}", created["id"].as_str().unwrap());
        let waiting = crate::uploads::verified_by_pipeline(&stack, who, &path).await;
        assert_eq!(waiting["status"], "pending_review", "{waiting}");
        path
    };
    let path = uploaded(&provider).await;
    // A second, past its 4-hour SLA (its due time moved back, as four hours would).
    let late = stack
        .join_as(&owner, "olu@web.test", "Olu Other", &["provider"])
        .await;
    let late_path = uploaded(&late).await;
    let store = steward_store::credentials::CredentialStore::new(stack.table.clone());
    let late_id = late_path.rsplit('/').next().unwrap();
    let record = store.get(&owner.tenant_id, late_id).await.unwrap().unwrap();
    let mut overdue = record.revised(&Timestamp::now().to_string());
    overdue.review_due = Some((Timestamp::now() - 61.minutes()).to_string());
    store
        .put(&overdue, Some(record.version), None)
        .await
        .unwrap();

    let day = tomorrow();
    let steps = journey(
        "app/reviews.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "reviewer": person(&owner),
            "provider": person(&provider),
            "heading": "First aid certificate: Pia Provider",
            "lateHeading": "First aid certificate: Olu Other",
            "fileTitle": "Pia Provider's First aid certificate",
            "sha256": steward_domain::digest::sha256_hex(PDF),
            "slot": { "date": day.to_string(), "start": "10:00", "minutes": 60 },
            "room": "Clinic",
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in owner@web.test",
            "overdue-marked",
            "accessible-reviews",
            "file-opened",
            "accessible-reviews-file",
            "screenshot-reviews",
            "approved",
            "signed-in pia@web.test",
            "provider-booked",
        ]
    );
    let (_, verified) = stack.call(&provider, Method::GET, &path, Value::Null).await;
    assert_eq!(
        (&verified["status"], &verified["decided_by"]),
        (&json!("verified"), &json!(owner.user_id))
    );
    let booked = bookings_of(&stack, &provider, &clinic, day).await;
    assert_eq!(booked.len(), 1, "{booked:?}");
    assert_eq!(booked[0]["organiser"], provider.user_id.as_str());
}

#[tokio::test]
async fn an_admin_adds_a_room_and_pairs_a_terminal_and_the_kiosk_shows_the_room() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let admin = stack.join(&owner, "admin@web.test", &["admin"]).await;
    let steps = journey(
        "app/rooms-and-terminals.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "kiosk": stack.url("/kiosk/"),
            "admin": person(&admin),
            "room": "Harbour",
            "zone": "Europe/Lisbon",
            "terminal": "Harbour, by the door",
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in admin@web.test",
            "accessible-room-new",
            "room-created",
            "room-changed",
            "code-shown",
            "accessible-terminals",
            "screenshot-terminals",
            "kiosk-shows-the-room",
            "terminal-online",
        ]
    );
    let (_, rooms) = stack
        .call(&owner, Method::GET, "/v1/rooms", Value::Null)
        .await;
    let harbour = &rooms["items"][0];
    assert_eq!(
        (
            &harbour["name"],
            &harbour["time_zone"],
            &harbour["capacity"],
            &harbour["equipment"],
            &harbour["rules"]["buffer_after_minutes"],
        ),
        (
            &json!("Harbour"),
            &json!("Europe/Lisbon"),
            &json!(10),
            &json!(["screen", "whiteboard"]),
            &json!(10)
        ),
        "{rooms}"
    );
    let (_, terminals) = stack
        .call(&owner, Method::GET, "/v1/terminals", Value::Null)
        .await;
    assert_eq!(terminals["items"][0]["state"], "online", "{terminals}");
    assert_eq!(terminals["items"][0]["room_id"], harbour["id"]);
}

#[tokio::test]
async fn one_admin_asks_for_a_role_grant_and_a_second_approves_it_having_seen_the_diff() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let second = stack
        .join_as(&owner, "ada@web.test", "Ada Admin", &["admin"])
        .await;
    let member = stack
        .join_as(&owner, "mia@web.test", "Mia Member", &["member"])
        .await;
    let steps = journey(
        "app/dual-approval.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "first": person(&owner),
            "second": person(&second),
            "memberName": "Mia Member",
            "role": "auditor",
            "what": "Grant auditor to Mia Member",
        }),
    )
    .await;
    assert_eq!(
        steps,
        [
            "signed-in owner@web.test",
            "accessible-members",
            "asked",
            "own-not-approvable",
            "signed-in ada@web.test",
            "diff-shown",
            "accessible-change-requests",
            "screenshot-change-requests",
            "approved",
            "in-effect",
        ]
    );
    let (_, listed) = stack
        .call(&owner, Method::GET, "/v1/change-requests", Value::Null)
        .await;
    assert_eq!(
        (
            &listed["items"][0]["status"],
            &listed["items"][0]["decided_by"]
        ),
        (&json!("approved"), &json!(second.user_id)),
        "{listed}"
    );
    let (_, mia) = stack
        .call(
            &owner,
            Method::GET,
            &format!("/v1/members/{}", member.user_id),
            Value::Null,
        )
        .await;
    assert_eq!(mia["roles"], json!(["member", "auditor"]), "{mia}");
}

/// The operators' view of every tenant's licence, by name.
async fn tenants_by_name(
    stack: &TestStack,
    operator: &Person,
) -> std::collections::BTreeMap<String, Value> {
    let (status, page) = stack
        .call(operator, Method::GET, "/v1/admin/tenants", Value::Null)
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tenant| (tenant["name"].as_str().unwrap().to_owned(), tenant.clone()))
        .collect()
}

#[tokio::test]
async fn an_operator_moves_the_rollout_stage_and_turns_enforcement_off_again() {
    let stack = TestStack::start().await;
    let operator = stack.operator().await;
    let owner = stack.sign_up("Pilot Halls", "owner@pilot.test").await;
    let member = stack
        .join_as(&owner, "mia@pilot.test", "Mia Member", &["member"])
        .await;
    stack.sign_up("Other Rooms", "owner@other.test").await;
    stack.sign_up("Third Desks", "owner@third.test").await;
    let switches = async || {
        let (status, now) = stack
            .call(
                &operator,
                Method::GET,
                "/v1/admin/config/licensing",
                Value::Null,
            )
            .await;
        assert_eq!(status, 200, "{now}");
        (
            now["stage"].as_str().unwrap().to_owned(),
            now["enforcement_enabled"] == true,
        )
    };
    let enforced = async || {
        tenants_by_name(&stack, &operator)
            .await
            .into_iter()
            .filter(|(_, tenant)| tenant["enforced"] == true)
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
    };
    journey_answering(
        "app/operators.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "operator": person(&operator),
            "owner": person(&owner),
            "member": person(&member),
        }),
        async |what| {
            match what.split(' ').collect::<Vec<_>>()[..] {
                ["licence-and-cohort"] => {
                    let tenants = tenants_by_name(&stack, &operator).await;
                    assert_eq!(tenants["Pilot Halls"]["cohort"], "pilot");
                    assert_eq!(tenants["Other Rooms"]["offering"], "professional");
                    assert_eq!(tenants["Other Rooms"]["status"], "active");
                    assert!(tenants["Third Desks"]["cohort"].is_null());
                }
                ["still-disabled"] => assert_eq!(switches().await, ("disabled".into(), false)),
                ["pilot"] => {
                    assert_eq!(switches().await, ("pilot".into(), true));
                    assert_eq!(enforced().await, ["Pilot Halls"]);
                }
                ["general-availability"] => {
                    assert_eq!(switches().await, ("general_availability".into(), true));
                    assert_eq!(enforced().await.len(), 3);
                }
                ["enforcement-off"] => {
                    assert_eq!(switches().await, ("general_availability".into(), false));
                    assert!(enforced().await.is_empty());
                    let saved = stack
                        .audit_entries(&operator)
                        .await
                        .into_iter()
                        .filter(|entry| entry["action"] == "licensing.switches")
                        .count();
                    assert_eq!(saved, 3, "three saves, no preview audited");
                }
                ["report", run_id, digest] => {
                    let (status, run) = stack
                        .call(
                            &operator,
                            Method::GET,
                            &format!("/v1/admin/sweeps/{run_id}"),
                            Value::Null,
                        )
                        .await;
                    assert_eq!(status, 200, "{run}");
                    assert_eq!(run["summary"]["tenants"], 3);
                    let bucket = steward_store::objects::Bucket::new(
                        stack.aws(),
                        run["report"]["bucket"].as_str().unwrap(),
                    );
                    let csv = bucket
                        .get(run["report"]["csv_key"].as_str().unwrap())
                        .await
                        .unwrap();
                    assert_eq!(steward_domain::digest::sha256_hex(&csv), digest);
                }
                ["caches-cleared"] => {
                    let cleared = stack
                        .audit_entries(&operator)
                        .await
                        .into_iter()
                        .filter(|entry| entry["action"] == "cache.clear")
                        .count();
                    assert_eq!(cleared, 1, "the caches' clearing audited");
                }
                _ => panic!("asked {what}"),
            }
            "ok".to_owned()
        },
    )
    .await;
}

#[tokio::test]
async fn a_manager_books_for_a_member_with_a_reason_and_closes_the_room_around_it() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let manager = stack
        .join_as(&owner, "max@web.test", "Max Manager", &["manager"])
        .await;
    let member = stack
        .join_as(&owner, "mia@web.test", "Mia Member", &["member"])
        .await;
    let board = NewRoom::named("Board")
        .zone("UTC")
        .rules(json!({ "max_duration_minutes": 60 }));
    let board = stack.create_room(&owner, board).await;
    let day = tomorrow();
    let hers = async || bookings_of(&stack, &owner, &board, day).await;
    let closures = format!("/v1/rooms/{board}/closures");
    let closures_now = async || {
        let (status, listed) = stack
            .call(&owner, Method::GET, &closures, Value::Null)
            .await;
        assert_eq!(status, 200, "{listed}");
        listed["items"].as_array().unwrap().clone()
    };

    journey_answering(
        "app/on-behalf-and-closures.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "manager": person(&manager),
            "member": person(&member),
            "memberName": "Mia Member",
            "room": "Board",
            "day": day.to_string(),
            "title": "All-hands",
            "reason": "Mia runs the all-hands",
        }),
        async |what| {
            match what {
                "nothing-booked" => assert!(hers().await.is_empty()),
                "booked-for-her" => {
                    let made = hers().await;
                    assert_eq!(made.len(), 1, "{made:?}");
                    assert_eq!(made[0]["organiser"], member.user_id.as_str());
                    assert_eq!(made[0]["override_reason"], "Mia runs the all-hands");
                    assert_eq!(made[0]["start"], instant(day, "09:00"));
                    assert_eq!(made[0]["end"], instant(day, "11:00"));
                }
                "closed-weekly" => {
                    let now = closures_now().await;
                    assert_eq!(now.len(), 1);
                    assert_eq!(now[0]["reason"], "Deep clean");
                    assert_eq!(now[0]["recurrence"], "FREQ=WEEKLY;COUNT=4");
                    assert_eq!(
                        hers().await[0]["status"],
                        "confirmed",
                        "kept, not cancelled"
                    );
                }
                "reopened" => assert!(closures_now().await.is_empty()),
                _ => panic!("asked {what}"),
            }
            "ok".to_owned()
        },
    )
    .await;
}

#[tokio::test]
async fn an_admin_invites_and_revokes_suspends_reinstates_and_removes_and_changes_the_settings() {
    const SUBJECT: &str = "Owner invited you to Web Co on Steward";
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let member = stack
        .join_as(&owner, "mia@web.test", "Mia Member", &["member"])
        .await;
    let other = stack
        .join_as(&owner, "olaf@web.test", "Olaf Other", &["member"])
        .await;
    let invitee = "new@web.test";
    let links = async || stack.emailed_tokens(invitee, SUBJECT).await;
    let read = async |path: &str| {
        let (status, body) = stack.call(&owner, Method::GET, path, Value::Null).await;
        (status, body)
    };
    let member_path = format!("/v1/members/{}", member.user_id);

    journey_answering(
        "app/admin-members-and-settings.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "admin": person(&owner),
            "invitee": invitee,
            "memberName": "Mia Member",
            "otherName": "Olaf Other",
        }),
        async |what| {
            match what {
                "invited" => assert_eq!(links().await.len(), 1),
                "resent" => {
                    let sent = links().await;
                    assert_eq!(sent.len(), 2, "{sent:?}");
                    let (status, body) = stack.accept(&sent[0]).await;
                    assert_ne!(status, 201, "the first link is dead: {body}");
                }
                "revoked" => {
                    for link in links().await {
                        let (status, body) = stack.accept(&link).await;
                        assert_ne!(status, 201, "{body}");
                    }
                }
                "suspended" => assert_eq!(read(&member_path).await.1["status"], "suspended"),
                "reinstated-and-removed" => {
                    assert_eq!(read(&member_path).await.1["status"], "active");
                    let (status, _) = read(&format!("/v1/members/{}", other.user_id)).await;
                    assert_eq!(status, 404);
                }
                "settings" => {
                    assert_eq!(
                        read("/v1/settings/booking-quota").await.1["active_bookings"],
                        3
                    );
                    assert_eq!(
                        read("/v1/settings/check-in").await.1["opens_minutes_before"],
                        15
                    );
                    assert_eq!(
                        read("/v1/policy").await.1["dual_approval"],
                        true,
                        "not yet off"
                    );
                    let (_, waiting) = read("/v1/change-requests").await;
                    let kinds: Vec<&Value> = waiting["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|request| &request["change"]["kind"])
                        .collect();
                    assert_eq!(kinds, [&json!("set_dual_approval")], "{waiting}");
                }
                "second-factor-required" => {
                    // The owner's own session has none: she may now only set one up.
                    let (status, body) = read("/v1/settings/mfa").await;
                    assert_eq!(status, 403, "{body}");
                    let store = steward_store::identity::IdentityStore::new(stack.table.clone());
                    let tenant = store.tenant(&owner.tenant_id).await.unwrap().unwrap();
                    assert!(tenant.mfa_required, "{tenant:?}");
                }
                _ => panic!("asked {what}"),
            }
            "ok".to_owned()
        },
    )
    .await;
}

#[tokio::test]
async fn an_owner_reads_utilisation_over_a_range_searches_the_audit_log_and_reads_the_licence() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let manager = stack
        .join_as(&owner, "max@web.test", "Max Manager", &["manager"])
        .await;
    stack
        .join_as(&owner, "mia@web.test", "Mia Member", &["member"])
        .await;
    let door = NewRoom::named("Door")
        .zone("UTC")
        .with_all(json!({ "site": "North", "rules": { "check_in_required": true } }));
    let door = stack.create_room(&owner, door).await;
    let thames = stack
        .create_room(
            &owner,
            NewRoom::named("Thames")
                .zone("UTC")
                .with_all(json!({ "site": "North" })),
        )
        .await;
    let today = tomorrow() - 1.day();
    // Past bookings, recorded afterwards as a manager may: 09:00–10:00 and 09:00–11:00.
    for (days_ago, end) in [(3, "10:00"), (2, "11:00")] {
        let day = today - days_ago.days();
        let (status, made) = stack
            .call(
                &owner,
                Method::POST,
                "/v1/bookings",
                json!({ "room_id": door, "start": instant(day, "09:00"), "end": instant(day, end),
                    "title": "Stand-up", "override_reason": "Recorded afterwards" }),
            )
            .await;
        assert_eq!(status, 201, "{made}");
    }
    // Enough entries for two pages of the audit log, and one by the manager.
    for days in 1..=55 {
        let day = today + i64::from(days).days();
        stack
            .book(
                &owner,
                NewBooking::of(&thames, instant(day, "10:00"), instant(day, "11:00")),
            )
            .await;
    }
    stack
        .book(
            &manager,
            NewBooking::of(
                &door,
                instant(tomorrow(), "15:00"),
                instant(tomorrow(), "16:00"),
            ),
        )
        .await;

    journey_answering(
        "app/reports-audit-licence.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "owner": person(&owner),
            "managerName": "Max Manager",
            "from": (today - 10.days()).to_string(),
            "to": (today + 1.day()).to_string(),
            // 3 of the range's 264 hours.
            "doorUtilisation": "1.1%",
            "later": format!("{}T00:00", today + 60.days()),
        }),
        async |what| {
            assert_eq!(what, "roles-reviewed");
            let (status, checklist) = stack
                .call(&owner, Method::GET, "/v1/onboarding", Value::Null)
                .await;
            assert_eq!(status, 200, "{checklist}");
            let reviewed = checklist["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|step| step["step"] == "review_roles")
                .unwrap();
            assert_eq!(reviewed["status"], "marked_done", "{checklist}");
            "ok".to_owned()
        },
    )
    .await;
}

#[tokio::test]
async fn an_admin_makes_a_custom_role_registers_a_badge_and_imports_rooms_row_by_row() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Web Co", "owner@web.test").await;
    let admin = stack
        .join_as(&owner, "ada@web.test", "Ada Admin", &["admin"])
        .await;
    let member = stack
        .join_as(&owner, "mia@web.test", "Mia Member", &["member"])
        .await;
    // Dual approval off (itself approved by a second admin), so that roles apply at once.
    let (status, asked) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings",
            json!({ "dual_approval": false }),
        )
        .await;
    assert_eq!(status, 202, "{asked}");
    let approve = format!(
        "/v1/change-requests/{}/approve",
        asked["change_request"]["id"].as_str().unwrap()
    );
    let (status, approved) = stack.call(&admin, Method::POST, &approve, json!({})).await;
    assert_eq!(status, 200, "{approved}");
    // A booking for the export: the rooms import adds rooms of its own.
    let atrium = stack
        .create_room(&owner, NewRoom::named("Atrium").zone("UTC"))
        .await;
    stack
        .book(
            &member,
            NewBooking::of(
                &atrium,
                instant(tomorrow(), "10:00"),
                instant(tomorrow(), "11:00"),
            )
            .title("Quarterly review"),
        )
        .await;
    let read = async |path: &str| stack.call(&owner, Method::GET, path, Value::Null).await.1;
    let front_desk = async || {
        read("/v1/roles").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|role| role["id"] == "front-desk")
            .cloned()
    };
    let room_names = async || {
        let mut names: Vec<String> = read("/v1/rooms?limit=200").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|room| room["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };

    journey_answering(
        "app/roles-badges-data.test.mjs",
        json!({
            "app": stack.url("/app/"),
            "admin": person(&admin),
            "memberName": "Mia Member",
            "bookingTitle": "Quarterly review",
        }),
        async |what| {
            match what {
                "role-widened" => {
                    let role = front_desk().await.expect("front-desk");
                    assert_eq!(
                        role["permissions"],
                        json!([
                            "rooms:read",
                            "bookings:create",
                            "bookings:read",
                            "bookings:check_in"
                        ]),
                        "{role}"
                    );
                    assert_eq!(role["description"], "Books for walk-ins");
                }
                "role-gone" => assert!(front_desk().await.is_none()),
                "badge" => {
                    let badges = read("/v1/badges").await;
                    assert_eq!(badges["items"][0]["id"], "04A1B2C3", "{badges}");
                    assert_eq!(badges["items"][0]["member_id"], member.user_id.as_str());
                    assert_eq!(badges["items"][0]["label"], "Blue fob");
                }
                "no-badge" => assert_eq!(read("/v1/badges").await["items"], json!([])),
                "no-rooms-imported" => assert_eq!(room_names().await, ["Atrium"]),
                "two-rooms-imported" => {
                    assert_eq!(room_names().await, ["Atrium", "Harbour", "Lighthouse"])
                }
                _ => panic!("asked {what}"),
            }
            "ok".to_owned()
        },
    )
    .await;
}
