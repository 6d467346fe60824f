//! CloudWatch metrics in the Embedded Metric Format: one JSON document per line on stdout,
//! which CloudWatch Logs turns into metrics without an API call on the request path.

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Steward";

/// Every metric the functions write: what the template's alarms and dashboard may name
/// (infra/monitoring/metrics.json, held equal by a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricName {
    Latency,
    /// Answers below 500.
    Requests,
    /// 5xx answers.
    Faults,
    /// An instance's first answer.
    ColdStarts,
    CacheHits,
    CacheMisses,
    PermissionCheckLatency,
    SweepTenants,
    SweepFailedTenants,
}

impl MetricName {
    pub const ALL: [Self; 9] = [
        Self::Latency,
        Self::Requests,
        Self::Faults,
        Self::ColdStarts,
        Self::CacheHits,
        Self::CacheMisses,
        Self::PermissionCheckLatency,
        Self::SweepTenants,
        Self::SweepFailedTenants,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latency => "Latency",
            Self::Requests => "Requests",
            Self::Faults => "Faults",
            Self::ColdStarts => "ColdStarts",
            Self::CacheHits => "CacheHits",
            Self::CacheMisses => "CacheMisses",
            Self::PermissionCheckLatency => "PermissionCheckLatency",
            Self::SweepTenants => "SweepTenants",
            Self::SweepFailedTenants => "SweepFailedTenants",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF document: dimensions, metric values and searchable properties.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    dimensions: Vec<(String, String)>,
    /// Coarser dimension sets the values are also published under (a route's latency also as
    /// its function's, which the alarms and the dashboard read).
    rollups: Vec<Vec<String>>,
    /// Each metric's values: one, or several of one request (up to 100, EMF's limit).
    values: Vec<(MetricName, Vec<f64>, Unit)>,
    properties: Map<String, Value>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The values also aggregated by these dimensions only (each one of [`Self::dimension`];
    /// none: across the service).
    pub fn also_by(mut self, names: &[&str]) -> Self {
        self.rollups
            .push(names.iter().map(|name| (*name).to_owned()).collect());
        self
    }

    pub fn count(mut self, name: MetricName, value: u64) -> Self {
        self.values.push((name, vec![value as f64], Unit::Count));
        self
    }

    pub fn millis(mut self, name: MetricName, value: f64) -> Self {
        self.values.push((name, vec![value], Unit::Milliseconds));
        self
    }

    /// Several values of one metric (a request's permission checks); none: left out.
    pub fn millis_each(mut self, name: MetricName, values: &[f64]) -> Self {
        if !values.is_empty() {
            let kept = values.iter().copied().take(MAX_VALUES).collect();
            self.values.push((name, kept, Unit::Milliseconds));
        }
        self
    }

    /// A value kept on the log line for search, not turned into a metric.
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// The EMF document at `timestamp_ms`.
    pub fn document(&self, timestamp_ms: u128) -> Value {
        let mut root = self.properties.clone();
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, values, _) in &self.values {
            let value = match values.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            root.insert(name.as_str().to_owned(), value);
        }
        let dimension_names: Vec<&str> = self
            .dimensions
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let mut dimension_sets = vec![json!(dimension_names)];
        dimension_sets.extend(self.rollups.iter().map(|names| json!(names)));
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name.as_str(), "Unit": unit.as_str() }))
            .collect();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms as u64,
                "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": dimension_sets, "Metrics": definitions }],
            }),
        );
        Value::Object(root)
    }

    /// Writes the document to the sink (stdout unless redirected).
    pub fn emit(self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let line = self.document(now).to_string();
        let mut sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match sink.as_mut() {
            Some(writer) => {
                let _ = writeln!(writer, "{line}");
            }
            None => println!("{line}"),
        }
    }
}

/// The most values one metric may carry in an EMF document.
const MAX_VALUES: usize = 100;

static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// Sends EMF lines elsewhere than stdout (the local gateway keeps its console readable).
pub fn redirect(writer: Box<dyn Write + Send>) {
    *SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let doc = Metrics::new()
            .dimension("Function", "platform")
            .dimension("Route", "GET /v1/health")
            .also_by(&["Function"])
            .also_by(&[])
            .millis(MetricName::Latency, 1.5)
            .count(MetricName::Requests, 1)
            .millis_each(MetricName::PermissionCheckLatency, &[0.5, 0.25])
            .millis_each(MetricName::CacheHits, &[])
            .property("request_id", "r-1")
            .document(1_700_000_000_000);
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000u64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            json!([["Function", "Route"], ["Function"], []])
        );
        assert_eq!(
            directive["Metrics"],
            json!([
                { "Name": "Latency", "Unit": "Milliseconds" },
                { "Name": "Requests", "Unit": "Count" },
                { "Name": "PermissionCheckLatency", "Unit": "Milliseconds" },
            ])
        );
        assert_eq!(doc["PermissionCheckLatency"], json!([0.5, 0.25]));
        assert!(doc.get("CacheHits").is_none(), "no values: left out");
        // Every dimension and metric named in the directive is a member of the root.
        assert_eq!(doc["Function"], "platform");
        assert_eq!(doc["Route"], "GET /v1/health");
        assert_eq!(doc["Latency"], 1.5);
        assert_eq!(doc["Requests"], 1.0);
        assert_eq!(doc["request_id"], "r-1");
    }

    /// The template's alarms and dashboard may name only what the functions write, and the
    /// catalogue make lint checks them against is this list.
    #[test]
    fn the_metrics_written_are_the_catalogues() {
        let catalogue: Value =
            serde_json::from_str(include_str!("../../../infra/monitoring/metrics.json")).unwrap();
        assert_eq!(catalogue["namespace"], NAMESPACE);
        let mut listed: Vec<&str> = catalogue["metrics"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut written: Vec<&str> = MetricName::ALL.iter().map(|m| m.as_str()).collect();
        listed.sort_unstable();
        written.sort_unstable();
        assert_eq!(written, listed);
    }
}
