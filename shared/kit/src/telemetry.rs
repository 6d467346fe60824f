//! Structured JSON logs with `tracing`: one span per invocation carries the request id,
//! correlation id, X-Ray trace id, function and cold start, so every line inside it does too;
//! and, switched on, the traces (crate::traces).

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::traces::{self, TraceSettings};

static COLD: AtomicBool = AtomicBool::new(true);

/// Installs the JSON logs (level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else info) and,
/// with `TRACES_ENABLED`, the traces. Safe to call twice: the second call (a test, or the
/// gateway after a function) keeps the first subscriber.
pub fn init() {
    install(json_logs(std::io::stdout), TraceSettings::from_env());
}

/// The same logs, writing where the test harness captures them (shown only for failing
/// tests); no traces.
pub fn init_for_tests() {
    install(json_logs(tracing_subscriber::fmt::TestWriter::new()), None);
}

/// The same, with traces sent as `settings` says: the test that reads the segments.
pub fn init_for_tests_with_traces(settings: TraceSettings) {
    install(
        json_logs(tracing_subscriber::fmt::TestWriter::new()),
        Some(settings),
    );
}

/// The same logs written to `writer`, for a test that reads what the functions log
/// (tests/tests/log_secrets.rs). Like [`init`], a second subscriber is not installed.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    install(json_logs(writer), None);
}

fn install<L>(logs: L, traces: Option<TraceSettings>)
where
    L: Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(log_filter()))
        .with(traces::layer(traces))
        .try_init();
}

/// One JSON object a line; the fields of the span a line is in (the invocation's request id,
/// correlation id, trace id, function, cold start) are in it.
fn json_logs<S, W>(writer: W) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
}

/// Lambda's log-level control (`LoggingConfig.ApplicationLogLevel` sets
/// `AWS_LAMBDA_LOG_LEVEL`) wins; `RUST_LOG` otherwise; info by default.
fn log_filter() -> EnvFilter {
    match std::env::var("AWS_LAMBDA_LOG_LEVEL") {
        Ok(level) => EnvFilter::new(lambda_level(&level)),
        Err(_) => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    }
}

/// Lambda's level names as `tracing`'s (it has no FATAL: that is an error).
fn lambda_level(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "info",
    }
}

/// True for the first invocation of this instance only.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_log_levels_are_tracings() {
        assert_eq!(lambda_level("DEBUG"), "debug");
        assert_eq!(lambda_level("warn"), "warn");
        assert_eq!(lambda_level("FATAL"), "error");
        assert_eq!(lambda_level("nonsense"), "info");
    }
}
