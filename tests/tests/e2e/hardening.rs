//! What an attacker found (issue 23), each through the API as the attacker would send it: an
//! outsider, a malicious member, a stolen door terminal. Every test here failed before its fix.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, send};

/// A stack whose authorizer decides every request afresh, so that a role change, a suspension
/// or a sign-out is seen by the next request.
async fn stack() -> TestStack {
    TestStack::with_parameters(&[("AuthorizerCacheSeconds", "0")]).await
}

/// `method` on `path` as `who` with `body` and `Idempotency-Key: key`.
async fn keyed(
    stack: &TestStack,
    who: &Person,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    send(
        stack
            .as_person(who, Method::POST, path)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

/// `requester` asks for a change that needs dual approval, and `approver` approves it.
async fn approved(
    stack: &TestStack,
    (requester, approver): (&Person, &Person),
    method: Method,
    path: &str,
    body: Option<Value>,
) {
    let mut request = stack.as_person(requester, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, _, requested) = send(request).await;
    assert_eq!(status, 202, "{path}: {requested}");
    let id = requested["change_request"]["id"].as_str().unwrap();
    let approve = format!("/v1/change-requests/{id}/approve");
    let (status, _, answer) = send(stack.as_person(approver, Method::POST, &approve)).await;
    assert_eq!(status, 200, "{approve}: {answer}");
}

mod idempotent_replays {
    use super::*;

    #[tokio::test]
    async fn a_key_is_its_senders_and_nobody_elses() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let member = stack.join(&owner, "mia@acme.test", &["member"]).await;
        let invite = json!({ "email": "new-admin@acme.test", "roles": ["admin"] });

        // The member poisons a key before the owner uses it: their 403 is theirs alone.
        let (status, _, answer) = keyed(&stack, &member, "/v1/invitations", "k-1", &invite).await;
        assert_eq!(status, 403, "{answer}");
        let (status, headers, created) =
            keyed(&stack, &owner, "/v1/invitations", "k-1", &invite).await;
        assert_eq!(status, 201, "the owner's request runs: {created}");
        assert!(headers.get("idempotent-replayed").is_none());
        let token = created["token"].as_str().expect("the token, shown once");

        // The member with the owner's key and body: refused as themselves, never the owner's
        // 201 with its token; with another body, still 403 (a 422 would tell them the key is
        // in use in the tenant).
        for body in [
            invite.clone(),
            json!({ "email": "x@acme.test", "roles": ["member"] }),
        ] {
            let (status, headers, answer) =
                keyed(&stack, &member, "/v1/invitations", "k-1", &body).await;
            assert_eq!(status, 403, "{answer}");
            assert_eq!(answer["type"], "urn:steward:problem:forbidden");
            assert!(headers.get("idempotent-replayed").is_none());
            assert!(!answer.to_string().contains(token));
        }
        // The owner's retry is replayed to the owner.
        let (status, headers, replayed) =
            keyed(&stack, &owner, "/v1/invitations", "k-1", &invite).await;
        assert_eq!(
            (status, headers["idempotent-replayed"].to_str().unwrap()),
            (201, "true")
        );
        assert_eq!(replayed["token"], created["token"]);
        let (_, _, invitations) =
            send(stack.as_person(&owner, Method::GET, "/v1/invitations")).await;
        assert_eq!(
            invitations["items"].as_array().unwrap().len(),
            2,
            "{invitations}"
        );
    }

    #[tokio::test]
    async fn a_replay_is_authorized_before_it_is_answered() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let admin = stack.join(&owner, "ada@acme.test", &["admin"]).await;
        let approver = stack.join(&owner, "bo@acme.test", &["admin"]).await;
        let invite = json!({ "email": "sam@acme.test", "roles": ["member"] });
        let (status, _, created) = keyed(&stack, &admin, "/v1/invitations", "k-2", &invite).await;
        assert_eq!(status, 201, "{created}");

        // The admin is made a member (each change approved by a second admin); their retry no
        // longer hands out the invitation's token.
        let roles = format!("/v1/members/{}/roles", admin.user_id);
        approved(
            &stack,
            (&owner, &approver),
            Method::POST,
            &roles,
            Some(json!({ "role": "member" })),
        )
        .await;
        approved(
            &stack,
            (&owner, &approver),
            Method::DELETE,
            &format!("{roles}/admin"),
            None,
        )
        .await;
        let (status, headers, answer) =
            keyed(&stack, &admin, "/v1/invitations", "k-2", &invite).await;
        assert_eq!(status, 403, "{answer}");
        assert!(headers.get("idempotent-replayed").is_none());
        assert!(answer.get("token").is_none());
    }

    #[tokio::test]
    async fn a_rotated_refresh_token_gets_nothing_from_its_key() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let refresh = |token: &str| {
            stack
                .post("/v1/auth/refresh")
                .header("idempotency-key", "refresh-1")
                .json(&json!({ "refresh_token": token }))
        };
        let (status, _, rotated) = send(refresh(&owner.refresh_token)).await;
        assert_eq!(status, 200, "{rotated}");
        let live = rotated["refresh_token"].as_str().unwrap();

        // Whoever holds the spent token and the key: no replay of the live token; reuse is
        // detected and the family revoked, the live token with it.
        let (status, headers, answer) = send(refresh(&owner.refresh_token)).await;
        assert_eq!(status, 401, "{answer}");
        assert!(headers.get("idempotent-replayed").is_none());
        assert!(!answer.to_string().contains(live));
        assert_eq!(send(refresh(live)).await.0, 401, "the family is revoked");
    }
}

