//! Choosing a new password with an emailed link (issue 26, item 1), over HTTP through the local
//! gateway; the links are read from the emulator's sent mail.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steward_e2e::{PASSWORD, Person, TestStack, send};

const NEW_PASSWORD: &str = "quartz harbour lantern ferry";
const RESET_SUBJECT: &str = "Choose a new Steward password";

async fn stack() -> TestStack {
    TestStack::with_parameters(&[("AuthorizerCacheSeconds", "0")]).await
}

async fn sign_up(stack: &TestStack, email: &str) {
    stack.sign_up("Acme Rooms", email).await;
}

async fn login(stack: &TestStack, email: &str, password: &str) -> (u16, Value) {
    let (status, _, body) = send(
        stack
            .post("/v1/auth/login")
            .json(&json!({ "email": email, "password": password })),
    )
    .await;
    (status, body)
}

async fn me_status(stack: &TestStack, tokens: &Value) -> u16 {
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    send(stack.get("/v1/me").header("authorization", bearer))
        .await
        .0
}

async fn ask_reset(stack: &TestStack, email: &str) -> (u16, Value) {
    let (status, _, body) = send(
        stack
            .post("/v1/auth/password-reset")
            .json(&json!({ "email": email })),
    )
    .await;
    (status, body)
}

async fn reset(stack: &TestStack, token: &str, password: &str) -> (u16, Value) {
    let (status, _, body) = send(
        stack
            .post("/v1/auth/password-reset/confirm")
            .json(&json!({ "token": token, "new_password": password })),
    )
    .await;
    (status, body)
}

