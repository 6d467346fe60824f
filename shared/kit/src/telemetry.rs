//! Structured JSON logs with `tracing`: one span per invocation carries the request id,
//! correlation id, function and cold start, so every line inside it does too.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

static COLD: AtomicBool = AtomicBool::new(true);

/// Installs the JSON subscriber (level from `RUST_LOG`, default info). Safe to call twice: the
/// second call (a test, or the gateway after a function) keeps the first subscriber.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

/// True for the first invocation of this instance only.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}
