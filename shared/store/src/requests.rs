//! DynamoDB requests counted as they are sent (SPEC §C asks how many each operation costs):
//! an SDK interceptor on every client [`crate::Table`] builds counts each attempt by operation,
//! into the request being answered (a task-local scope the kit opens per request).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Requests by operation name (`GetItem`, `TransactWriteItems`, ...).
pub type Counts = BTreeMap<String, u32>;

tokio::task_local! {
    static CURRENT: Arc<Mutex<Counts>>;
}

/// Runs `work`, answering what it returns and the DynamoDB requests it sent.
pub async fn counted<F: Future>(work: F) -> (F::Output, Counts) {
    let counts = Arc::new(Mutex::new(Counts::new()));
    let output = CURRENT.scope(counts.clone(), work).await;
    let counts = counts.lock().map(|c| c.clone()).unwrap_or_default();
    (output, counts)
}

fn record(operation: &str) {
    let _ = CURRENT.try_with(|counts| {
        if let Ok(mut counts) = counts.lock() {
            *counts.entry(operation.to_owned()).or_default() += 1;
        }
    });
}

/// The interceptor: one count per attempt sent (a retried request is billed twice).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestCounter;

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|metadata| metadata.name())
            .unwrap_or("unknown");
        record(operation);
        Ok(())
    }
}

/// The total of `counts`.
pub fn total(counts: &Counts) -> u32 {
    counts.values().sum()
}
