//! The HTTP pipeline every API function runs its handler in.
//!
//! Around the handler: the request and correlation ids and the log span, CORS, the
//! `Idempotency-Key` protocol, panics turned into 500 problems, errors mapped to problem+json,
//! security headers, and an EMF latency metric.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use futures::FutureExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Body, RequestExt, Response};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use tracing::Instrument;

use crate::cors::{self, CorsOrigins};
use crate::idempotency::{self, Begin, Idempotency, IdempotencyKey};
use crate::metrics::Metrics;
use crate::problem::ApiError;
use crate::runtime::{Error, Function};
use crate::telemetry;

pub const REQUEST_ID: &str = "x-request-id";
pub const CORRELATION_ID: &str = "x-correlation-id";

/// Headers every answer carries (OWASP's REST guidance for an API that serves no HTML).
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

/// The caller, from the API's authorizer context (never from the request itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub tenant_id: String,
    pub session_id: String,
    /// Whether the session was opened with a second factor (a secret acting for a member, a
    /// feed's token or a terminal, never was).
    pub second_factor: bool,
}

impl Principal {
    fn from_context(fields: &HashMap<String, serde_json::Value>) -> Option<Self> {
        let text = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Some(Self {
            user_id: text("user_id")?,
            tenant_id: text("tenant_id")?,
            session_id: text("session_id")?,
            second_factor: text("second_factor").as_deref() == Some("true"),
        })
    }
}

/// What the authorizer concluded. An HTTP API Lambda authorizer can only deny with a bare 403,
/// so Steward's authorizer always answers, and says here whether the caller is authenticated;
/// the pipeline refuses an unauthenticated caller with a 401 problem before any handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Authentication {
    /// A public route: no authorizer ran.
    None,
    Authenticated,
    Refused(String),
}

impl Authentication {
    fn from_context(fields: &HashMap<String, serde_json::Value>) -> Self {
        match fields.get("authenticated").and_then(|v| v.as_str()) {
            None => Self::None,
            Some("true") => Self::Authenticated,
            Some(_) => Self::Refused(
                fields
                    .get("reason")
                    .and_then(|v| v.as_str())
                    .unwrap_or("refused")
                    .to_owned(),
            ),
        }
    }
}

/// A request as a handler sees it.
#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    /// The path as the client sent it.
    pub path: String,
    /// The API Gateway route key that selected this function (`GET /v1/rooms/{roomId}`).
    pub route: String,
    pub path_params: HashMap<String, String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request_id: String,
    pub correlation_id: String,
    pub source_ip: Option<String>,
    /// Whose data this request may touch: the tenant from the authorizer, or `public`.
    pub scope: String,
    /// Who is calling, as the authorizer established it; `None` on public routes.
    pub principal: Option<Principal>,
    /// Set for a POST with an Idempotency-Key while it runs: which run of that request this is.
    pub idempotent_run: Option<idempotency::IdempotentRun>,
    /// Lambda's X-Ray trace header for this invocation (`Root=…;Parent=…;Sampled=…`).
    pub trace_header: Option<String>,
    authentication: Authentication,
    body_limit: usize,
}

impl ApiRequest {
    /// The JSON body as `T` (see [`crate::body::parse_json`]).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        crate::body::parse_json(&self.headers, &self.body, self.body_limit)
    }

    /// The JSON body as `T`, or `T::default()` when there is no body (optional bodies, such as
    /// a reason given or not).
    pub fn json_or_default<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.body.is_empty() {
            Ok(T::default())
        } else {
            self.json()
        }
    }

    /// The body as text of media type `expected` (`text/csv`).
    pub fn text(&self, expected: &'static str) -> Result<&str, ApiError> {
        crate::body::parse_text(&self.headers, &self.body, self.body_limit, expected)
    }

    /// The authenticated caller; a protected route without one is a deployment error, answered 401.
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or(ApiError::Unauthorized)
    }

    /// Whose `Idempotency-Key`s this request's key is among: the signed-in caller's, in their
    /// session (`T#<tenant>#U#<user>#S#<session>`). A retry comes from the client that sent
    /// the request, which holds the same session (a refresh keeps it), and a stored answer can
    /// carry what was shown once (an invitation's token): only that session gets it again.
    /// `None` without a signed-in caller: the public routes issue or check credentials
    /// (sign-up, sign-in, refresh, accepting an invitation), and an answer replayed to whoever
    /// sends the same body would hand a credential to someone who does not hold it.
    pub fn idempotency_scope(&self) -> Option<String> {
        let principal = self.principal.as_ref()?;
        Some(format!(
            "T#{}#U#{}#S#{}",
            principal.tenant_id, principal.user_id, principal.session_id
        ))
    }

    pub fn path_param(&self, name: &str) -> Result<&str, ApiError> {
        self.path_params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::NotFound(name.to_owned()))
    }
}