mod door_pin_lockout {
    use super::*;
    use jiff::{SignedDuration, Timestamp};
    use steward_terminal::{Answer, Terminal};

    /// A stack whose terminals function keeps terminals and rooms between requests (a warm
    /// instance), with a door whose PINs lock after 3 wrong ones; a booking in its check-in
    /// window now, and a PIN that is not its.
    async fn door() -> (TestStack, Person, Terminal, Value, &'static str) {
        let stack = TestStack::with_parameters(&[
            ("CacheEnabled", "true"),
            ("CacheTtlSeconds", "300"),
            ("AuthorizerCacheSeconds", "0"),
        ])
        .await;
        let owner = stack.sign_up("Door", "owner@door.test").await;
        let room = stack.check_in_room(&owner, "Cedar").await;
        let (status, policy) = stack
            .call(
                &owner,
                Method::PUT,
                "/v1/settings/check-in",
                json!({ "opens_minutes_before": 30, "pin_attempts": 3 }),
            )
            .await;
        assert_eq!(status, 200, "{policy}");
        let door = stack.terminal(&owner, &room).await;
        let at = |minutes: i64| {
            let at = Timestamp::now() + SignedDuration::from_mins(minutes);
            Timestamp::from_second(at.as_second()).unwrap().to_string()
        };
        let (status, booking) = stack
            .call(
                &owner,
                Method::POST,
                "/v1/bookings",
                json!({ "room_id": room, "title": "Review", "start": at(5), "end": at(35) }),
            )
            .await;
        assert_eq!(status, 201, "{booking}");
        let wrong = if booking["check_in_pin"] == "111111" {
            "222222"
        } else {
            "111111"
        };
        // The door's status read: the instance now keeps the terminal and its room.
        assert_eq!(door.status().await.unwrap().status, 200);
        (stack, owner, door, booking, wrong)
    }

    fn kind(answer: &Answer) -> (u16, &str) {
        (
            answer.status,
            answer.body["type"].as_str().unwrap_or_default(),
        )
    }

    async fn status_of(stack: &TestStack, owner: &Person, booking: &Value) -> Value {
        let path = format!("/v1/bookings/{}", booking["id"].as_str().unwrap());
        let (status, _, read) = send(stack.as_person(owner, Method::GET, &path)).await;
        assert_eq!(status, 200, "{read}");
        read["status"].clone()
    }

