//! What the functions tell operators besides their answers, read as AWS would read it. The
//! sinks are the process's, so these tests have a binary of their own.
//!
//! - The metrics the alarms and the dashboard read are the ones the functions write. Every
//!   Embedded Metric Format line of a run through the gateway is captured and read as
//!   CloudWatch would: each answer is published by function and route, by function, and across
//!   the service, names only metrics of the catalogue (infra/monitoring/metrics.json), and
//!   carries its permission checks and tenant cache lookups; a door terminal's heartbeat is
//!   counted by the dimensions its alarm reads; a licence sweep's run writes its tenants and
//!   failed tenants once, when it ends.
//! - The traces: every span the functions end is sent to an X-Ray daemon address as Lambda's
//!   daemon would receive it (UDP datagrams of segment documents), here a socket of this test.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::sweeps::{plant_tenants, start_run, wait_for_run};
use steward_e2e::{Captured, NewRoom, TestStack, repository_root, send};
use steward_kit::traces::TraceSettings;

/// The segment documents the functions sent, as the X-Ray daemon receives them.
#[derive(Clone, Default)]
struct Daemon(Arc<Mutex<Vec<Value>>>);

impl Daemon {
    /// Every document of trace `root` (`1-…-…`) received so far.
    fn of_trace(&self, root: &str) -> Vec<Value> {
        let documents = self.0.lock().unwrap();
        documents
            .iter()
            .filter(|d| d["trace_id"] == root)
            .cloned()
            .collect()
    }
}

/// Listens as the daemon, and installs the process's logs and traces pointed at it: first
/// thing in every test of this binary, so that no stack starts before.
fn daemon() -> &'static Daemon {
    static DAEMON: OnceLock<Daemon> = OnceLock::new();
    DAEMON.get_or_init(|| {
        let socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let address = socket.local_addr().unwrap();
        let daemon = Daemon::default();
        let received = daemon.clone();
        std::thread::spawn(move || {
            let mut buffer = vec![0; 65_536];
            while let Ok(n) = socket.recv(&mut buffer) {
                // A datagram is the daemon's header line, then one segment document.
                let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
                let (header, document) = text.split_once('\n').expect("a header line");
                assert_eq!(header, r#"{"format": "json", "version": 1}"#);
                let document = serde_json::from_str(document).expect("a segment is JSON");
                received.0.lock().unwrap().push(document);
            }
        });
        steward_kit::telemetry::init_for_tests_with_traces(TraceSettings { daemon: address });
        daemon
    })
}

/// Each captured line as the JSON document it is.
fn documents(lines: &Captured) -> Vec<Value> {
    lines
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).expect("an EMF line is JSON"))
        .collect()
}

#[tokio::test]
async fn every_answer_is_published_per_route_group_and_service_wide_with_catalogued_metrics() {
    daemon();
    let lines = Captured::default();
    steward_kit::metrics::redirect(Box::new(lines.clone()));
    let stack = TestStack::start_with(|options| {
        // A failed sweep delivery is tried again after a second, twice at most.
        options.retry_delay = Some(Duration::from_secs(1));
        for (name, value) in [
            ("CacheEnabled", "true"),
            ("CacheTtlSeconds", "300"),
            ("SweepMaxReceiveCount", "2"),
        ] {
            options
                .parameter_overrides
                .insert(name.into(), value.into());
        }
    })
    .await;
    let owner = stack.sign_up("Counted Rooms", "owner@counted.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Abacus").rules(json!({})))
        .await;
    for _ in 0..2 {
        let (status, _, body) = send(stack.as_person(&owner, Method::GET, "/v1/rooms")).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, body) =
        send(stack.as_person(&owner, Method::GET, &format!("/v1/rooms/{room}"))).await;
    assert_eq!(status, 200, "{body}");
    // A door terminal's heartbeat: what the terminals-offline alarm counts.
    let terminal = stack.terminal(&owner, &room).await;
    let beat = terminal
        .post(
            "/v1/terminal/heartbeat",
            &json!({ "app_version": "test-1" }),
        )
        .await
        .unwrap();
    assert_eq!(beat.status, 204);

    let catalogue: Value = serde_json::from_str(
        &std::fs::read_to_string(repository_root().join("infra/monitoring/metrics.json")).unwrap(),
    )
    .unwrap();
    let known = catalogue["metrics"].as_object().unwrap();
    let documents = documents(&lines);
    let answers: Vec<&Value> = documents
        .iter()
        .filter(|d| d.get("Route").is_some())
        .collect();
    assert!(answers.len() >= 5, "{documents:?}");
    for document in &documents {
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Steward");
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(known.contains_key(name), "{name} is not in the catalogue");
            assert!(
                document.get(name).is_some(),
                "{name} has no value: {document}"
            );
        }
    }
    for answer in &answers {
        let directive = &answer["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            directive["Dimensions"],
            json!([["Function", "Route"], ["Function"], []]),
            "{answer}"
        );
        assert!(answer["Latency"].as_f64().unwrap() > 0.0, "{answer}");
        assert_eq!(answer["Requests"], 1.0, "{answer}");
    }
    // The alarm reads Requests by these two dimensions (infra/monitoring/alarms.py).
    let beats: Vec<&&Value> = answers
        .iter()
        .filter(|a| a["Route"] == "POST /v1/terminal/heartbeat")
        .collect();
    assert_eq!(beats.len(), 1, "{answers:?}");
    assert!(
        beats[0]["Function"]
            .as_str()
            .is_some_and(|f| f.ends_with("-TerminalsFunction")),
        "{}",
        beats[0]
    );
    let rooms_reads: Vec<&&Value> = answers
        .iter()
        .filter(|a| a["Route"] == "GET /v1/rooms")
        .collect();
    assert_eq!(rooms_reads.len(), 2);
    for read in &rooms_reads {
        // A signed-in read decides its permission once.
        let checks = &read["PermissionCheckLatency"];
        assert!(checks.as_f64().is_some_and(|ms| ms > 0.0), "{read}");
    }
    // The tenant was read for the first request, then kept: a warm read is a cache hit.
    let lookups: Vec<(f64, f64)> = answers
        .iter()
        .filter_map(|a| Some((a["CacheHits"].as_f64()?, a["CacheMisses"].as_f64()?)))
        .collect();
    assert!(lookups.iter().any(|(hits, _)| *hits >= 1.0), "{lookups:?}");
    assert!(
        lookups.iter().any(|(_, misses)| *misses >= 1.0),
        "{lookups:?}"
    );
    // One process, one cold start: the first answer it gave.
    let cold: Vec<&&Value> = answers
        .iter()
        .filter(|a| a.get("ColdStarts").is_some())
        .collect();
    assert_eq!(cold.len(), 1, "{cold:?}");
    assert_eq!(cold[0]["ColdStarts"], 1.0);

    // A licence sweep writes, once, when its run ends (through the sweep queue's workers), the
    // tenants it checked and those it could not: what the sweep's alarm reads. One planted
    // tenant cannot be read.
    let operator = stack.operator().await;
    plant_tenants(&stack, "counted", 16, 1).await;
    let run_id = start_run(&stack, &operator).await;
    let run = wait_for_run(&stack, &operator, &run_id).await;
    let sweeps: Vec<Value> = self::documents(&lines)
        .into_iter()
        .filter(|d| d["run_id"] == run_id.as_str())
        .collect();
    assert_eq!(sweeps.len(), 1, "once per run: {sweeps:?}");
    assert_eq!(
        sweeps[0]["SweepTenants"].as_f64(),
        run["summary"]["tenants"].as_f64(),
        "{run}"
    );
    assert_eq!(sweeps[0]["SweepFailedTenants"], 1.0, "{}", sweeps[0]);
    assert_eq!(run["summary"]["failed"], 1, "{run}");
}