/// An API function's handler: it sees parsed requests and answers or fails with an [`ApiError`].
pub trait Api: Send + Sync + 'static {
    fn handle(
        &self,
        request: &ApiRequest,
    ) -> impl Future<Output = Result<Response<Body>, ApiError>> + Send;
}

/// A handler whose keyed requests may be answered from a stored answer
/// ([`HttpFunction::with_idempotency`]). The handler, which would decide whether the caller may
/// make the request, does not run then; this decides it instead, before anything stored under
/// the key is revealed (its answer, its body's fingerprint or that it is still running).
pub trait Replayable: Api {
    fn authorize_replay(
        &self,
        request: &ApiRequest,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// [`Replayable::authorize_replay`] of one handler type, as the pipeline keeps it.
type ReplayCheck<A> = for<'a> fn(
    &'a A,
    &'a ApiRequest,
)
    -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

fn replay_check<'a, A: Replayable>(
    api: &'a A,
    request: &'a ApiRequest,
) -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>> {
    Box::pin(api.authorize_replay(request))
}

/// The `Idempotency-Key` protocol as one function applies it.
struct Keyed<A> {
    idempotency: Idempotency,
    authorize: ReplayCheck<A>,
}

/// An empty 204 answer.
pub fn no_content() -> Result<Response<Body>, ApiError> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .map_err(ApiError::internal)
}

/// A redirect (`303 See Other`: the browser follows it with a GET) to `location`.
pub fn see_other(location: &str) -> Result<Response<Body>, ApiError> {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .body(Body::Empty)
        .map_err(ApiError::internal)
}

/// A JSON answer.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response<Body>, ApiError> {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}

/// An API handler in the pipeline, deployable as a function.
pub struct HttpFunction<A> {
    api: A,
    name: String,
    cors: CorsOrigins,
    idempotency: Option<Keyed<A>>,
    body_limit: usize,
    recorded: Option<RecordedLatencies>,
    /// EXPOSE_REQUEST_COUNTS: answer each request's DynamoDB requests in a header.
    expose_request_counts: bool,
    /// Whose address a request through the app's distribution is.
    edge: crate::viewer::Edge,
}

/// The header that carries a request's DynamoDB requests by operation, when exposed.
pub const REQUEST_COUNTS_HEADER: &str = "x-steward-dynamodb-requests";

#[derive(Debug, Clone, serde::Deserialize)]
struct RequestCountsConfig {
    #[serde(default)]
    expose_request_counts: bool,
}

/// Where and how often this instance's latencies go (PERFORMANCE_METRICS_ENABLED).
struct RecordedLatencies {
    recorder: std::sync::Arc<crate::latency::Recorder>,
    store: steward_store::metrics::MetricsStore,
    every: std::time::Duration,
    instance: String,
}

/// The longest an answer waits for its instance's recorded latencies to be written: a write
/// takes milliseconds, and only a failing store gets here.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// PERFORMANCE_METRICS_FLUSH_SECONDS: how often an instance writes what it recorded.
#[derive(Debug, Clone, serde::Deserialize)]
struct FlushInterval {
    #[serde(default = "a_minute")]
    performance_metrics_flush_seconds: u64,
}

fn a_minute() -> u64 {
    60
}

impl<A: Api> HttpFunction<A> {
    pub fn new(name: impl Into<String>, api: A, cors: CorsOrigins) -> Self {
        Self {
            api,
            name: name.into(),
            cors,
            idempotency: None,
            body_limit: crate::body::DEFAULT_LIMIT,
            recorded: None,
            expose_request_counts: false,
            edge: crate::viewer::Edge::default(),
        }
    }

    /// With CLOUDFRONT_ORIGIN_SECRET, a request the app's distribution forwards is counted and
    /// logged by its viewer's address (`crate::viewer`), not the edge's.
    pub fn with_edge(
        mut self,
        env: &crate::config::Env,
    ) -> Result<Self, crate::config::ConfigError> {
        self.edge = crate::viewer::Edge::from_env(env)?;
        Ok(self)
    }

