//! Structured JSON logs with `tracing`: one span per invocation carries the request id,
//! correlation id, function and cold start, so every line inside it does too.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

static COLD: AtomicBool = AtomicBool::new(true);

/// Installs the JSON subscriber (level from `RUST_LOG`, default info). Safe to call twice: the
/// second call (a test, or the gateway after a function) keeps the first subscriber.
pub fn init() {
    let _ = subscriber().try_init();
}

/// The same, writing where the test harness captures it (shown only for failing tests).
pub fn init_for_tests() {
    let _ = subscriber().with_test_writer().try_init();
}

/// The same subscriber writing to `writer`, for a test that reads what the functions log
/// (tests/tests/log_secrets.rs). Like [`init`], a second subscriber is not installed.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    let _ = subscriber().with_writer(writer).try_init();
}

fn subscriber() -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
    EnvFilter,
> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
}

/// True for the first invocation of this instance only.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}
