//! The operators' performance endpoint and caches (SPEC §F): latencies recorded by every
//! function and merged, the tenant cache's hit rate, and clearing caches across instances.

use std::time::Duration;

use http::Method;
use serde_json::Value;
use steward_e2e::{Person, TestStack, send};

async fn performance(stack: &TestStack, operator: &Person) -> Value {
    let (status, _, body) = send(stack.as_person(
        operator,
        Method::GET,
        "/v1/admin/metrics/performance?minutes=5",
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

#[tokio::test]
async fn latencies_and_cache_hits_are_recorded_served_and_the_cache_clears_everywhere() {
    let stack = TestStack::start_with(|options| {
        for (name, value) in [
            ("CacheEnabled", "true"),
            ("CacheTtlSeconds", "300"),
            ("PerformanceMetricsFlushSeconds", "0"),
            ("LicensingConfigCacheSeconds", "1"),
        ] {
            options
                .parameter_overrides
                .insert(name.into(), value.into());
        }
    })
    .await;
    let operator = stack.operator().await;
    let owner = stack.sign_up("Metric Rooms", "owner@metrics.test").await;
    for _ in 0..10 {
        let (status, _, _) = send(stack.as_person(&owner, Method::GET, "/v1/members")).await;
        assert_eq!(status, 200);
    }
    let served = performance(&stack, &operator).await;
    assert_eq!(served["enabled"], true);
    let members = &served["routes"]["GET /v1/members"];
    assert!(count(&members["count"]) >= 10, "{served}");
    let (p50, p99) = (
        members["p50_ms"].as_f64().unwrap(),
        members["p99_ms"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= p99, "{members}");
    assert!(
        count(&served["permission_check"]["count"]) >= 10,
        "{served}"
    );
    let cache = &served["cache"];
    assert!(
        count(&cache["hits"]) >= 9,
        "the tenant is read once, then cached: {cache}"
    );
    assert!(cache["hit_rate"].as_f64().unwrap() > 0.5, "{cache}");

    // Clearing moves the epoch; the access function's guard (another instance) notices it
    // with the licensing switches and reads the tenant afresh.
    let (status, _, cleared) =
        send(stack.as_person(&operator, Method::POST, "/v1/admin/cache/clear")).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["epoch"], 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = performance(&stack, &operator).await;
    send(stack.as_person(&owner, Method::GET, "/v1/members")).await;
    send(stack.as_person(&owner, Method::GET, "/v1/members")).await;
    let after = performance(&stack, &operator).await;
    let misses = count(&after["cache"]["misses"]) - count(&before["cache"]["misses"]);
    let hits = count(&after["cache"]["hits"]) - count(&before["cache"]["hits"]);
    // The performance reads themselves go through the operations function's guard too.
    assert!(
        misses >= 1,
        "the cleared tenant is read again: {misses} misses, {hits} hits"
    );

    // Bad input, and tenants, are refused.
    let (status, _, problem) = send(stack.as_person(
        &operator,
        Method::GET,
        "/v1/admin/metrics/performance?minutes=0",
    ))
    .await;
    assert_eq!(status, 422, "{problem}");
    let (status, _, refused) =
        send(stack.as_person(&owner, Method::POST, "/v1/admin/cache/clear")).await;
    assert_eq!(status, 403, "{refused}");
}

#[tokio::test]
async fn with_metrics_off_nothing_is_recorded() {
    let stack = TestStack::start_with(|options| {
        options
            .parameter_overrides
            .insert("PerformanceMetricsEnabled".into(), "false".into());
    })
    .await;
    let operator = stack.operator().await;
    let owner = stack.sign_up("Quiet Metrics", "owner@nometrics.test").await;
    send(stack.as_person(&owner, Method::GET, "/v1/members")).await;
    let served = performance(&stack, &operator).await;
    assert_eq!(served["enabled"], false);
    assert_eq!(served["intervals"], 0);
    assert!(served["permission_check"].is_null());
}

fn statuses(checklist: &Value) -> Vec<(String, String)> {
    checklist["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_onboarding_checklist_follows_the_data_and_the_admins_marks() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Onboard Rooms", "owner@onboard.test").await;
    let (status, _, fresh) = send(stack.as_person(&owner, Method::GET, "/v1/onboarding")).await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(
        (fresh["completed"].as_u64(), fresh["percent"].as_u64()),
        (Some(0), Some(0))
    );

    // Inviting someone is the data showing the first step.
    let member = stack.join(&owner, "member@onboard.test", &["member"]).await;
    let (status, _, after) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/onboarding/steps/review_roles")
            .json(&serde_json::json!({ "status": "done" })),
    )
    .await;
    assert_eq!(status, 200, "{after}");
    let (_, _, after) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/onboarding/steps/pair_terminal")
            .json(&serde_json::json!({ "status": "skipped" })),
    )
    .await;
    let expected: Vec<(String, String)> = [
        ("invite_members", "done"),
        ("create_rooms", "pending"),
        ("pair_terminal", "skipped"),
        ("first_booking", "pending"),
        ("review_roles", "marked_done"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(statuses(&after), expected);
    assert_eq!(after["percent"], 60);
    assert_eq!(after["steps"][4]["marked"]["by"], owner.user_id.as_str());

    // A member neither reads nor advances it (it needs licence:read and settings:update);
    // bad input changes nothing.
    let (status, _, refused) = send(stack.as_person(&member, Method::GET, "/v1/onboarding")).await;
    assert_eq!(status, 403, "{refused}");
    let (status, _, refused) = send(
        stack
            .as_person(&member, Method::POST, "/v1/onboarding/steps/create_rooms")
            .json(&serde_json::json!({ "status": "done" })),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    let (status, _, _) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/onboarding/steps/create_rooms")
            .json(&serde_json::json!({ "status": "later" })),
    )
    .await;
    assert_eq!(status, 422);
    let (_, _, unchanged) = send(stack.as_person(&owner, Method::GET, "/v1/onboarding")).await;
    assert_eq!(unchanged["percent"], 60);

    // The operators' aggregates count it: a refresh queues each tenant's checklist for the
    // sweep's workers, and the next refresh sums what they kept.
    let operator = stack.operator().await;
    let refresh = || send(stack.as_person(&operator, Method::POST, "/v1/admin/refresh-views"));
    let (status, _, first) = refresh().await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["onboarding"]["queued"], 1, "{first}");
    assert_eq!(
        first["onboarding"]["tenants"], 0,
        "nothing computed yet: {first}"
    );
    stack.drained("SweepQueue").await;
    let (_, _, view) = refresh().await;
    assert_eq!(view["onboarding"]["tenants"], 1, "{view}");
    assert_eq!(view["onboarding"]["average_percent"], 60.0);
    assert_eq!(view["onboarding"]["complete"], 0);
}

#[tokio::test]
async fn with_the_wizard_off_there_is_no_checklist() {
    let stack = TestStack::start_with(|options| {
        options
            .parameter_overrides
            .insert("OnboardingWizardEnabled".into(), "false".into());
    })
    .await;
    let owner = stack.sign_up("No Wizard", "owner@nowizard.test").await;
    let (status, _, problem) = send(stack.as_person(&owner, Method::GET, "/v1/onboarding")).await;
    assert_eq!(status, 404, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ONBOARDING_WIZARD_ENABLED")
    );
}

#[tokio::test]
async fn an_instance_writes_its_last_latencies_when_it_is_shut_down() {
    use steward_kit::latency::Snapshot;
    use steward_store::metrics::{MetricsRecord, MetricsStore};

    // An interval longer than the test: nothing is written while it runs.
    let stack = TestStack::with_parameters(&[("PerformanceMetricsFlushSeconds", "3600")]).await;
    let owner = stack.sign_up("Last Rooms", "owner@last.test").await;
    for _ in 0..3 {
        let (status, _, body) = send(stack.as_person(&owner, Method::GET, "/v1/members")).await;
        assert_eq!(status, 200, "{body}");
    }
    let metrics = MetricsStore::new(stack.table.clone());
    let written = || async {
        let now = jiff::Timestamp::now().as_millisecond();
        let records: Vec<MetricsRecord<Snapshot>> = metrics
            .since(now - 3_600_000, now + 60_000)
            .await
            .expect("read the recorded latencies");
        records
            .iter()
            .filter_map(|r| r.snapshot.latencies.get("route:GET /v1/members"))
            .map(|histogram| histogram.count())
            .sum::<u64>()
    };
    assert_eq!(written().await, 0, "written before its interval ended");

    // As Lambda ends the sandboxes: each instance is told, and writes what it kept.
    let TestStack { stack: running, .. } = stack;
    running.stop().await;
    assert_eq!(written().await, 3);
}
