//! The metrics the alarms and the dashboard read are the ones the functions write. Every
//! Embedded Metric Format line of a run through the gateway is captured (one test in this
//! binary: the sink is the process's) and read as CloudWatch would: each answer is published by
//! function and route, by function, and across the service, names only metrics of the
//! catalogue (infra/monitoring/metrics.json), and carries its permission checks and tenant
//! cache lookups; a door terminal's heartbeat is counted by the dimensions its alarm reads.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{Captured, NewRoom, TestStack, repository_root, send};

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
    let lines = Captured::default();
    steward_kit::metrics::redirect(Box::new(lines.clone()));
    let stack =
        TestStack::with_parameters(&[("CacheEnabled", "true"), ("CacheTtlSeconds", "300")]).await;
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
}
