//! The gateway against the template, and what every answer carries, over HTTP.

use std::collections::BTreeSet;

use steward_e2e::{TestStack, repository_root, send};
use steward_template::Template;

#[tokio::test]
async fn the_gateway_serves_exactly_the_templates_routes() {
    let stack = TestStack::start().await;
    let (status, _, body) = send(stack.get("/_local/routes")).await;
    assert_eq!(status, 200);
    let served: BTreeSet<String> = body["routes"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let declared: BTreeSet<String> = stack.stack.route_keys().iter().cloned().collect();
    assert_eq!(served, declared);
    assert!(served.contains("GET /v1/health") && served.contains("$default"));

    // The fallback's compiled route table is the repository template's, route for route.
    let template = Template::load(repository_root().join("template.yaml")).unwrap();
    let in_template: BTreeSet<String> = template
        .routes()
        .unwrap()
        .iter()
        .map(|(k, _, _)| k.to_string())
        .collect();
    let compiled: BTreeSet<String> = steward_platform::ROUTE_KEYS
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(compiled, in_template);
    assert!(in_template.is_subset(&served));
}

#[tokio::test]
async fn health_answers_json_with_its_checks() {
    let stack = TestStack::start().await;
    let (status, headers, body) = send(stack.get("/v1/health")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["build"].is_string());
    assert_eq!(body["checks"]["dynamodb"]["status"], "ok");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_problems() {
    let stack = TestStack::start().await;
    let (status, headers, body) = send(stack.get("/v1/nope")).await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["type"], "urn:steward:problem:route-not-found");
    assert_eq!(
        body["request_id"],
        headers["x-request-id"].to_str().unwrap()
    );

    let (status, headers, body) = send(stack.delete("/v1/health")).await;
    assert_eq!(status, 405);
    assert_eq!(body["type"], "urn:steward:problem:method-not-allowed");
    assert_eq!(headers["allow"], "GET, OPTIONS");

    // A plain OPTIONS, not a CORS preflight, asks what the resource allows.
    let (status, headers, _) = send(
        stack
            .http
            .request(reqwest::Method::OPTIONS, stack.url("/v1/health")),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(headers["allow"], "GET, OPTIONS");

    // The methods of the literal route, not of `DELETE /v1/invitations/{invitationId}`,
    // which would also take `accept` as an id.
    let (status, headers, _) = send(stack.http.put(stack.url("/v1/invitations/accept"))).await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "POST, OPTIONS");
}

#[tokio::test]
async fn every_answer_carries_ids_and_security_headers() {
    let stack = TestStack::start().await;
    for path in ["/v1/health", "/v1/nope"] {
        let response = stack
            .get(path)
            .header("x-correlation-id", "trace-42")
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-correlation-id"], "trace-42", "{path}");
        assert!(!headers["x-request-id"].is_empty());
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(
            headers["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
    }
    // An id a client could use to forge log lines is replaced, not echoed.
    let response = stack
        .get("/v1/health")
        .header("x-correlation-id", "a b\"}{")
        .send()
        .await
        .unwrap();
    assert_ne!(response.headers()["x-correlation-id"], "a b\"}{");
}

#[tokio::test]
async fn cors_allows_the_configured_origins_only() {
    let stack = TestStack::start_with(|options| {
        options.parameter_overrides.insert(
            "CorsAllowedOrigins".into(),
            "https://app.steward.test".into(),
        );
    })
    .await;
    let preflight = |origin: &'static str| {
        stack
            .http
            .request(reqwest::Method::OPTIONS, stack.url("/v1/probe/acme/notes"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, idempotency-key",
            )
            .send()
    };
    let allowed = preflight("https://app.steward.test").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.steward.test"
    );
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("idempotency-key")
    );
    let refused = preflight("https://evil.test").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let actual = stack
        .get("/v1/health")
        .header("origin", "https://app.steward.test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        actual.headers()["access-control-allow-origin"],
        "https://app.steward.test"
    );
    let other = stack
        .get("/v1/health")
        .header("origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn bodies_over_api_gateways_limit_are_refused_at_the_gateway() {
    let stack = TestStack::start().await;
    let huge = vec![b'x'; 10 * 1024 * 1024 + 1];
    let response = stack
        .post("/v1/probe/acme/notes")
        .header("authorization", "Bearer good-acme")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(stack.notes_in_table("acme").await.is_empty());
}

#[tokio::test]
async fn protected_routes_run_the_authorizer_first_and_cache_its_decision() {
    let stack = TestStack::start().await;
    let whoami = |token: Option<&str>| {
        let request = stack.get("/v1/probe/whoami");
        match token {
            Some(token) => request.header("authorization", token),
            None => request,
        }
    };
    // No identity: refused by the gateway without calling the authorizer.
    let (status, _, body) = send(whoami(None)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Unauthorized"))
    );
    assert!(stack.probe_records("PROBE#authorizations").await.is_empty());

    let (status, _, body) = send(whoami(Some("Bearer bad"))).await;
    assert_eq!((status, body["message"].as_str()), (403, Some("Forbidden")));

    // Allowed: the authorizer's context reaches the function as its tenant scope.
    for _ in 0..3 {
        let (status, _, body) = send(whoami(Some("Bearer good-acme"))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "T#acme");
    }
    let calls = stack.probe_records("PROBE#authorizations").await;
    assert_eq!(
        calls.len(),
        2,
        "one call per identity within ReauthorizeEvery"
    );
    let event = &calls
        .iter()
        .find(|c| c["detail"]["identitySource"][0] == "Bearer good-acme")
        .unwrap()["detail"];
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(event["routeKey"], "GET /v1/probe/whoami");

    // Unprotected routes need nothing.
    assert_eq!(stack.get("/v1/health").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn path_parameters_reach_a_function_decoded_as_api_gateway_delivers_them() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Badge Rooms", "owner@badge.test").await;
    // A badge's UID as a reader shows it, its colons percent-encoded in the path as a browser
    // encodes them.
    let (status, badge) = stack
        .call(
            &owner,
            reqwest::Method::PUT,
            "/v1/badges/04%3Aa1%3Ab2%3Ac3",
            serde_json::json!({ "member_id": owner.user_id }),
        )
        .await;
    assert_eq!(status, 200, "{badge}");
    assert_eq!(badge["id"], "04A1B2C3");
}
