//! API Gateway (HTTP API, payload format 2.0) in front of the in-process functions, plus the
//! local stack's own endpoints under `/_local/`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use steward_emulator::{ACCOUNT, REGION};
use steward_template::{Method, Selected};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeader;

use crate::services::{CODEDEPLOY_PATH, LAMBDA_PATH};
use crate::stack::{Deployed, LocalAuthorizer, Shared};

/// API Gateway's own payload limit.
const PAYLOAD_LIMIT: usize = 10 * 1024 * 1024;
const API_ID: &str = "local";

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/_local/routes", get(routes))
        .route("/_local/schedules/{function}/{event}", post(fire_schedule))
        .route(
            &format!("{LAMBDA_PATH}/2015-03-31/functions/{{function}}/invocations"),
            post(crate::services::invoke_function),
        )
        .route(CODEDEPLOY_PATH, post(crate::services::codedeploy))
        .route(
            &format!("{CODEDEPLOY_PATH}/"),
            post(crate::services::codedeploy),
        )
        .route("/kiosk", get(|| slash("/kiosk/")))
        .route("/app", get(|| slash("/app/")))
        .fallback(api)
        .with_state(shared.clone());
    // The services see the whole path: `/kiosk/…` is a file of `web/kiosk/`, `/app/…` of
    // `web/build/app/`.
    let app = match &shared.web {
        Some(web) => app
            .route_service("/kiosk/", kiosk(web))
            .route_service("/kiosk/{*file}", kiosk(web))
            .route_service("/app/", web_app(&web.join("build")))
            .route_service("/app/{*path}", web_app(&web.join("build"))),
        None => app,
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    });
    if let Err(error) = server.await {
        tracing::error!(%error, "gateway stopped");
    }
}

/// `/kiosk` → `/kiosk/` (and the app's likewise), so that relative links resolve.
async fn slash(to: &'static str) -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
}

/// The kiosk page's folder, as its S3 website serves it; `no-cache`, so that a tablet reloading
/// the page takes a new version at once.
fn kiosk(web: &std::path::Path) -> SetResponseHeader<ServeDir, HeaderValue> {
    SetResponseHeader::overriding(
        ServeDir::new(web),
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    )
}