    #[tokio::test]
    async fn a_locked_door_answers_every_pin_alike_on_a_warm_instance() {
        let (stack, owner, door, booking, wrong) = door().await;
        let check_in = |pin: &str| {
            let body = json!({ "pin": pin });
            let door = &door;
            async move { door.post("/v1/terminal/check-in", &body).await }
        };
        for left in [2, 1, 0] {
            let answer = check_in(wrong).await.unwrap();
            assert_eq!(
                kind(&answer),
                (403, "urn:steward:problem:wrong-pin"),
                "{}",
                answer.body
            );
            assert_eq!(answer.body["attempts_left"], left);
        }
        // Locked: a wrong PIN and the right one get the same answer (no oracle), and the
        // booking is not checked in.
        let (after_wrong, after_right) = (
            check_in(wrong).await.unwrap(),
            check_in(booking["check_in_pin"].as_str().unwrap())
                .await
                .unwrap(),
        );
        for answer in [&after_wrong, &after_right] {
            assert_eq!(
                kind(answer),
                (429, "urn:steward:problem:pin-locked"),
                "{}",
                answer.body
            );
            assert!(answer.headers.get("retry-after").is_some());
        }
        assert_eq!(status_of(&stack, &owner, &booking).await, "confirmed");
    }

    #[tokio::test]
    async fn an_offline_upload_is_held_to_the_lock_item_by_item() {
        let (stack, owner, door, booking, wrong) = door().await;
        let now = Timestamp::now();
        let item = |i: usize, pin: &Value| {
            json!({ "id": format!("item-{i}"), "kind": "check_in",
                    "device_time": (now - SignedDuration::from_secs(60 - i as i64)).to_string(),
                    "pin": pin })
        };
        let mut items: Vec<Value> = (0..12).map(|i| item(i, &json!(wrong))).collect();
        items.push(item(12, &booking["check_in_pin"]));
        let synced = door
            .post("/v1/terminal/sync", &json!({ "items": items }))
            .await
            .unwrap();
        assert_eq!(synced.status, 200, "{}", synced.body);
        let results = synced.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 13);
        assert!(
            results.iter().all(|r| r["outcome"] == "rejected"),
            "every item refused, the right PIN's too: {}",
            synced.body
        );
        let last = results.iter().find(|r| r["id"] == "item-12").unwrap();
        assert!(
            last["detail"]
                .as_str()
                .unwrap()
                .contains("too many wrong PINs"),
            "{last}"
        );
        assert_eq!(status_of(&stack, &owner, &booking).await, "confirmed");
        // Online too, the door is locked.
        let online = door
            .post(
                "/v1/terminal/check-in",
                &json!({ "pin": booking["check_in_pin"] }),
            )
            .await
            .unwrap();
        assert_eq!(
            kind(&online),
            (429, "urn:steward:problem:pin-locked"),
            "{}",
            online.body
        );
    }

    #[tokio::test]
    async fn a_revoked_door_learns_nothing_of_pins_or_badges() {
        let (stack, owner, door, booking, wrong) = door().await;
        let (status, _, badge) = send(
            stack
                .as_person(&owner, Method::PUT, "/v1/badges/04A1B2C3")
                .json(&json!({ "member_id": owner.user_id })),
        )
        .await;
        assert!(status < 300, "{badge}");
        // Kept by this instance from a check-in it refused.
        let warm = door
            .post("/v1/terminal/check-in", &json!({ "pin": wrong }))
            .await
            .unwrap();
        assert_eq!(
            kind(&warm),
            (403, "urn:steward:problem:wrong-pin"),
            "{}",
            warm.body
        );
        let path = format!("/v1/terminals/{}", door.paired.terminal_id);
        let (status, _, _) = send(stack.as_person(&owner, Method::DELETE, &path)).await;
        assert_eq!(status, 204);
        for presented in [
            json!({ "pin": wrong }),
            json!({ "badge": "0E0E0E0E" }),
            json!({ "badge": "04A1B2C3" }),
            json!({ "pin": booking["check_in_pin"] }),
        ] {
            let answer = door
                .post("/v1/terminal/check-in", &presented)
                .await
                .unwrap();
            assert_eq!(
                kind(&answer),
                (401, "urn:steward:problem:terminal-unauthorized"),
                "{presented}: {}",
                answer.body
            );
            assert!(answer.body.get("attempts_left").is_none());
        }
        assert_eq!(status_of(&stack, &owner, &booking).await, "confirmed");
    }
}

