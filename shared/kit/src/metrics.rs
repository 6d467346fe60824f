//! CloudWatch metrics in the Embedded Metric Format: one JSON document per line on stdout,
//! which CloudWatch Logs turns into metrics without an API call on the request path.

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Steward";

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
    values: Vec<(String, f64, Unit)>,
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

    pub fn count(mut self, name: &str, value: u64) -> Self {
        self.values
            .push((name.to_owned(), value as f64, Unit::Count));
        self
    }

    pub fn millis(mut self, name: &str, value: f64) -> Self {
        self.values
            .push((name.to_owned(), value, Unit::Milliseconds));
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
        for (name, value, _) in &self.values {
            root.insert(name.clone(), json!(value));
        }
        let dimension_names: Vec<&str> = self
            .dimensions
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms as u64,
                "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [dimension_names], "Metrics": definitions }],
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
            .millis("Latency", 1.5)
            .count("Requests", 1)
            .property("request_id", "r-1")
            .document(1_700_000_000_000);
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000u64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function", "Route"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "Latency", "Unit": "Milliseconds" }, { "Name": "Requests", "Unit": "Count" }])
        );
        // Every dimension and metric named in the directive is a member of the root.
        assert_eq!(doc["Function"], "platform");
        assert_eq!(doc["Route"], "GET /v1/health");
        assert_eq!(doc["Latency"], 1.5);
        assert_eq!(doc["Requests"], 1.0);
        assert_eq!(doc["request_id"], "r-1");
    }
}