/// The tokens of every reset email `email` was sent, oldest first.
async fn reset_tokens(stack: &TestStack, email: &str) -> Vec<String> {
    stack.emailed_tokens(email, RESET_SUBJECT).await
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_emailed_link_sets_a_new_password_once_and_ends_every_session() {
    let stack = stack().await;
    let owner = stack.sign_up("Acme Rooms", "jane@acme.test").await;
    let (_, laptop) = login(&stack, "jane@acme.test", PASSWORD).await;
    let (_, phone) = login(&stack, "jane@acme.test", PASSWORD).await;

    let (status, body) = ask_reset(&stack, "Jane@Acme.test").await;
    assert_eq!(status, 202, "{body}");
    let tokens = reset_tokens(&stack, "jane@acme.test").await;
    assert_eq!(tokens.len(), 1, "one email for one ask");
    let mails = stack.sent_mail("jane@acme.test").await;
    let mail = mails
        .iter()
        .find(|mail| mail["subject"] == RESET_SUBJECT)
        .expect("the reset email");
    let html = mail["body"].to_string();
    assert!(
        html.contains("reset-password#token="),
        "the link leads to the app's page: {html}"
    );

    let (status, body) = reset(&stack, &tokens[0], NEW_PASSWORD).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(me_status(&stack, &laptop).await, 401, "every session ended");
    assert_eq!(me_status(&stack, &phone).await, 401, "every session ended");
    assert_eq!(login(&stack, "jane@acme.test", PASSWORD).await.0, 401);
    let (status, signed_in) = login(&stack, "jane@acme.test", NEW_PASSWORD).await;
    assert_eq!(status, 200, "{signed_in}");

    // The link works once: used again, it is refused and changes nothing.
    let (status, body) = reset(&stack, &tokens[0], "another fresh passphrase here").await;
    assert_eq!(status, 400, "{body}");
    assert!(problem_type(&body).ends_with("invalid-token"), "{body}");
    assert_eq!(me_status(&stack, &signed_in).await, 200);
    assert_eq!(login(&stack, "jane@acme.test", NEW_PASSWORD).await.0, 200);

    // The owner is told, and the reset is audited once.
    stack.drained("AccountMailQueue").await;
    let told = stack.sent_mail("jane@acme.test").await;
    assert!(
        told.iter()
            .any(|mail| mail["subject"] == "Your Steward password was changed"),
        "{told:?}"
    );
    let owner = Person {
        access_token: signed_in["access_token"].as_str().unwrap().to_owned(),
        refresh_token: signed_in["refresh_token"].as_str().unwrap().to_owned(),
        ..owner
    };
    let resets: Vec<Value> = stack
        .audit_entries(&owner)
        .await
        .into_iter()
        .filter(|entry| entry["action"] == "user.password_reset")
        .collect();
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(
        resets[0]["after"]["sessions_revoked"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "the two sign-ins and the sign-up's session: {resets:?}"
    );
}

#[tokio::test]
async fn an_older_an_expired_and_a_forged_link_are_refused_and_change_nothing() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    ask_reset(&stack, "jane@acme.test").await;
    stack.drained("AccountMailQueue").await;
    ask_reset(&stack, "jane@acme.test").await;
    let tokens = reset_tokens(&stack, "jane@acme.test").await;
    assert_eq!(tokens.len(), 2);
    let (older, newer) = (&tokens[0], &tokens[1]);

    let forged = format!("{}.{}", older.split('.').next().unwrap(), "A".repeat(43));
    for refused in [
        older.as_str(),
        forged.as_str(),
        "rst_0000.nothing",
        "not a token",
    ] {
        let (status, body) = reset(&stack, refused, NEW_PASSWORD).await;
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(problem_type(&body).ends_with("invalid-token"), "{body}");
        assert_eq!(login(&stack, "jane@acme.test", PASSWORD).await.0, 200);
    }

    // The newer link, once expired, is refused too.
    let reset_id = newer.split('.').next().unwrap();
    aws_sdk_dynamodb::Client::new(stack.aws())
        .update_item()
        .table_name(stack.table.name())
        .key("pk", attribute(&format!("RESET#{reset_id}")))
        .key("sk", attribute("RESET"))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N(
                (jiff::Timestamp::now().as_second() - 1).to_string(),
            ),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = reset(&stack, newer, NEW_PASSWORD).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(login(&stack, "jane@acme.test", PASSWORD).await.0, 200);
    assert_eq!(login(&stack, "jane@acme.test", NEW_PASSWORD).await.0, 401);

    // A weak new password is a 422 that spends nothing: a fresh link then works.
    ask_reset(&stack, "jane@acme.test").await;
    let fresh = reset_tokens(&stack, "jane@acme.test").await.pop().unwrap();
    let (status, body) = reset(&stack, &fresh, "short").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(reset(&stack, &fresh, NEW_PASSWORD).await.0, 204);
}

fn attribute(text: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(text.to_owned())
}

/// A client whose requests come from `127.0.0.<host>`: the throttle counts asks per source.
fn client_from(host: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn asking_answers_the_same_for_known_and_unknown_addresses() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    let ask = |client: &reqwest::Client, email: &str| {
        client
            .post(stack.url("/v1/auth/password-reset"))
            .json(&json!({ "email": email }))
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let (mut known_answer, mut unknown_answer) = (None, None);
    // 30 tries of each, interleaved, each pair from a source of its own (the throttle counts
    // asks per source); the first are not timed (connections, the functions' first calls).
    for round in 0..32_u8 {
        let client = client_from(10 + round);
        // The client's connection opened before timing, and the order alternated, so that
        // neither address's asks carry a connection's set-up or always go first.
        send(client.get(stack.url("/v1/health"))).await;
        let mut pair = [
            ("jane@acme.test", &mut known, &mut known_answer),
            ("nobody@acme.test", &mut unknown, &mut unknown_answer),
        ];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (email, times, answer) in pair {
            let started = Instant::now();
            let (status, _, body) = send(ask(&client, email)).await;
            let took = started.elapsed();
            assert_eq!(status, 202, "{email}: {body}");
            if round >= 2 {
                times.push(took);
            }
            match answer {
                None => *answer = Some(body),
                Some(first) => assert_eq!(*first, body, "{email}: the same answer every time"),
            }
        }
    }
    assert_eq!(
        known_answer, unknown_answer,
        "the same body for an address with an account and one without"
    );
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (known_median, unknown_median) = (median(&mut known), median(&mut unknown));
    println!(
        "password-reset ask, medians over {} tries: known address {known_median:?}, unknown \
         address {unknown_median:?}, difference {:?}",
        known.len(),
        known_median.abs_diff(unknown_median)
    );
    // Known: emailed (at most 5 in any hour, however often it is asked, whatever the clock
    // says); unknown: nothing.
    assert_eq!(reset_tokens(&stack, "jane@acme.test").await.len(), 5);
    assert!(stack.sent_mail("nobody@acme.test").await.is_empty());
}

#[tokio::test]
async fn one_source_asking_too_often_is_told_to_wait() {
    let stack = stack().await;
    let client = client_from(77);
    let mut statuses = Vec::new();
    for i in 0..21 {
        let (status, headers, _) = send(
            client
                .post(stack.url("/v1/auth/password-reset"))
                .json(&json!({ "email": format!("person{i}@acme.test") })),
        )
        .await;
        statuses.push((status, headers.get("retry-after").is_some()));
    }
    assert!(
        statuses[..20].iter().all(|(status, _)| *status == 202),
        "{statuses:?}"
    );
    assert_eq!(statuses[20], (429, true));
    // Another source is not held up by it.
    assert_eq!(ask_reset(&stack, "person0@acme.test").await.0, 202);
}

#[tokio::test]
async fn of_twenty_concurrent_asks_exactly_one_link_works() {
    let stack = stack().await;
    sign_up(&stack, "jane@acme.test").await;
    let asks = (0..20).map(|i| {
        let client = client_from(100 + i);
        let request = client
            .post(stack.url("/v1/auth/password-reset"))
            .json(&json!({ "email": "jane@acme.test" }));
        async move { send(request).await.0 }
    });
    let statuses = futures::future::join_all(asks).await;
    assert!(statuses.iter().all(|status| *status == 202), "{statuses:?}");
    let tokens = reset_tokens(&stack, "jane@acme.test").await;
    assert_eq!(
        tokens.len(),
        5,
        "at most five reset emails an hour to one address"
    );
    // A weak password is refused only after the link was found usable, and spends nothing:
    // it tells the usable links apart without using any.
    let mut usable = Vec::new();
    for token in &tokens {
        let (status, body) = reset(&stack, token, "short").await;
        match status {
            422 => usable.push(token),
            400 => assert!(problem_type(&body).ends_with("invalid-token"), "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(
        usable.len(),
        1,
        "exactly one usable link of {}",
        tokens.len()
    );
    assert_eq!(reset(&stack, usable[0], NEW_PASSWORD).await.0, 204);
}

#[tokio::test]
async fn a_reset_racing_twenty_sign_ins_leaves_none_of_their_sessions_alive() {
    let stack = stack().await;
    let email = "race@acme.test";
    sign_up(&stack, email).await;
    ask_reset(&stack, email).await;
    let token = reset_tokens(&stack, email).await.pop().expect("a link");

    // Sign-ins with the old password race the reset, a few milliseconds apart:
    // whichever sessions they open before it commits, it ends; after it, the old password
    // opens none.
    let sign_ins = futures::future::join_all((0..20u64).map(|i| {
        let stack = &stack;
        async move {
            tokio::time::sleep(Duration::from_millis(25 * i)).await;
            login(stack, email, PASSWORD).await
        }
    }));
    let (answers, (mut status, _)) = tokio::join!(sign_ins, reset(&stack, &token, NEW_PASSWORD));
    let first = status;
    if status == 503 {
        // Every try met a session opened since it read them: the link is unspent, and a
        // retry sets it.
        (status, _) = reset(&stack, &token, NEW_PASSWORD).await;
    }
    assert_eq!(status, 204);
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    println!("sign-ins racing the reset: {statuses:?}; the reset answered {first} first");
    assert!(
        statuses.iter().all(|s| [200, 401, 429].contains(s)),
        "{statuses:?}"
    );
    for (_, tokens) in answers.iter().filter(|(status, _)| *status == 200) {
        assert_eq!(
            me_status(&stack, tokens).await,
            401,
            "a session the old password opened outlived the reset ({statuses:?})"
        );
    }
    // The old password's failures lock this source out for the window: another signs in.
    let (status, _, tokens) = send(
        client_from(7)
            .post(stack.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": NEW_PASSWORD })),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(me_status(&stack, &tokens).await, 200);
}