mod suspended_owners {
    use super::*;

    #[tokio::test]
    async fn an_admin_cannot_reinstate_or_remove_a_suspended_owner() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let second = stack
            .join(&owner, "second-owner@acme.test", &["owner"])
            .await;
        let admin = stack.join(&owner, "ada@acme.test", &["admin"]).await;
        let member = |path: &str| format!("/v1/members/{}{path}", second.user_id);
        let (status, _, answer) =
            send(stack.as_person(&owner, Method::POST, &member("/suspend"))).await;
        assert_eq!(status, 200, "{answer}");

        for (method, path) in [
            (Method::POST, member("/reinstate")),
            (Method::DELETE, member("")),
            (Method::DELETE, member("/roles/owner")),
        ] {
            let (status, _, answer) = send(stack.as_person(&admin, method, &path)).await;
            assert_eq!(status, 403, "{path}: {answer}");
            assert!(
                answer["detail"].as_str().unwrap().contains("only an owner"),
                "{answer}"
            );
        }
        let (_, _, read) = send(stack.as_person(&owner, Method::GET, &member(""))).await;
        assert_eq!(read["status"], "suspended", "{read}");
        assert_eq!(read["roles"], json!(["owner"]));
        // An owner may.
        let (status, _, answer) =
            send(stack.as_person(&owner, Method::POST, &member("/reinstate"))).await;
        assert_eq!(status, 200, "{answer}");
    }
}

mod sign_in_throttle {
    use std::net::IpAddr;

    use super::*;
    use steward_e2e::PASSWORD;

    /// A sign-in from `source` (a loopback address the gateway sees as the caller's): its status.
    async fn sign_in_from(stack: &TestStack, source: &str, email: &str, password: &str) -> u16 {
        let client = reqwest::Client::builder()
            .local_address(source.parse::<IpAddr>().unwrap())
            .build()
            .unwrap();
        let request = client
            .post(stack.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }));
        send(request).await.0
    }

    #[tokio::test]
    async fn a_stranger_locks_out_only_themselves_and_guessing_stays_slow() {
        let stack = TestStack::with_parameters(&[("SignInFailuresPerAccount", "10")]).await;
        let email = "owner@acme.test";
        stack.sign_up("Acme Rooms", email).await;
        let (owner, stranger, wrong) = ("127.0.0.1", "127.0.0.2", "wrong guess number");
        let mut steps = vec![
            // The owner signs in where they usually do: that source is known to the account.
            (owner, PASSWORD, 200),
        ];
        // A stranger guesses: five wrong passwords, then refused, the right one too; the owner
        // is not locked out by it.
        steps.extend([(stranger, wrong, 401); 5]);
        steps.extend([
            (stranger, wrong, 429),
            (stranger, PASSWORD, 429),
            (owner, PASSWORD, 200),
        ]);
        // Guessing spread over sources reaches the account's ceiling (10 here): sources never
        // seen to sign in are refused, the right password too; the owner's known source is not.
        steps.extend([("127.0.0.3", wrong, 401); 5]);
        steps.extend([("127.0.0.4", PASSWORD, 429), (owner, PASSWORD, 200)]);
        for (i, (source, password, status)) in steps.into_iter().enumerate() {
            let got = sign_in_from(&stack, source, email, password).await;
            assert_eq!(got, status, "step {i}: from {source}");
        }
    }
}

/// Tomorrow at `hour`:00 UTC, as RFC 3339.
fn tomorrow_at(hour: u32) -> String {
    format!("{}T{hour:02}:00:00Z", steward_e2e::days_ahead(1))
}

/// `owner` makes a room named `name` (its rules open to any booking tomorrow).
async fn room_named(stack: &TestStack, owner: &Person, name: &str) -> (u16, Value) {
    stack
        .call(
            owner,
            Method::POST,
            "/v1/rooms",
            json!({ "name": name, "time_zone": "Europe/London", "capacity": 6 }),
        )
        .await
}

mod text_limits {
    use super::*;

