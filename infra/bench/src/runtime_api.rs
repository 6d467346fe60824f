//! A local Lambda Runtime API (the `2018-06-01` interface a function process polls) that hands
//! one event to one process and times it: when the process first asks for an event (its init is
//! done) and when it answers. It also takes an extension's registration (the `2020-01-01`
//! Extensions API), as a function that asks to be told of its shutdown registers one during
//! its init; that extension is sent no event.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::oneshot;

/// How the one invocation ended.
#[derive(Debug)]
pub enum Outcome {
    Answered(Bytes),
    /// The function reported an error for the event, or failed its init.
    Failed(Bytes),
}

struct Inner {
    event: Mutex<Option<Bytes>>,
    ready: Mutex<Option<oneshot::Sender<Instant>>>,
    done: Mutex<Option<oneshot::Sender<(Instant, Outcome)>>>,
}

/// A running Runtime API holding one event.
pub struct RuntimeApi {
    pub address: SocketAddr,
    pub ready: oneshot::Receiver<Instant>,
    pub done: oneshot::Receiver<(Instant, Outcome)>,
    server: tokio::task::JoinHandle<()>,
}

const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1 with `event` to give.
    pub async fn serve(event: Vec<u8>) -> std::io::Result<Self> {
        let (ready_tx, ready) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let inner = Arc::new(Inner {
            event: Mutex::new(Some(Bytes::from(event))),
            ready: Mutex::new(Some(ready_tx)),
            done: Mutex::new(Some(done_tx)),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(|state, body| finish(state, body, true)),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(|state, body| finish(state, body, false)),
            )
            .route(
                "/2018-06-01/runtime/init/error",
                post(|state, body| finish(state, body, false)),
            )
            .route("/2020-01-01/extension/register", post(register))
            .route(
                "/2020-01-01/extension/event/next",
                get(std::future::pending::<()>),
            )
            .with_state(inner);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            ready,
            done,
            server,
        })
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> axum::response::Response {
    let at = Instant::now();
    if let Some(ready) = inner.ready.lock().expect("not poisoned").take() {
        let _ = ready.send(at);
    }
    let event = inner.event.lock().expect("not poisoned").take();
    let Some(event) = event else {
        // One event per process: the next poll waits until the process is stopped.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() + 30_000)
        .unwrap_or_default();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", REQUEST_ID.to_owned()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:000000000000:function:bench".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000001;Sampled=0".to_owned(),
        ),
        ("content-type", "application/json".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (StatusCode::OK, headers, event).into_response()
}

async fn register() -> impl IntoResponse {
    (
        [(
            "lambda-extension-identifier",
            "00000000-0000-4000-8000-00000000e001",
        )],
        axum::Json(serde_json::json!({
            "functionName": "bench",
            "functionVersion": "$LATEST",
            "handler": "bootstrap",
        })),
    )
}

async fn finish(State(inner): State<Arc<Inner>>, body: Bytes, answered: bool) -> StatusCode {
    let at = Instant::now();
    if let Some(done) = inner.done.lock().expect("not poisoned").take() {
        let outcome = if answered {
            Outcome::Answered(body)
        } else {
            Outcome::Failed(body)
        };
        let _ = done.send((at, outcome));
    }
    StatusCode::ACCEPTED
}
