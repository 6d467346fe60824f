//! Traces, with `TRACES_ENABLED=true`: each invocation's span and every AWS call the SDK makes
//! inside it (the SDK's own `<Service>.<Operation>` spans: DynamoDB, SQS, S3, SES) become
//! X-Ray segments, through `tracing-opentelemetry` with `opentelemetry-aws`'s X-Ray id
//! generator and trace-header parser, sent by its daemon client over UDP. Lambda runs the
//! X-Ray daemon beside a function with `Tracing: Active` (`AWS_XRAY_DAEMON_ADDRESS`) and hands
//! each invocation its trace header; the invocation's span joins that trace under Lambda's own
//! segment. Off, nothing is built: no provider, no socket, no spans beyond the logs'.
//!
//! Each span is sent as it ends (a UDP datagram to the daemon, which batches for X-Ray): a
//! frozen sandbox never holds spans in a buffer, and nothing needs flushing at shutdown.

use std::net::SocketAddr;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_aws::trace::XrayIdGenerator;
use opentelemetry_aws::trace::xray_propagator::span_context_from_str;
use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_aws::xray_exporter::{SegmentTranslator, XrayExporter};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// Where the spans go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceSettings {
    /// The X-Ray daemon's UDP address.
    pub daemon: SocketAddr,
}

/// The daemon's address when Lambda does not say (its own default).
const DEFAULT_DAEMON: &str = "127.0.0.1:2000";

impl TraceSettings {
    /// From `TRACES_ENABLED` and `AWS_XRAY_DAEMON_ADDRESS` (`host:port`, or Lambda's
    /// `tcp:… udp:…` pair, of which the UDP one): `None` unless traces are on.
    pub fn from_env() -> Option<Self> {
        let enabled = std::env::var("TRACES_ENABLED").is_ok_and(|v| v == "true");
        if !enabled {
            return None;
        }
        let address = std::env::var("AWS_XRAY_DAEMON_ADDRESS").unwrap_or_default();
        Some(Self {
            daemon: daemon_address(&address)
                .unwrap_or_else(|| DEFAULT_DAEMON.parse().expect("the default is an address")),
        })
    }
}

fn daemon_address(value: &str) -> Option<SocketAddr> {
    value
        .split_whitespace()
        .find_map(|part| match part.split_once(':') {
            Some(("udp", address)) => address.parse().ok(),
            _ => part.parse().ok(),
        })
}

/// The layer that turns spans into segments, or `None` when traces are off (or the socket
/// cannot be made: logged, and the function runs untraced).
pub(crate) fn layer<S>(settings: Option<TraceSettings>) -> Option<impl Layer<S>>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let settings = settings?;
    let client = match XrayDaemonClient::new(settings.daemon) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("traces are off: no socket to the X-Ray daemon: {error}");
            return None;
        }
    };
    // The invocation's function and route are annotations: X-Ray searches by them.
    let translator =
        SegmentTranslator::new().with_indexed_attrs(["function".to_owned(), "route".to_owned()]);
    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .with_simple_exporter(XrayExporter::new(client).with_translator(translator))
        .build();
    let tracer = provider.tracer("steward");
    // The invocations' spans, and the SDK's operation spans (debug, one per call), not its
    // attempts' inner spans nor any event.
    let traced = Targets::new()
        .with_target("steward_kit", LevelFilter::INFO)
        .with_target("aws_sdk_dynamodb", LevelFilter::DEBUG)
        .with_target("aws_sdk_sqs", LevelFilter::DEBUG)
        .with_target("aws_sdk_s3", LevelFilter::DEBUG)
        .with_target("aws_sdk_sesv2", LevelFilter::DEBUG);
    let spans_only = tracing_subscriber::filter::filter_fn(|metadata| metadata.is_span());
    Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(traced)
            .with_filter(spans_only),
    )
}

/// Joins `span` to the trace of `header` (`Root=…;Parent=…;Sampled=…`, Lambda's trace header
/// for the invocation). Without traces, or without a header, nothing changes.
pub fn continue_trace(span: &tracing::Span, header: Option<&str>) {
    if let Some(remote) = header.and_then(span_context_from_str) {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
}

/// The trace id a header names (`1-5759e988-bd862e3fe1be46a994272793`), for the logs.
pub fn trace_id(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_address_is_lambdas_udp_one() {
        let udp: SocketAddr = "169.254.79.129:2000".parse().unwrap();
        assert_eq!(daemon_address("169.254.79.129:2000"), Some(udp));
        assert_eq!(
            daemon_address("tcp:127.0.0.1:2000 udp:169.254.79.129:2000"),
            Some(udp)
        );
        assert_eq!(daemon_address(""), None);
    }

    #[test]
    fn a_header_names_its_trace() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(
            trace_id(header),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(trace_id("Parent=53995c3f42cd8ad8"), None);
    }
}