    #[tokio::test]
    async fn long_or_control_text_is_refused_and_changes_nothing() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let (status, room) = room_named(&stack, &owner, "Atlas").await;
        assert_eq!(status, 201, "{room}");
        let room_id = room["id"].as_str().unwrap();
        let booking = |title: &str| json!({ "room_id": room_id, "start": tomorrow_at(9), "end": tomorrow_at(10), "title": title });
        for (body, field) in [
            (booking(&"x".repeat(60_000)), "title"),
            (booking(&"x".repeat(201)), "title"),
            (booking("Review\u{0}"), "title"),
            (booking("Review\u{7}"), "title"),
            (booking("two\nlines"), "title"),
            (booking("Review\u{7f}"), "title"),
        ] {
            let (status, answer) = stack.call(&owner, Method::POST, "/v1/bookings", body).await;
            assert_eq!(status, 422, "{answer}");
            assert_eq!(answer["errors"][0]["field"], field, "{answer}");
        }
        // A room, a closure's reason, a terminal's name: the same rules.
        let (status, answer) = room_named(&stack, &owner, &"x".repeat(101)).await;
        assert_eq!(
            (status, answer["errors"][0]["field"].as_str()),
            (422, Some("name"))
        );
        let (status, answer) = room_named(&stack, &owner, "Atlas\u{1b}[31m").await;
        assert_eq!(status, 422, "{answer}");
        let (status, answer) = stack
            .call(
                &owner,
                Method::POST,
                "/v1/terminals",
                json!({ "room_id": room_id, "name": "Door\u{0}" }),
            )
            .await;
        assert_eq!(status, 422, "{answer}");
        // The CSV import holds each row to them too.
        let sheet = format!(
            "room_id,start,end,title\n{room_id},{},{},{}\n",
            tomorrow_at(11),
            tomorrow_at(12),
            "y".repeat(60_000)
        );
        let (status, answer) = stack.import(&owner, "/v1/imports/bookings", &sheet).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["field"], "rows[2].title", "{answer}");
        let bell = format!(
            "room_id,start,end,title\n{room_id},{},{},bell\u{7}\n",
            tomorrow_at(11),
            tomorrow_at(12)
        );
        let (status, answer) = stack.import(&owner, "/v1/imports/bookings", &bell).await;
        assert_eq!(status, 422, "{answer}");

        let path = format!(
            "/v1/bookings?room_id={room_id}&from={}&to={}",
            tomorrow_at(0),
            tomorrow_at(23)
        );
        let (_, _, listed) = send(stack.as_person(&owner, Method::GET, &path)).await;
        assert_eq!(listed["items"], json!([]), "nothing was booked");
        let (_, _, rooms) = send(stack.as_person(&owner, Method::GET, "/v1/rooms")).await;
        assert_eq!(rooms["items"].as_array().unwrap().len(), 1, "{rooms}");
    }

    #[tokio::test]
    async fn a_large_export_is_handed_out_as_a_short_lived_attachment() {
        let stack = TestStack::with_parameters(&[("ExportInlineMaxBytes", "1000")]).await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let (_, room) = room_named(&stack, &owner, "Atlas").await;
        let room_id = room["id"].as_str().unwrap();
        // Small: inline.
        let (status, headers, _) =
            send(stack.as_person(&owner, Method::GET, "/v1/exports/rooms")).await;
        assert_eq!(status, 200);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        for hour in 8..14 {
            let body = json!({ "room_id": room_id, "start": tomorrow_at(hour), "end": tomorrow_at(hour + 1),
                               "title": format!("Planning session number {hour} of the quarter") });
            assert_eq!(
                stack
                    .call(&owner, Method::POST, "/v1/bookings", body)
                    .await
                    .0,
                201
            );
        }
        let path = format!(
            "/v1/exports/bookings?from={}&to={}",
            tomorrow_at(0),
            tomorrow_at(23)
        );
        let unfollowed = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = unfollowed
            .get(stack.url(&path))
            .bearer_auth(&owner.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let link = response.headers()["location"].to_str().unwrap().to_owned();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["url"], link.as_str());
        assert!(link.contains("X-Amz-Expires=300"), "{link}");
        let file = reqwest::get(&link).await.unwrap();
        assert_eq!(file.status(), 200);
        let disposition = file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\"bookings.csv\""),
            "{disposition}"
        );
        let text = file.text().await.unwrap();
        assert!(text.len() > 1000, "{text}");
        assert_eq!(
            text.lines().count(),
            7,
            "the header and six bookings: {text}"
        );
    }
}

