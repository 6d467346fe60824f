//! The kit's request handling, through the gateway, on the probe function: bad input,
//! idempotency under concurrency, panics, and cursor pagination.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::{Value, json};
use steward_e2e::{Note, TestStack, send};

/// A note posted by the probe's default user of `tenant`.
fn post_note(stack: &TestStack, tenant: &str) -> reqwest::RequestBuilder {
    post_note_as(stack, tenant, &format!("{tenant}.probe-user"))
}

/// A note for `tenant`, posted by `who` (`<tenant>.<user>`, as the probe's authorizer reads it).
fn post_note_as(stack: &TestStack, tenant: &str, who: &str) -> reqwest::RequestBuilder {
    stack
        .post(&format!("/v1/probe/{tenant}/notes"))
        .header("authorization", format!("Bearer good-{who}"))
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    let stack = TestStack::start().await;
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "malformed",
            post_note(&stack, "t1")
                .header("content-type", "application/json")
                .body("{\"text\": "),
            400,
            "malformed-json",
        ),
        (
            "oversized",
            post_note(&stack, "t1").json(&json!({ "text": "x".repeat(70_000) })),
            413,
            "payload-too-large",
        ),
        (
            "wrong type",
            post_note(&stack, "t1")
                .header("content-type", "text/plain")
                .body("{\"text\":\"hi\"}"),
            415,
            "unsupported-media-type",
        ),
        (
            "unknown field",
            post_note(&stack, "t1").json(&json!({ "text": "hi", "colour": "red" })),
            422,
            "validation-failed",
        ),
        (
            "wrong field type",
            post_note(&stack, "t1").json(&json!({ "text": 5 })),
            422,
            "validation-failed",
        ),
        (
            "invalid value",
            post_note(&stack, "t1").json(&json!({ "text": "  " })),
            422,
            "validation-failed",
        ),
        (
            "bad idempotency key",
            post_note(&stack, "t1")
                .header("idempotency-key", "has spaces")
                .json(&json!({ "text": "hi" })),
            422,
            "validation-failed",
        ),
    ];
    for (name, request, status, kind) in cases {
        let (got, headers, body) = send(request).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{name}"
        );
        assert_eq!(
            body["type"],
            format!("urn:steward:problem:{kind}"),
            "{name}"
        );
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
    let (_, _, unknown) =
        send(post_note(&stack, "t1").json(&json!({ "text": "hi", "colour": "red" }))).await;
    assert_eq!(
        unknown["errors"],
        json!([{ "field": "colour", "message": "unknown field" }])
    );
    assert!(
        stack.notes_in_table("t1").await.is_empty(),
        "bad input changed nothing"
    );
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_execute_once() {
    let stack = TestStack::start().await;
    let key = uuid::Uuid::new_v4().to_string();
    let keyed = || {
        post_note(&stack, "t2")
            .header("idempotency-key", &key)
            .json(&json!({ "text": "once" }))
    };
    let answers = join_all((0..20).map(|_| send(keyed()))).await;

    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _, _)| *s == 201)
        .map(|(_, _, b)| b)
        .collect();
    let in_progress = answers
        .iter()
        .filter(|(s, _, b)| *s == 409 && b["type"] == "urn:steward:problem:idempotency-in-progress")
        .count();
    assert_eq!(
        created.len() + in_progress,
        20,
        "only 201 or 409 in-progress: {answers:?}"
    );
    assert!(!created.is_empty());
    let ids: BTreeSet<&str> = created.iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "every 201 is the one note");
    let notes: Vec<Note> = stack.notes_in_table("t2").await;
    assert_eq!(notes.len(), 1, "executed once");

    // Once done: a retry replays the stored answer; the key with another body is refused.
    let (status, headers, body) = send(keyed()).await;
    assert_eq!(status, 201);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(body["id"], notes[0].id);
    let (status, _, body) = send(
        post_note(&stack, "t2")
            .header("idempotency-key", &key)
            .json(&json!({ "text": "other" })),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["type"], "urn:steward:problem:idempotency-key-reused");
    assert_eq!(stack.notes_in_table("t2").await.len(), 1);

    // Without a key, nothing is deduplicated.
    for _ in 0..2 {
        assert_eq!(
            post_note(&stack, "t3")
                .json(&json!({ "text": "twice" }))
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
    }
    assert_eq!(stack.notes_in_table("t3").await.len(), 2);
}