    /// With EXPOSE_REQUEST_COUNTS, every answer carries its DynamoDB requests by operation
    /// (`x-steward-dynamodb-requests: GetItem=2,TransactWriteItems=1`): what the request-count
    /// tests and benchmarks read. Every answer's log line carries the total either way.
    pub fn with_request_counts(
        mut self,
        env: &crate::config::Env,
    ) -> Result<Self, crate::config::ConfigError> {
        let config: RequestCountsConfig = env.parse()?;
        self.expose_request_counts = config.expose_request_counts;
        Ok(self)
    }

    /// With PERFORMANCE_METRICS_ENABLED, records every route's latency (and what else the
    /// process records, such as permission checks) and writes it to `table` once per
    /// PERFORMANCE_METRICS_FLUSH_SECONDS, for `GET /v1/admin/metrics/performance`.
    pub fn with_recorded_latencies(
        mut self,
        table: &steward_store::Table,
        env: &crate::config::Env,
    ) -> Result<Self, crate::config::ConfigError> {
        let flags: crate::config::Flags = env.parse()?;
        if flags.performance_metrics_enabled {
            let interval: FlushInterval = env.parse()?;
            self.recorded = Some(RecordedLatencies {
                recorder: crate::latency::Recorder::new(),
                store: steward_store::metrics::MetricsStore::new(table.clone()),
                every: std::time::Duration::from_secs(interval.performance_metrics_flush_seconds),
                instance: uuid::Uuid::new_v4().simple().to_string(),
            });
        }
        Ok(self)
    }