/// The Content-Security-Policy the deployment's distribution gives the app (template.yaml,
/// AppHeaders), with the emulator's S3 (any local port) for uploads: the browser tests run the
/// app under it.
const APP_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-hashes' 'sha256-S8qMpvofolR8Mpjy4kQvEm7m1q8clzU4dfDH0AmvZjo='; \
    img-src 'self' data: blob:; frame-src blob:; font-src 'self'; connect-src 'self' http://127.0.0.1:*; \
    manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The web app's build: its files, and `index.html` for every other path under `/app/` (a page
/// of the single-page app), as the distribution's function serves it.
fn web_app(build: &std::path::Path) -> SetResponseHeader<ServeDir<ServeFile>, HeaderValue> {
    SetResponseHeader::overriding(
        ServeDir::new(build).fallback(ServeFile::new(build.join("app/index.html"))),
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(APP_CSP),
    )
}

/// API Gateway's bare answers for what never reaches a function.
fn gateway_message(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

async fn api(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, PAYLOAD_LIMIT).await else {
        return gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let path = parts.uri.path().to_owned();
    let Some(method) = Method::parse(parts.method.as_str()) else {
        return gateway_message(StatusCode::NOT_FOUND, "Not Found");
    };
    let (route_key, params) = match shared.routes.select(method, &path) {
        // API Gateway's HTTP APIs hand a function its path parameters decoded.
        Selected::Route { key, params } => (key.to_string(), decoded(params)),
        Selected::Default => ("$default".to_owned(), BTreeMap::new()),
        Selected::None => return gateway_message(StatusCode::NOT_FOUND, "Not Found"),
    };
    let target = &shared.targets[&route_key];
    let mut event = http_event(
        &route_key,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &params,
        &body,
        &peer.ip().to_string(),
    );
    if let Some(authorizer) = &target.authorizer {
        match authorize(authorizer, &event, &parts.headers).await {
            Ok(context) => event["requestContext"]["authorizer"] = json!({ "lambda": context }),
            Err(refusal) => return refusal,
        }
    }
    // A request naming a trace (X-Amzn-Trace-Id) is invoked in it, as an upstream traced
    // service's would be; any other starts its own.
    let trace = parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match invoke_in_trace(&target.function, event, trace).await {
        Ok(output) => into_http(output),
        Err(Failure::Timeout) => {
            gateway_message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Err(Failure::Error(_)) => {
            gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// Runs a route's Lambda authorizer (payload format 2.0, simple responses) as API Gateway does:
/// a missing identity source is 401 without a call, a denial 403, a failure 500; decisions are
/// cached per identity for the authorizer's TTL. Answers the context to hand to the function.
async fn authorize(
    authorizer: &LocalAuthorizer,
    request_event: &Value,
    headers: &HeaderMap,
) -> Result<Value, Response> {
    let mut identity = Vec::with_capacity(authorizer.identity_headers.len());
    for name in &authorizer.identity_headers {
        match headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
        {
            Some(value) => identity.push(value.to_owned()),
            None => return Err(gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized")),
        }
    }
    let cached = authorizer
        .cache
        .lock()
        .expect("not poisoned")
        .get(&identity)
        .cloned();
    let decision = match cached {
        Some((at, decision)) if at.elapsed() < authorizer.ttl => decision,
        _ => {
            let mut event = request_event.clone();
            event["type"] = json!("REQUEST");
            event["routeArn"] = json!(format!(
                "arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{}",
                request_event["routeKey"]
                    .as_str()
                    .unwrap_or_default()
                    .replacen(' ', "", 1)
            ));
            event["identitySource"] = json!(identity);
            let output = invoke(&authorizer.function, event).await.map_err(|_| {
                gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            })?;
            let decision = match output.get("isAuthorized").and_then(Value::as_bool) {
                Some(true) => Some(output.get("context").cloned().unwrap_or_else(|| json!({}))),
                Some(false) => None,
                None => {
                    tracing::error!("the authorizer answered without isAuthorized");
                    return Err(gateway_message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ));
                }
            };
            if !authorizer.ttl.is_zero() {
                authorizer
                    .cache
                    .lock()
                    .expect("not poisoned")
                    .insert(identity, (Instant::now(), decision.clone()));
            }
            decision
        }
    };
    decision.ok_or_else(|| gateway_message(StatusCode::FORBIDDEN, "Forbidden"))
}

/// The event API Gateway sends for a request (payload format 2.0).
/// Each path parameter percent-decoded (`04%3AA1` is `04:A1`), as API Gateway delivers them.
fn decoded(params: BTreeMap<String, String>) -> BTreeMap<String, String> {
    params
        .into_iter()
        .map(|(name, value)| {
            let value = percent_encoding::percent_decode_str(&value)
                .decode_utf8_lossy()
                .into_owned();
            (name, value)
        })
        .collect()
}

fn http_event(
    route_key: &str,
    method: &http::Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
    body: &[u8],
    source_ip: &str,
) -> Value {
    // Repeated headers and query parameters are joined with commas; cookies travel apart.
    let mut joined_headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        joined_headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let raw_query = uri.query().unwrap_or_default();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        query
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let (body, encoded) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(STANDARD.encode(body)), true),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let request_id = uuid::Uuid::new_v4().to_string();
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "cookies": if cookies.is_empty() { Value::Null } else { json!(cookies) },
        "headers": joined_headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { json!(query) },
        "pathParameters": if params.is_empty() { Value::Null } else { json!(params) },
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": API_ID,
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get(header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.as_millis() as u64,
        },
        "body": body,
        "isBase64Encoded": encoded,
    })
}

/// A new X-Ray trace header: `Root=1-<seconds, hex>-<96 random bits>;Parent=<64 random
/// bits>;Sampled=1`.
fn new_trace_header() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=1",
        &random[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

pub(crate) enum Failure {
    Timeout,
    Error(String),
}

/// One invocation as Lambda makes it: a fresh context (a new trace, as a function with
/// `Tracing: Active` gets one), the function's timeout.
pub(crate) async fn invoke(function: &Deployed, event: Value) -> Result<Value, Failure> {
    invoke_in_trace(function, event, None).await
}

/// The same, within the trace `header` names when there is one (`Root=…;Parent=…;Sampled=…`).
pub(crate) async fn invoke_in_trace(
    function: &Deployed,
    event: Value,
    header: Option<String>,
) -> Result<Value, Failure> {
    let mut context = lambda_runtime::Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.xray_trace_id = Some(header.unwrap_or_else(new_trace_header));
    context.invoked_function_arn = format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
        function.physical_name
    );
    let deadline = SystemTime::now() + function.timeout;
    context.deadline = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    match tokio::time::timeout(function.timeout, function.handler.invoke(event, context)).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => {
            tracing::error!(function = %function.logical_id, %error, "invocation failed");
            Err(Failure::Error(error.to_string()))
        }
        Err(_) => {
            tracing::error!(function = %function.logical_id, timeout_s = function.timeout.as_secs(), "invocation timed out");
            Err(Failure::Timeout)
        }
    }
}

fn into_http(output: Value) -> Response {
    let answer: ApiGatewayV2httpResponse = match serde_json::from_value(output) {
        Ok(answer) => answer,
        Err(error) => {
            tracing::error!(%error, "a function answered something that is not an HTTP API response");
            return gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let body = match answer.body {
        None => Vec::new(),
        Some(body) if answer.is_base64_encoded => {
            STANDARD.decode(body.as_ref()).unwrap_or_default()
        }
        Some(body) => body.to_vec(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(answer.status_code as u16)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = answer.headers;
    for cookie in answer.cookies {
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn routes(State(shared): State<Arc<Shared>>) -> Response {
    let routes: BTreeMap<&String, &String> = shared
        .targets
        .iter()
        .map(|(key, target)| (key, &target.function.logical_id))
        .collect();
    axum::Json(json!({ "routes": routes })).into_response()
}

/// `?at=<RFC 3339>` fires the schedule as if at that time (its `<aws.scheduler.scheduled-time>`):
/// how tests replay one night's firing, as EventBridge may deliver it twice.
async fn fire_schedule(
    State(shared): State<Arc<Shared>>,
    Path((function, event)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let at = query.get("at").map(String::as_str);
    match crate::schedules::fire(&shared, &function, &event, at).await {
        Some(Ok(output)) => {
            axum::Json(json!({ "function": function, "event": event, "output": output }))
                .into_response()
        }
        Some(Err(error)) => (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({ "function": function, "event": event, "error": error })),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({ "message": format!("no schedule {function}/{event} in the template") }),
            ),
        )
            .into_response(),
    }
}