#[tokio::test]
async fn a_key_is_its_callers_own_and_a_replay_is_authorized_first() {
    let stack = TestStack::start().await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({ "text": "mine" });
    // Two people of one tenant with one key and one body: two requests, two notes.
    let mut ids = BTreeSet::new();
    for who in ["t6.ann", "t6.bob"] {
        let (status, headers, answer) = send(
            post_note_as(&stack, "t6", who)
                .header("idempotency-key", &key)
                .json(&body),
        )
        .await;
        assert_eq!(status, 201, "{who}: {answer}");
        assert!(headers.get("idempotent-replayed").is_none(), "{who}");
        ids.insert(answer["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 2);
    assert_eq!(stack.notes_in_table("t6").await.len(), 2);
    // Someone of another tenant with the same key: refused as themselves, with the same body
    // or another (a 422 would tell them the key is in use), and refused again on a retry.
    for text in ["mine", "other", "mine"] {
        let (status, headers, answer) = send(
            post_note_as(&stack, "t6", "t7.eve")
                .header("idempotency-key", &key)
                .json(&json!({ "text": text })),
        )
        .await;
        assert_eq!(status, 403, "{text}: {answer}");
        assert_eq!(answer["type"], "urn:steward:problem:forbidden");
        assert!(headers.get("idempotent-replayed").is_none());
    }
    // Ann's own retry is still hers.
    let (status, headers, answer) = send(
        post_note_as(&stack, "t6", "t6.ann")
            .header("idempotency-key", &key)
            .json(&body),
    )
    .await;
    assert_eq!(
        (status, headers["idempotent-replayed"].to_str().unwrap()),
        (201, "true")
    );
    assert!(ids.contains(answer["id"].as_str().unwrap()));
    assert_eq!(stack.notes_in_table("t6").await.len(), 2);
}

#[tokio::test]
async fn a_refused_request_is_replayed_as_refused() {
    let stack = TestStack::start().await;
    let key = uuid::Uuid::new_v4().to_string();
    for _ in 0..2 {
        let (status, _, body) = send(
            post_note(&stack, "t4")
                .header("idempotency-key", &key)
                .json(&json!({ "text": "" })),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(body["type"], "urn:steward:problem:validation-failed");
    }
    assert!(stack.notes_in_table("t4").await.is_empty());
}

#[tokio::test]
async fn a_panic_is_a_500_problem_with_the_request_id_and_no_internals() {
    let stack = TestStack::start().await;
    let (status, headers, body) = send(stack.post("/v1/probe/panic")).await;
    assert_eq!(status, 500);
    assert_eq!(body["type"], "urn:steward:problem:internal");
    assert_eq!(
        body["request_id"],
        headers["x-request-id"].to_str().unwrap()
    );
    assert!(!body.to_string().contains("on purpose"), "{body}");
    // The instance keeps serving.
    assert_eq!(stack.get("/v1/health").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn cursors_page_through_and_cannot_be_forged_or_moved_to_another_tenant() {
    let stack = TestStack::start().await;
    for i in 0..120 {
        let id = format!("{i:04}");
        let note = Note {
            pk: "T#alpha#NOTE".into(),
            sk: format!("NOTE#{id}"),
            id,
            text: format!("note {i}"),
        };
        stack.table.put(&note).await.unwrap();
    }
    stack
        .table
        .put(&Note {
            pk: "T#beta#NOTE".into(),
            sk: "NOTE#0000".into(),
            id: "b0".into(),
            text: "beta".into(),
        })
        .await
        .unwrap();

    let list = |tenant: &str, query: &str| stack.get(&format!("/v1/probe/{tenant}/notes{query}"));
    let (status, _, first) = send(list("alpha", "")).await;
    assert_eq!(status, 200);
    assert_eq!(
        first["items"].as_array().unwrap().len(),
        50,
        "default limit"
    );

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=50&cursor={c}"),
            None => "?limit=50".to_owned(),
        };
        let (status, _, page) = send(list("alpha", &query)).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        sizes.push(items.len());
        seen.extend(
            items
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes.iter().sum::<usize>(), 120);
    assert!(sizes.iter().all(|s| *s <= 50));
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 120, "no note twice");

    let (status, _, page) = send(list("alpha", "?limit=200")).await;
    assert_eq!(
        (status, page["items"].as_array().unwrap().len()),
        (200, 120)
    );
    for bad in ["?limit=201", "?limit=0", "?limit=many"] {
        let (status, _, body) = send(list("alpha", bad)).await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(body["errors"][0]["field"], "limit");
    }

    // A cursor of alpha's list, replayed on beta's: refused, and nothing of alpha leaks.
    let (_, _, page) = send(list("alpha", "?limit=10")).await;
    let alpha_cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (status, _, body) = send(list("beta", &format!("?cursor={alpha_cursor}"))).await;
    assert_eq!(status, 400);
    assert_eq!(body["type"], "urn:steward:problem:invalid-cursor");
    assert!(!body.to_string().contains("note "));

    let mut tampered = alpha_cursor.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    for forged in [
        "abc.def".to_owned(),
        String::from_utf8(tampered).unwrap(),
        "e30".to_owned(),
    ] {
        let (status, _, body) = send(list("alpha", &format!("?cursor={forged}"))).await;
        assert_eq!(status, 400, "{forged}");
        assert_eq!(body["type"], "urn:steward:problem:invalid-cursor");
    }
}

/// Every signed-in POST of a function that takes an `Idempotency-Key` is in its `KEYED_ROUTES`,
/// which names the permission a replay is decided on (a route missing would answer a retry
/// 500), and every entry is such a route of that function.
#[test]
fn every_keyed_route_names_the_permission_a_replay_is_decided_on() {
    use steward_template::{HttpAuth, Template};
    let keyed: [(&str, &[(&str, steward_authz::Permission)]); 6] = [
        ("IdentityFunction", steward_identity::KEYED_ROUTES),
        ("AccessFunction", steward_access_management::KEYED_ROUTES),
        ("RoomsFunction", steward_rooms::KEYED_ROUTES),
        ("TerminalsFunction", steward_terminals::KEYED_ROUTES),
        (
            "NotificationsFunction",
            steward_notifier::inbox::KEYED_ROUTES,
        ),
        (
            "OperationsFunction",
            steward_sweep::operations::KEYED_ROUTES,
        ),
    ];
    let template = Template::load(steward_e2e::repository_root().join("template.yaml")).unwrap();
    let routes = template.routes().unwrap();
    for (function, declared) in keyed {
        let served: BTreeSet<String> = routes
            .iter()
            .filter(|(key, f, auth)| {
                f.logical_id == function
                    && !matches!(auth, HttpAuth::None)
                    && key.to_string().starts_with("POST ")
            })
            .map(|(key, _, _)| key.to_string())
            .collect();
        let named: BTreeSet<String> = declared.iter().map(|(r, _)| (*r).to_owned()).collect();
        assert!(!served.is_empty(), "{function} serves signed-in POSTs");
        assert_eq!(named, served, "{function}'s KEYED_ROUTES");
    }
}