mod output_that_runs {
    use super::*;
    use steward_e2e::sweeps::{start_run, wait_for_run};

    #[tokio::test]
    async fn no_csv_cell_steward_writes_is_a_formula() {
        let stack = stack().await;
        let tenant = "=HYPERLINK(\"http://evil.test\",\"click\")";
        let owner = stack.sign_up(tenant, "owner@acme.test").await;
        let (status, room) = room_named(&stack, &owner, "=cmd|' /C calc'!A0").await;
        assert_eq!(status, 201, "{room}");
        let room_id = room["id"].as_str().unwrap();
        for (hour, title) in [
            (9, "+SUM(1,2)"),
            (10, "@SUM(1,2)"),
            (11, "-2+3"),
            (12, "Plain"),
        ] {
            let body = json!({ "room_id": room_id, "start": tomorrow_at(hour), "end": tomorrow_at(hour + 1), "title": title });
            assert_eq!(
                stack
                    .call(&owner, Method::POST, "/v1/bookings", body)
                    .await
                    .0,
                201
            );
        }
        let read = |path: String| {
            let request = stack.as_person(&owner, Method::GET, &path);
            async move { request.send().await.unwrap().text().await.unwrap() }
        };
        let cells = |text: &str| -> Vec<String> {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes());
            reader
                .records()
                .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
                .collect()
        };
        let rooms = cells(&read("/v1/exports/rooms".into()).await);
        let bookings = cells(
            &read(format!(
                "/v1/exports/bookings?from={}&to={}",
                tomorrow_at(0),
                tomorrow_at(23)
            ))
            .await,
        );
        for cell in rooms.iter().chain(&bookings) {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
        assert!(
            rooms.contains(&"'=cmd|' /C calc'!A0".to_owned()),
            "{rooms:?}"
        );
        for title in ["'+SUM(1,2)", "'@SUM(1,2)", "'-2+3", "Plain"] {
            assert!(
                bookings.contains(&title.to_owned()),
                "{title}: {bookings:?}"
            );
        }
        // An export imported again reads the names back as they were.
        let (_, _, list) = send(stack.as_person(&owner, Method::GET, "/v1/rooms")).await;
        assert_eq!(list["items"][0]["name"], "=cmd|' /C calc'!A0");
        let exported = read("/v1/exports/rooms".into()).await;
        let (status, report) = stack.import(&owner, "/v1/imports/rooms", &exported).await;
        assert_eq!(status, 200, "{report}");
        let (_, _, list) = send(stack.as_person(&owner, Method::GET, "/v1/rooms")).await;
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0"]);

        // The licence sweep's report: the tenant's name is the tenant's own text.
        let operator = stack.operator().await;
        let run_id = start_run(&stack, &operator).await;
        let run = wait_for_run(&stack, &operator, &run_id).await;
        let bucket = steward_store::objects::Bucket::new(
            stack.aws(),
            run["report"]["bucket"].as_str().unwrap(),
        );
        let report = bucket
            .get(run["report"]["csv_key"].as_str().unwrap())
            .await
            .unwrap();
        let cells = cells(std::str::from_utf8(&report).unwrap());
        assert!(cells.contains(&format!("'{tenant}")), "{cells:?}");
        assert!(
            !cells
                .iter()
                .any(|cell| cell.starts_with(['=', '+', '-', '@'])),
            "{cells:?}"
        );
    }
}

mod smaller_ones {
    use super::*;

