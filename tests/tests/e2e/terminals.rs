//! Door terminals through the gateway (SPEC §D): pairing, the request signature and each way of
//! breaking it, revocation and the licence's terminal limit, heartbeats and health, room
//! status, check-in by PIN and badge (window, who, PIN lockout per terminal), walk-up, end and
//! extend. Requests are signed by the simulator's client, as a terminal signs them.

use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use steward_e2e::{NewBooking, Person, TestStack};
use steward_terminal::{Answer, Terminal, answer};

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn at(offset: SignedDuration) -> String {
    Timestamp::from_second((Timestamp::now() + offset).as_second())
        .unwrap()
        .to_string()
}

async fn check_in_room(stack: &TestStack, owner: &Person, name: &str) -> String {
    stack
        .room(
            owner,
            json!({
                "name": name, "time_zone": "Europe/London", "capacity": 6,
                "rules": { "check_in_required": true, "release_minutes": 15 },
            }),
        )
        .await
}

async fn booking(stack: &TestStack, who: &Person, id: &Value) -> Value {
    let path = format!("/v1/bookings/{}", id.as_str().unwrap());
    let (status, booking) = stack.call(who, Method::GET, &path, Value::Null).await;
    assert_eq!(status, 200, "{booking}");
    booking
}

fn problem_type(answer: &Answer) -> &str {
    answer.body["type"].as_str().unwrap_or_default()
}

/// A review in `room` from `start` to `end` after now.
fn review(room: &str, (start, end): (SignedDuration, SignedDuration)) -> NewBooking {
    NewBooking::of(room, at(start), at(end)).title("Review")
}