#[tokio::test]
async fn a_booking_create_is_one_trace_with_a_span_for_each_of_its_aws_calls() {
    let daemon = daemon();
    let stack = TestStack::with_parameters(&[("ExposeRequestCounts", "true")]).await;
    let owner = stack.sign_up("Traced Rooms", "owner@traced.test").await;
    let room = stack
        .create_room(&owner, NewRoom::named("Tracer").rules(json!({})))
        .await;
    // As an upstream traced service would: the booking's invocation continues this trace.
    let root = format!(
        "1-{:08x}-{}",
        jiff::Timestamp::now().as_second(),
        &uuid::Uuid::new_v4().simple().to_string()[..24]
    );
    let parent = "53995c3f42cd8ad8";
    let (status, headers, body) = send(
        stack
            .as_person(&owner, Method::POST, "/v1/bookings")
            .header(
                "x-amzn-trace-id",
                format!("Root={root};Parent={parent};Sampled=1"),
            )
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({
                "room_id": room,
                "title": "Traced",
                "start": steward_e2e::minutes_from_now(60),
                "end": steward_e2e::minutes_from_now(90),
            })),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // The segments arrive as each span ends; the request's ends last.
    let deadline = Instant::now() + Duration::from_secs(10);
    let documents = loop {
        let documents = daemon.of_trace(&root);
        if documents.iter().any(|d| d["parent_id"] == parent) || Instant::now() > deadline {
            break documents;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let request: Vec<&Value> = documents
        .iter()
        .filter(|d| d["parent_id"] == parent)
        .collect();
    assert_eq!(
        request.len(),
        1,
        "one segment for the invocation: {documents:#?}"
    );
    let request = request[0];
    assert_eq!(
        request["annotations"]["route"], "POST /v1/bookings",
        "{request:#}"
    );
    let calls: Vec<&Value> = documents
        .iter()
        .filter(|d| d["parent_id"] == request["id"])
        .collect();
    // Each AWS call is a span of the request, named by its service and operation.
    let mut traced: BTreeMap<String, u32> = BTreeMap::new();
    for call in &calls {
        *traced.entry(operation(call)).or_default() += 1;
    }
    // What the store counted for this request (ExposeRequestCounts): every DynamoDB call, each
    // traced once.
    let counted: BTreeMap<String, u32> = headers
        .get("x-steward-dynamodb-requests")
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(op, n)| (format!("DynamoDB.{op}"), n.parse().unwrap()))
        .collect();
    assert!(
        !counted.is_empty(),
        "the request counts header: {headers:?}"
    );
    for (operation, count) in &counted {
        assert_eq!(
            traced.get(operation),
            Some(count),
            "{operation}: {traced:?}"
        );
    }
    assert!(
        traced.keys().any(|op| op.starts_with("SQS.SendMessage")),
        "the notice's send: {traced:?}"
    );
}

/// A traced AWS call's `<Service>.<Operation>`, from its segment document.
fn operation(call: &Value) -> String {
    let service = call["name"].as_str().unwrap_or_default();
    let operation = call["aws"]["operation"].as_str().unwrap_or_default();
    format!("{service}.{operation}")
}