    #[tokio::test]
    async fn look_alike_emails_are_one_account_or_refused() {
        let stack = stack().await;
        stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let sign_up = |email: &str| {
            stack.post("/v1/signup").json(&json!({
                "tenant_name": "Twin", "name": "Twin", "email": email, "password": steward_e2e::PASSWORD,
            }))
        };
        // The same address, however written, is the owner's: the answer is the one every
        // sign-up gets, and the owner is told instead of sent a link.
        for same in ["ｏｗｎｅｒ@acme.test", "OWNER@ACME.TEST"] {
            let (status, _, answer) = send(sign_up(same)).await;
            assert_eq!(status, 202, "{same}: {answer}");
        }
        stack.drained("AccountMailQueue").await;
        let told: Vec<_> = stack
            .sent_mail("owner@acme.test")
            .await
            .into_iter()
            .filter(|mail| mail["subject"] == "You already have a Steward account")
            .collect();
        assert_eq!(told.len(), 2, "{told:?}");
        for look_alike in [
            "owner\u{200b}@acme.test",
            "\u{043e}wner@acme.test",
            "owner@\u{0430}cme.test",
        ] {
            let (status, _, answer) = send(sign_up(look_alike)).await;
            assert_eq!(
                (status, answer["errors"][0]["field"].as_str()),
                (422, Some("email")),
                "{look_alike}"
            );
        }
        let answer = stack
            .signed_up(json!({
                "tenant_name": "Twin", "name": "Twin", "email": "\u{212a}im@acme.test",
                "password": steward_e2e::PASSWORD,
            }))
            .await;
        assert_eq!(answer["user"]["email"], "kim@acme.test");
    }

    #[tokio::test]
    async fn pairing_codes_cannot_be_guessed_at_speed() {
        let stack = stack().await;
        let guess = || {
            stack
                .post("/v1/terminals/pair")
                .json(&json!({ "pairing_code": "AAAA-BBBB-CC" }))
        };
        for _ in 0..20 {
            assert_eq!(send(guess()).await.0, 404);
        }
        let (status, headers, answer) = send(guess()).await;
        assert_eq!(status, 429, "{answer}");
        assert_eq!(answer["type"], "urn:steward:problem:too-many-requests");
        assert!(headers.get("retry-after").is_some());
    }

    #[tokio::test]
    async fn a_feed_link_is_built_from_configuration_only() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let (status, _, feed) = send(
            stack
                .as_person(&owner, Method::POST, "/v1/feeds")
                .header("host", "evil.test")
                .header("x-forwarded-proto", "javascript")
                .json(&json!({})),
        )
        .await;
        assert_eq!(status, 201, "{feed}");
        let url = feed["url"].as_str().unwrap();
        assert_eq!(
            url,
            format!("{}{}", stack.url, feed["path"].as_str().unwrap())
        );
        // And it works.
        assert_eq!(reqwest::get(url).await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn an_organiser_does_not_approve_their_own_booking() {
        let stack = stack().await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let manager = stack.join(&owner, "max@acme.test", &["manager"]).await;
        let (status, room) = stack
            .call(
                &owner,
                Method::POST,
                "/v1/rooms",
                json!({
                    "name": "Board", "time_zone": "Europe/London", "capacity": 6,
                    "rules": { "approval_required": true },
                }),
            )
            .await;
        assert_eq!(status, 201, "{room}");
        let body = json!({ "room_id": room["id"], "start": tomorrow_at(9), "end": tomorrow_at(10), "title": "Mine" });
        let (status, asked) = stack
            .call(&manager, Method::POST, "/v1/bookings", body)
            .await;
        assert_eq!(
            (status, asked["status"].as_str()),
            (201, Some("pending")),
            "{asked}"
        );
        let approve = format!("/v1/bookings/{}/approve", asked["id"].as_str().unwrap());
        let as_who = |who: &Person| {
            stack
                .as_person(who, Method::POST, &approve)
                .header("if-match", "\"1\"")
                .json(&json!({}))
        };
        let (status, _, answer) = send(as_who(&manager)).await;
        assert_eq!(status, 403, "{answer}");
        assert!(
            answer["detail"]
                .as_str()
                .unwrap()
                .contains("someone other than its organiser")
        );
        let (status, _, answer) = send(as_who(&owner)).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("confirmed")),
            "{answer}"
        );
    }
}