#[tokio::test]
async fn pairing_the_signature_and_revocation() {
    let stack = TestStack::with_parameters(&[
        ("LicensingConfigCacheSeconds", "0"),
        ("AuthorizerCacheSeconds", "0"),
    ])
    .await;
    let owner = stack.sign_up("Doors", "owner@doors.test").await;
    let member = stack.join(&owner, "member@doors.test", &["member"]).await;
    let room = check_in_room(&stack, &owner, "Oak").await;

    // Only who manages terminals registers one; a room must exist.
    let (status, problem) = stack
        .call(
            &member,
            Method::POST,
            "/v1/terminals",
            json!({ "room_id": room, "name": "Door" }),
        )
        .await;
    assert_eq!(
        (status, problem["missing_permission"].clone()),
        (403, json!("terminals:manage"))
    );
    let (status, problem) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/terminals",
            json!({ "room_id": "rm_nope", "name": "Door" }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");

    // A code pairs once; an unknown or used one is refused alike.
    let (status, registered) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/terminals",
            json!({ "room_id": room, "name": "Oak door" }),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    assert_eq!(registered["state"], "pairing");
    let code = registered["pairing_code"].as_str().unwrap().to_owned();
    assert!(
        steward_terminal::pair(&stack.http, &stack.url, "0000000000")
            .await
            .is_err()
    );
    let paired = steward_terminal::pair(&stack.http, &stack.url, &code.to_lowercase())
        .await
        .unwrap();
    assert_eq!(
        (paired.room_id.as_str(), paired.tenant_id.as_str()),
        (room.as_str(), owner.tenant_id.as_str())
    );
    assert!(
        steward_terminal::pair(&stack.http, &stack.url, &code)
            .await
            .is_err(),
        "used once"
    );
    let terminal = Terminal::new(paired.clone());

    // Status, heartbeat, health.
    let status = terminal.status().await.unwrap();
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(
        (
            status.body["room"]["name"].clone(),
            status.body["state"].clone()
        ),
        (json!("Oak"), json!("free"))
    );
    let beat = terminal
        .post(
            "/v1/terminal/heartbeat",
            &json!({ "app_version": "test-1" }),
        )
        .await
        .unwrap();
    assert_eq!(beat.status, 204);
    let (_, terminals) = stack
        .call(&owner, Method::GET, "/v1/terminals", Value::Null)
        .await;
    let listed = &terminals["items"][0];
    assert_eq!(
        (listed["state"].clone(), listed["app_version"].clone()),
        (json!("online"), json!("test-1"))
    );
    assert_eq!(terminals["health"]["online"], 1);
    // Silent for 10 minutes: offline in health.
    let long_ago = (Timestamp::now() - minutes(11)).to_string();
    steward_store::terminals::TerminalStore::new(stack.table.clone())
        .seen(&paired.tenant_id, &paired.terminal_id, &long_ago, None)
        .await
        .unwrap();
    let (_, terminals) = stack
        .call(&owner, Method::GET, "/v1/terminals", Value::Null)
        .await;
    assert_eq!(terminals["items"][0]["state"], "offline");
    assert_eq!(
        (
            terminals["health"]["online"].clone(),
            terminals["health"]["offline"].clone()
        ),
        (json!(0), json!(1))
    );

    // A booking in its window, to be checked in to by the attacks below (none may).
    let booked = stack
        .book(&member, review(&room, (minutes(5), minutes(35))))
        .await;
    let pin = booked["check_in_pin"].as_str().unwrap().to_owned();
    let body = json!({ "pin": pin }).to_string().into_bytes();
    let path = "/v1/terminal/check-in";
    let unchanged = |b: &Value| {
        assert_eq!(
            (b["status"].clone(), b["version"].clone()),
            (json!("confirmed"), json!(1)),
            "{b}"
        );
    };
    let mut attacks = Vec::new();
    let mut wrong_secret = terminal.signing();
    wrong_secret.secret = "not-the-secret".into();
    attacks.push((
        "a wrong secret",
        terminal.request(Method::POST, path, &body, body.clone(), &wrong_secret),
    ));
    let mut stale = terminal.signing();
    stale.timestamp -= 301;
    attacks.push((
        "a timestamp 301 s old",
        terminal.request(Method::POST, path, &body, body.clone(), &stale),
    ));
    let mut early = terminal.signing();
    early.timestamp += 320;
    attacks.push((
        "a timestamp 320 s ahead",
        terminal.request(Method::POST, path, &body, body.clone(), &early),
    ));
    let other = json!({ "pin": "000000" }).to_string().into_bytes();
    attacks.push((
        "a body changed after signing",
        terminal.request(
            Method::POST,
            path,
            &other,
            body.clone(),
            &terminal.signing(),
        ),
    ));
    attacks.push((
        "no signature",
        stack
            .http
            .post(stack.url(path))
            .json(&json!({ "pin": pin })),
    ));
    for (attack, request) in attacks {
        let refused = answer(request).await.unwrap();
        assert_eq!(refused.status, 401, "{attack}: {}", refused.body);
        assert_eq!(
            problem_type(&refused),
            "urn:steward:problem:terminal-unauthorized",
            "{attack}"
        );
        unchanged(&booking(&stack, &member, &booked["id"]).await);
    }

    // The genuine request checks in; the same request replayed is refused.
    let signing = terminal.signing();
    let genuine = terminal.request(Method::POST, path, &body, body.clone(), &signing);
    let replay = terminal.request(Method::POST, path, &body, body.clone(), &signing);
    let checked_in = answer(genuine).await.unwrap();
    assert_eq!(
        (checked_in.status, checked_in.body["status"].clone()),
        (200, json!("checked_in")),
        "{}",
        checked_in.body
    );
    let replayed = answer(replay).await.unwrap();
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(replayed.body["detail"].as_str().unwrap().contains("nonce"));
    let after = booking(&stack, &member, &booked["id"]).await;
    assert_eq!(
        (after["status"].clone(), after["version"].clone()),
        (json!("checked_in"), json!(2))
    );

    // Revoked: every request refused, its place given back.
    let path_of = format!("/v1/terminals/{}", paired.terminal_id);
    let (status, _) = stack
        .call(&owner, Method::DELETE, &path_of, Value::Null)
        .await;
    assert_eq!(status, 204);
    let refused = terminal.status().await.unwrap();
    assert_eq!(
        (refused.status, problem_type(&refused)),
        (401, "urn:steward:problem:terminal-unauthorized")
    );
    let (status, _) = stack
        .call(&owner, Method::DELETE, &path_of, Value::Null)
        .await;
    assert_eq!(status, 404);
    let (_, terminals) = stack
        .call(&owner, Method::GET, "/v1/terminals", Value::Null)
        .await;
    assert_eq!(terminals["items"][0]["state"], "revoked");

    // The trial allows two terminals: the revoked one counts no more.
    stack.enforce_offering(&owner, "trial").await;
    for _ in 0..2 {
        let (status, answer) = stack
            .call(
                &owner,
                Method::POST,
                "/v1/terminals",
                json!({ "room_id": room, "name": "Spare" }),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
    }
    let (status, problem) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/terminals",
            json!({ "room_id": room, "name": "One more" }),
        )
        .await;
    assert_eq!(
        (status, problem["limit"]["name"].clone()),
        (402, json!("terminals")),
        "{problem}"
    );
}

#[tokio::test]
async fn terminals_are_a_licence_feature() {
    let stack = TestStack::with_parameters(&[
        ("LicensingConfigCacheSeconds", "0"),
        ("AuthorizerCacheSeconds", "0"),
    ])
    .await;
    let owner = stack.sign_up("Essentials", "owner@essential.test").await;
    let room = check_in_room(&stack, &owner, "Elm").await;
    let terminal = stack.terminal(&owner, &room).await;
    assert_eq!(terminal.status().await.unwrap().status, 200);
    stack.enforce_offering(&owner, "essential").await;
    let (status, problem) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/terminals",
            json!({ "room_id": room, "name": "Door" }),
        )
        .await;
    assert_eq!(
        (status, problem["missing_feature"].clone()),
        (403, json!("terminals")),
        "{problem}"
    );
    let refused = terminal.status().await.unwrap();
    assert_eq!(
        (refused.status, refused.body["missing_feature"].clone()),
        (403, json!("terminals")),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn check_in_by_pin_and_badge_walk_up_end_and_extend() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Halls", "owner@halls.test").await;
    let organiser = stack
        .join(&owner, "organiser@halls.test", &["member"])
        .await;
    let invitee = stack.join(&owner, "invitee@halls.test", &["member"]).await;
    let stranger = stack.join(&owner, "stranger@halls.test", &["member"]).await;
    let room = check_in_room(&stack, &owner, "Hall").await;
    let door = stack.terminal(&owner, &room).await;
    let second_door = stack.terminal(&owner, &room).await;

    // Outside the window: refused, with the window.
    let later = stack
        .book(&organiser, review(&room, (minutes(120), minutes(150))))
        .await;
    let refused = door
        .post(
            "/v1/terminal/check-in",
            &json!({ "pin": later["check_in_pin"] }),
        )
        .await
        .unwrap();
    assert_eq!(
        (refused.status, problem_type(&refused)),
        (409, "urn:steward:problem:outside-check-in-window"),
        "{}",
        refused.body
    );
    let start: Timestamp = later["start"].as_str().unwrap().parse().unwrap();
    let window = &refused.body["check_in_window"];
    assert_eq!(
        window["opens"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        start - minutes(10)
    );
    assert_eq!(
        window["closes"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        start + minutes(15)
    );

    // Badges: registered to members; only the organiser or an invitee checks in.
    let soon = stack
        .book(
            &organiser,
            review(&room, (minutes(3), minutes(30)))
                .with_all(json!({ "invitees": [invitee.user_id] })),
        )
        .await;
    assert_eq!(soon["invitees"], json!([invitee.user_id]));
    // The organiser's confirmation email carries the PIN (the room needs a check-in).
    let id = soon["id"].as_str().unwrap();
    let mut confirmation = String::new();
    for _ in 0..50 {
        if let Some(mail) = stack
            .sent_mail(&organiser.email)
            .await
            .iter()
            .map(steward_e2e::mail_text)
            .find(|text| text.contains(id))
        {
            confirmation = mail;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let pin_line = format!("Check-in PIN: {}", soon["check_in_pin"].as_str().unwrap());
    assert!(confirmation.contains(&pin_line), "{confirmation}");
    let (status, answer) = stack
        .call(
            &invitee,
            Method::GET,
            &format!("/v1/bookings/{}", soon["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, answer["check_in_pin"].clone()),
        (200, soon["check_in_pin"].clone()),
        "invitees see the PIN"
    );
    let (_, seen_by_other) = stack
        .call(
            &stranger,
            Method::GET,
            &format!("/v1/bookings/{}", soon["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(seen_by_other["check_in_pin"], Value::Null);
    for (badge, who) in [
        ("04:a1:b2:c3", &invitee),
        ("0A0B0C0D", &stranger),
        ("0E0E0E0E", &organiser),
    ] {
        let (status, answer) = stack
            .call(
                &owner,
                Method::PUT,
                &format!("/v1/badges/{badge}"),
                json!({ "member_id": who.user_id }),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, _) = stack
        .call(
            &invitee,
            Method::PUT,
            "/v1/badges/0F0F0F0F",
            json!({ "member_id": invitee.user_id }),
        )
        .await;
    assert_eq!(status, 403, "members do not register badges");
    let (_, badges) = stack
        .call(&owner, Method::GET, "/v1/badges", Value::Null)
        .await;
    assert!(
        badges["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == "04A1B2C3")
    );
    let by_stranger = door
        .post("/v1/terminal/check-in", &json!({ "badge": "0A0B0C0D" }))
        .await
        .unwrap();
    assert_eq!(by_stranger.status, 403, "{}", by_stranger.body);
    let unknown = door
        .post("/v1/terminal/check-in", &json!({ "badge": "DEADBEEF" }))
        .await
        .unwrap();
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let status = door.status().await.unwrap();
    assert_eq!(
        (
            status.body["state"].clone(),
            status.body["next"]["id"].clone()
        ),
        (json!("awaiting_check_in"), soon["id"].clone())
    );
    let by_invitee = door
        .post("/v1/terminal/check-in", &json!({ "badge": "04A1B2C3" }))
        .await
        .unwrap();
    assert_eq!(
        (by_invitee.status, by_invitee.body["status"].clone()),
        (200, json!("checked_in")),
        "{}",
        by_invitee.body
    );
    let again = door
        .post("/v1/terminal/check-in", &json!({ "badge": "04A1B2C3" }))
        .await
        .unwrap();
    assert_eq!(again.status, 409, "{}", again.body);

    // PIN guessing locks this terminal after the tenant's attempts, not the room's other one.
    let (status, policy) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/check-in",
            json!({ "pin_attempts": 3, "pin_lockout_minutes": 5 }),
        )
        .await;
    assert_eq!(
        (status, policy["opens_minutes_before"].clone()),
        (200, json!(10)),
        "{policy}"
    );
    let (status, problem) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/check-in",
            json!({ "pin_attempts": 0 }),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (422, json!("pin_attempts"))
    );
    let guessed = stack
        .book(&organiser, review(&room, (minutes(32), minutes(60))))
        .await;
    let pin = guessed["check_in_pin"].as_str().unwrap();
    let wrong = if pin == "111111" { "222222" } else { "111111" };
    for left in [2, 1, 0] {
        let answer = door
            .post("/v1/terminal/check-in", &json!({ "pin": wrong }))
            .await
            .unwrap();
        assert_eq!(
            (answer.status, problem_type(&answer)),
            (403, "urn:steward:problem:wrong-pin"),
            "{}",
            answer.body
        );
        assert_eq!(answer.body["attempts_left"], left);
    }
    let locked = door
        .post("/v1/terminal/check-in", &json!({ "pin": pin }))
        .await
        .unwrap();
    assert_eq!(
        (locked.status, problem_type(&locked)),
        (429, "urn:steward:problem:pin-locked"),
        "{}",
        locked.body
    );
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((200..=300).contains(&retry), "{retry}");
    // The right PIN at the other terminal reaches the booking: outside its window yet.
    let elsewhere = second_door
        .post("/v1/terminal/check-in", &json!({ "pin": pin }))
        .await
        .unwrap();
    assert_eq!(elsewhere.status, 409, "{}", elsewhere.body);
    assert_eq!(
        booking(&stack, &organiser, &guessed["id"]).await["version"],
        1
    );

    // Walk-up in a free room until its next booking, checked in; extend past it refused; end.
    let free_room = check_in_room(&stack, &owner, "Annex").await;
    let annex = stack.terminal(&owner, &free_room).await;
    let next = stack
        .book(&invitee, review(&free_room, (minutes(50), minutes(80))))
        .await;
    let walked = annex
        .post("/v1/terminal/walk-up", &json!({ "badge": "0E0E0E0E" }))
        .await
        .unwrap();
    assert_eq!(walked.status, 201, "{}", walked.body);
    assert_eq!(
        (
            walked.body["status"].clone(),
            walked.body["organiser"].clone()
        ),
        (json!("checked_in"), json!(organiser.user_id))
    );
    assert_eq!(walked.body["end"], next["start"]);
    let busy = annex.status().await.unwrap();
    assert_eq!(
        (
            busy.body["state"].clone(),
            busy.body["current"]["id"].clone()
        ),
        (json!("busy"), walked.body["id"].clone())
    );
    let taken = annex
        .post("/v1/terminal/walk-up", &json!({ "badge": "04A1B2C3" }))
        .await
        .unwrap();
    assert_eq!(taken.status, 409, "{}", taken.body);
    let extended = annex
        .post(
            "/v1/terminal/extend",
            &json!({ "badge": "0E0E0E0E", "minutes": 15 }),
        )
        .await
        .unwrap();
    assert_eq!(extended.status, 409, "{}", extended.body);
    let ended = annex
        .post("/v1/terminal/end", &json!({ "badge": "0E0E0E0E" }))
        .await
        .unwrap();
    assert_eq!(
        (ended.status, ended.body["status"].clone()),
        (200, json!("completed")),
        "{}",
        ended.body
    );
    let free = annex.status().await.unwrap();
    assert_eq!(free.body["state"], "free", "{}", free.body);

    // Extend: a booking under way with room after it.
    let walked = annex
        .post(
            "/v1/terminal/walk-up",
            &json!({ "badge": "0E0E0E0E", "end": at(minutes(20)) }),
        )
        .await
        .unwrap();
    assert_eq!(walked.status, 201, "{}", walked.body);
    let extended = annex
        .post(
            "/v1/terminal/extend",
            &json!({ "badge": "0E0E0E0E", "minutes": 15 }),
        )
        .await
        .unwrap();
    assert_eq!(extended.status, 200, "{}", extended.body);
    let end = |b: &Value| b["end"].as_str().unwrap().parse::<Timestamp>().unwrap();
    assert_eq!(end(&extended.body), end(&walked.body) + minutes(15));
    let bad = annex
        .post(
            "/v1/terminal/extend",
            &json!({ "badge": "0E0E0E0E", "minutes": 1000 }),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 422, "{}", bad.body);
}

/// The DynamoDB requests an answer made (EXPOSE_REQUEST_COUNTS), as `Operation=n` by name.
fn requests(answer: &Answer) -> String {
    answer
        .headers
        .get(steward_kit::api::REQUEST_COUNTS_HEADER)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// With the caches on, a check-in takes the terminal and the room as the instance kept them
/// and reads no member: one query and one write, which holds each again. Every change made
/// behind what was kept is seen: the room changed (read again, then checked in), the member
/// suspended (403), the terminal revoked (401). A refused check-in uses its nonce up.
#[tokio::test]
async fn a_check_in_holds_again_in_its_write_what_the_instance_kept() {
    let stack = TestStack::with_parameters(&[
        ("CacheEnabled", "true"),
        ("CacheTtlSeconds", "300"),
        ("LicensingConfigCacheSeconds", "60"),
        ("ExposeRequestCounts", "true"),
    ])
    .await;
    let owner = stack.sign_up("Kept", "owner@kept.test").await;
    let first = stack.join(&owner, "first@kept.test", &["member"]).await;
    let second = stack.join(&owner, "second@kept.test", &["member"]).await;
    let room = stack.check_in_room(&owner, "Cedar").await;
    // Four bookings, each in its window now: check-in opens half an hour before.
    let (status, policy) = stack
        .call(
            &owner,
            Method::PUT,
            "/v1/settings/check-in",
            json!({ "opens_minutes_before": 30 }),
        )
        .await;
    assert_eq!(status, 200, "{policy}");
    let door = stack.terminal(&owner, &room).await;
    let slot = |n: i64| (minutes(1 + 5 * n), minutes(6 + 5 * n));
    let warm = stack.book(&first, review(&room, slot(0))).await;
    let renamed = stack.book(&second, review(&room, slot(1))).await;
    let suspended = stack.book(&first, review(&room, slot(2))).await;
    let revoked = stack.book(&second, review(&room, slot(3))).await;
    let status = door.status().await.unwrap();
    assert_eq!(status.status, 200, "{}", status.body);
    let check_in = |booking: &Value| {
        let body = json!({ "pin": booking["check_in_pin"] });
        let door = &door;
        async move { door.post("/v1/terminal/check-in", &body).await.unwrap() }
    };

    // Warm: the room's bookings queried, one write.
    let checked = check_in(&warm).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert_eq!(requests(&checked), "Query=1,TransactWriteItems=1");

    // The room changed behind the kept one: the write refused, everything read again, checked
    // in.
    let path = format!("/v1/rooms/{room}");
    let (_, current) = stack.call(&owner, Method::GET, &path, Value::Null).await;
    let mut changed = json!({
        "name": "Cedar Hall", "time_zone": current["time_zone"], "capacity": current["capacity"],
        "rules": current["rules"],
    });
    changed["rules"]["check_in_required"] = json!(true);
    let (status, _, changed) = steward_e2e::send(
        stack
            .as_person(&owner, Method::PUT, &path)
            .header("if-match", format!("\"{}\"", current["version"]))
            .json(&changed),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let checked = check_in(&renamed).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    let counted = requests(&checked);
    assert_eq!(
        counted, "GetItem=2,Query=2,TransactWriteItems=2",
        "the first write refused; the terminal and the room read again, then written"
    );

    // The member suspended: no member was read, the write's check refuses; nothing changed,
    // and the refused request cannot be replayed.
    let (status, _) = stack
        .call(
            &owner,
            Method::POST,
            &format!("/v1/members/{}/suspend", first.user_id),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let body = json!({ "pin": suspended["check_in_pin"] })
        .to_string()
        .into_bytes();
    let signing = door.signing();
    let send_it = || {
        answer(door.request(
            Method::POST,
            "/v1/terminal/check-in",
            &body,
            body.clone(),
            &signing,
        ))
    };
    let refused = send_it().await.unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("suspended"),
        "{}",
        refused.body
    );
    let replayed = send_it().await.unwrap();
    assert_eq!(
        (replayed.status, problem_type(&replayed)),
        (401, "urn:steward:problem:terminal-unauthorized"),
        "{}",
        replayed.body
    );
    assert_eq!(
        booking(&stack, &owner, &suspended["id"]).await["status"],
        "confirmed"
    );

    // A wrong PIN is counted once: the same request replayed is a replay, not a second guess.
    let taken = [&suspended["check_in_pin"], &revoked["check_in_pin"]];
    let wrong_pin = ["000000", "111111", "222222"]
        .into_iter()
        .find(|pin| !taken.contains(&&json!(pin)))
        .unwrap();
    let wrong = json!({ "pin": wrong_pin }).to_string().into_bytes();
    let signing = door.signing();
    let guess = || {
        answer(door.request(
            Method::POST,
            "/v1/terminal/check-in",
            &wrong,
            wrong.clone(),
            &signing,
        ))
    };
    let first = guess().await.unwrap();
    assert_eq!(
        (first.status, problem_type(&first)),
        (403, "urn:steward:problem:wrong-pin"),
        "{}",
        first.body
    );
    let left = first.body["attempts_left"].as_u64().unwrap();
    let replayed = guess().await.unwrap();
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    let next = door
        .post("/v1/terminal/check-in", &json!({ "pin": wrong_pin }))
        .await
        .unwrap();
    assert_eq!(next.body["attempts_left"], left - 1, "{}", next.body);

    // The terminal revoked behind the kept one: refused, nothing changed.
    let (status, _) = stack
        .call(
            &owner,
            Method::DELETE,
            &format!("/v1/terminals/{}", door.paired.terminal_id),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let refused = check_in(&revoked).await;
    assert_eq!(
        (refused.status, problem_type(&refused)),
        (401, "urn:steward:problem:terminal-unauthorized"),
        "{}",
        refused.body
    );
    assert_eq!(
        booking(&stack, &owner, &revoked["id"]).await["status"],
        "confirmed"
    );
}
