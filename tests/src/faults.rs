//! A proxy in front of the emulator's DynamoDB that passes requests through, or answers them
//! as DynamoDB does when it throttles or fails, or holds them first, as a test tells it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use steward_emulator::Emulator;

use crate::TestStack;

/// A stack whose DynamoDB requests all go through a fault proxy.
pub async fn faulty_stack() -> (FaultProxy, TestStack) {
    let proxy = FaultProxy::start(&Emulator::shared().endpoints().dynamodb).await;
    let url = proxy.url().to_owned();
    let stack = TestStack::start_with(|options| options.endpoints.dynamodb = url).await;
    (proxy, stack)
}

/// How DynamoDB fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 `ProvisionedThroughputExceededException`: the SDK retries it, with backoff.
    Throttle,
    /// 500 `InternalServerError`: retried the same way.
    ServerError,
    /// Passed through after this long.
    Slow(Duration),
    /// The connection breaks before an answer: the request never reaches the emulator.
    Disconnect,
}

/// What the proxy does with the requests to come.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Requests passed through before the fault starts.
    pass_first: u64,
    fault: Fault,
    /// How many requests get the fault; `None`: every one until [`FaultProxy::heal`].
    times: Option<u64>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    plan: Mutex<Option<Plan>>,
    requests: AtomicU64,
    faulted: AtomicU64,
}

pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (the emulator's DynamoDB endpoint).
    pub async fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            plan: Mutex::new(None),
            requests: AtomicU64::new(0),
            faulted: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the fault proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fault proxy serves");
        });
        Self {
            url,
            shared,
            server,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request from now on gets `fault`, until [`Self::heal`].
    pub fn break_down(&self, fault: Fault) {
        self.plan(0, fault, None);
    }

    /// The next `times` requests get `fault`; then requests pass again.
    pub fn fail_next(&self, times: u64, fault: Fault) {
        self.plan(0, fault, Some(times));
    }

    /// `pass_first` more requests pass; every one after gets `fault`, until [`Self::heal`].
    pub fn break_down_after(&self, pass_first: u64, fault: Fault) {
        self.plan(pass_first, fault, None);
    }

    pub fn heal(&self) {
        *self.shared.plan.lock().unwrap() = None;
    }

    /// Requests seen, faulted or not.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Requests that got a fault.
    pub fn faulted(&self) -> u64 {
        self.shared.faulted.load(Ordering::SeqCst)
    }

    fn plan(&self, pass_first: u64, fault: Fault, times: Option<u64>) {
        *self.shared.plan.lock().unwrap() = Some(Plan {
            pass_first,
            fault,
            times,
        });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The fault this request gets, if any, and the plan updated for the next one.
fn take_fault(shared: &Shared) -> Option<Fault> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let mut plan = shared.plan.lock().unwrap();
    let current = plan.as_mut()?;
    if current.pass_first > 0 {
        current.pass_first -= 1;
        return None;
    }
    let fault = current.fault;
    match &mut current.times {
        Some(0) => {
            *plan = None;
            return None;
        }
        Some(times) => *times -= 1,
        None => {}
    }
    shared.faulted.fetch_add(1, Ordering::SeqCst);
    Some(fault)
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    match take_fault(&shared) {
        Some(Fault::Throttle) => {
            return dynamodb_error(
                StatusCode::BAD_REQUEST,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            );
        }
        Some(Fault::ServerError) => {
            return dynamodb_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal server error",
            );
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Disconnect) => return broken_answer(),
        None => {}
    }
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.expect("read the request");
    let mut upstream = shared
        .client
        .request(
            parts.method,
            format!("{}{}", shared.upstream, parts.uri.path()),
        )
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.expect("the emulator answers");
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.expect("the emulator's answer");
    response.body(Body::from(bytes)).unwrap()
}

/// An answer whose body fails at once: the server drops the connection mid-answer, as a
/// network fault does (axum has no way for a handler to close the connection itself).
fn broken_answer() -> Response {
    let broken = futures::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
    });
    Response::new(Body::from_stream(broken))
}

/// An error as DynamoDB's JSON protocol sends it.
fn dynamodb_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.0"),
        )],
        body.to_string(),
    )
        .into_response()
}