    /// Writes what this instance recorded once `every` has passed since the last write (its
    /// interval after an answer; none at shutdown). A failure costs the interval's numbers,
    /// never the answer, and neither does a slow store: the answer waits at most
    /// [`FLUSH_WAIT`] for the write.
    async fn flush_latencies(&self, every: std::time::Duration) {
        let Some(recorded) = &self.recorded else {
            return;
        };
        let Some(snapshot) = recorded.recorder.take_if_due(every) else {
            return;
        };
        let at = jiff::Timestamp::now().as_millisecond();
        let saved = tokio::time::timeout(
            FLUSH_WAIT,
            recorded
                .store
                .save(&self.name, &recorded.instance, at, &snapshot),
        )
        .await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "recorded latencies not saved"),
            Err(_) => tracing::warn!("recorded latencies not saved: the store is slow"),
        }
    }

    /// Honour `Idempotency-Key` on signed-in POSTs: keys are the caller's own (see
    /// [`ApiRequest::idempotency_scope`]), and a stored answer is replayed only once
    /// [`Replayable::authorize_replay`] allows the caller.
    pub fn with_idempotency(mut self, idempotency: Idempotency) -> Self
    where
        A: Replayable,
    {
        self.idempotency = Some(Keyed {
            idempotency,
            authorize: replay_check::<A>,
        });
        self
    }

    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Answers one request; never fails (failures are problem answers).
    pub async fn serve(&self, request: lambda_http::Request) -> Response<Body> {
        let started = Instant::now();
        let mut request = self.read(request);
        let cold_start = telemetry::take_cold_start();
        let span = tracing::info_span!(
            "request",
            request_id = %request.request_id,
            correlation_id = %request.correlation_id,
            function = %self.name,
            route = %request.route,
            source = %request.source_ip.as_deref().map(|ip| crate::mask::Ip(ip).to_string()).unwrap_or_default(),
            trace_id = request.trace_header.as_deref().and_then(crate::traces::trace_id).unwrap_or_default(),
            cold_start,
        );
        crate::traces::continue_trace(&span, request.trace_header.as_deref());
        let work = async {
            let mut counts = steward_store::requests::Counts::new();
            let mut tally = crate::latency::Tally::default();
            let mut response = match cors::preflight(&self.cors, &request.method, &request.headers)
            {
                Some(preflight) => preflight,
                None => {
                    // Boxed: a handler's future is deep; inline it overflows debug stacks.
                    let ((outcome, sent), tallied) =
                        crate::latency::tallied(steward_store::requests::counted(Box::pin(
                            AssertUnwindSafe(self.dispatch(&mut request)).catch_unwind(),
                        )))
                        .await;
                    counts = sent;
                    tally = tallied;
                    match outcome {
                        Ok(Ok(response)) => response,
                        Ok(Err(error)) => self.refuse(error, &request),
                        Err(_) => self.refuse(ApiError::internal("the handler panicked"), &request),
                    }
                }
            };
            if self.expose_request_counts {
                let listed: Vec<String> =
                    counts.iter().map(|(op, n)| format!("{op}={n}")).collect();
                if let Ok(value) = http::HeaderValue::from_str(&listed.join(",")) {
                    response.headers_mut().insert(REQUEST_COUNTS_HEADER, value);
                }
            }
            self.finish_headers(&request, response.headers_mut());
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let dynamodb_requests = steward_store::requests::total(&counts);
            tracing::info!(
                status = response.status().as_u16(),
                latency_ms,
                dynamodb_requests,
                "answered"
            );
            answer_metrics(
                &self.name, &request, &response, latency_ms, cold_start, &tally,
            )
            .emit();
            crate::latency::record(
                crate::latency::Timed::Route(&request.route),
                started.elapsed(),
            );
            if let Some(recorded) = &self.recorded {
                self.flush_latencies(recorded.every).await;
            }
            response
        }
        .instrument(span);
        // Boxed: a request's future is deep, and debug builds overflow a thread's stack when
        // it is nested in the recorder's scope as well.
        let work = Box::pin(work);
        match &self.recorded {
            Some(recorded) => recorded.recorder.scope(work).await,
            None => work.await,
        }
    }

    async fn dispatch(&self, request: &mut ApiRequest) -> Result<Response<Body>, ApiError> {
        if let Authentication::Refused(reason) = &request.authentication {
            tracing::info!(%reason, "unauthenticated request refused");
            return Err(ApiError::Unauthorized);
        }
        if request.body.len() > self.body_limit {
            return Err(ApiError::PayloadTooLarge {
                limit: self.body_limit,
            });
        }
        let keyed = match (&self.idempotency, request.idempotency_scope()) {
            (Some(keyed), Some(scope)) if request.method == Method::POST => {
                IdempotencyKey::from_headers(&request.headers)?.map(|key| (keyed, scope, key))
            }
            _ => None,
        };
        let Some((keyed, scope, key)) = keyed else {
            // Boxed: handlers' futures are deep; on the stack they overflow debug builds.
            return Box::pin(self.api.handle(request)).await;
        };
        let idempotency = &keyed.idempotency;
        let fingerprint = idempotency::fingerprint(&request.method, &request.path, &request.body);
        let authorize = (keyed.authorize)(&self.api, request);
        let ticket = match idempotency
            .begin(&scope, key, &fingerprint, authorize)
            .await?
        {
            Begin::Replay(response) => return Ok(response),
            Begin::Run(ticket) => ticket,
        };
        request.idempotent_run = Some(ticket.run().clone());
        let request = &*request;
        // Boxed, as above: a handler's future is deep and lives on the heap.
        let response = match AssertUnwindSafe(Box::pin(self.api.handle(request)))
            .catch_unwind()
            .await
        {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => self.refuse(error, request),
            Err(_) => self.refuse(ApiError::internal("the handler panicked"), request),
        };
        // The answer stands even if it cannot be kept: failing it now would invite a second run.
        if let Err(error) = idempotency.finish(ticket, &response).await {
            tracing::error!(error = %Chain(&error), "could not record the idempotent answer");
        }
        Ok(response)
    }

    fn refuse(&self, error: ApiError, request: &ApiRequest) -> Response<Body> {
        if error.status().is_server_error() {
            tracing::error!(error = %Chain(&error), "request failed");
        } else {
            tracing::info!(error = %error, status = error.status().as_u16(), "request refused");
        }
        error.into_response(&request.request_id, &request.path)
    }

    fn finish_headers(&self, request: &ApiRequest, headers: &mut HeaderMap) {
        for (name, value) in SECURITY_HEADERS {
            headers
                .entry(*name)
                .or_insert(HeaderValue::from_static(value));
        }
        if let Ok(value) = HeaderValue::from_str(&request.request_id) {
            headers.insert(REQUEST_ID, value);
        }
        if let Ok(value) = HeaderValue::from_str(&request.correlation_id) {
            headers.insert(CORRELATION_ID, value);
        }
        cors::decorate(&self.cors, &request.headers, headers);
    }

    fn read(&self, request: lambda_http::Request) -> ApiRequest {
        let query = request
            .query_string_parameters()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let path_params = request
            .path_parameters()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let lambda_request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let trace_header = request
            .lambda_context_ref()
            .and_then(|c| c.xray_trace_id.clone());
        let (route, request_id, source_ip, authorizer) = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => (
                context.route_key.clone().unwrap_or_default(),
                context.request_id.clone().unwrap_or_default(),
                context.http.source_ip.clone(),
                context
                    .authorizer
                    .as_ref()
                    .map(|a| a.fields.clone())
                    .unwrap_or_default(),
            ),
            _ => (String::new(), String::new(), None, HashMap::new()),
        };
        let scope = match authorizer.get("tenant_id").and_then(|t| t.as_str()) {
            Some(tenant) => format!("T#{tenant}"),
            None => "public".to_owned(),
        };
        let authentication = Authentication::from_context(&authorizer);
        let principal = match authentication {
            Authentication::Authenticated => Principal::from_context(&authorizer),
            _ => None,
        };
        let request_id = if request_id.is_empty() {
            lambda_request_id
        } else {
            request_id
        };
        let (mut parts, body) = request.into_parts();
        let source_ip = self.edge.source(&mut parts.headers, source_ip);
        let correlation_id = parts
            .headers
            .get(CORRELATION_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| is_safe_id(id))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        ApiRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            route,
            path_params,
            query,
            headers: parts.headers,
            body: body.to_vec(),
            request_id,
            correlation_id,
            source_ip,
            scope,
            principal,
            idempotent_run: None,
            trace_header,
            authentication,
            body_limit: self.body_limit,
        }
    }
}

/// A client-supplied id is echoed and logged only when it is short and plain.
fn is_safe_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl<A: Api> Function for HttpFunction<A> {
    type Event = ApiGatewayV2httpRequest;
    type Output = ApiGatewayV2httpResponse;

    async fn call(
        &self,
        event: LambdaEvent<ApiGatewayV2httpRequest>,
    ) -> Result<ApiGatewayV2httpResponse, Error> {
        // The same conversion `lambda_http::run` applies.
        let request: lambda_http::Request = LambdaRequest::ApiGatewayV2(event.payload).into();
        let response = self.serve(request.with_lambda_context(event.context)).await;
        Ok(to_gateway_response(response))
    }

    fn keeps_unwritten(&self) -> bool {
        self.recorded.is_some()
    }

    /// The latencies recorded since the last write, written now: an instance's last interval
    /// is not lost when Lambda ends it.
    async fn shutdown(&self) {
        self.flush_latencies(std::time::Duration::ZERO).await;
    }
}

/// An HTTP answer as API Gateway's payload format 2.0 takes it (cookies apart, binary as base64).
fn to_gateway_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (mut parts, body) = response.into_parts();
    let cookies = parts
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    parts.headers.remove(header::SET_COOKIE);
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.is_base64_encoded = matches!(body, Body::Binary(_));
    answer.body = match body {
        Body::Empty => None,
        other => Some(other),
    };
    answer.headers = parts.headers;
    answer.cookies = cookies;
    answer
}

/// An error with its causes, for logs.
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// The metrics line of one answer: by function and route, by function (a route group, which
/// the alarms and the dashboard read), and across the service (the availability objective).
fn answer_metrics(
    function: &str,
    request: &ApiRequest,
    response: &Response<Body>,
    latency_ms: f64,
    cold_start: bool,
    tally: &crate::latency::Tally,
) -> Metrics {
    use crate::metrics::MetricName as M;
    let answered = if response.status().is_server_error() {
        M::Faults
    } else {
        M::Requests
    };
    let mut metrics = Metrics::new()
        .dimension("Function", function)
        .dimension("Route", &request.route)
        .also_by(&["Function"])
        .also_by(&[])
        .millis(M::Latency, latency_ms)
        .count(answered, 1)
        .millis_each(M::PermissionCheckLatency, &tally.permission_checks_ms);
    if cold_start {
        metrics = metrics.count(M::ColdStarts, 1);
    }
    if tally.cache_hits + tally.cache_misses > 0 {
        metrics = metrics
            .count(M::CacheHits, tally.cache_hits)
            .count(M::CacheMisses, tally.cache_misses);
    }
    metrics.property("request_id", request.request_id.as_str())
}
