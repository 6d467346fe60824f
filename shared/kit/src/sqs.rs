//! SQS batches with partial failures: records run with bounded concurrency, and a record that
//! fails or panics is reported alone in `batchItemFailures`, never failing the whole batch.
//!
//! FIFO queues keep order within a message group: once a record of a group fails, the later
//! records of that group are reported failed without running, so they are retried in order.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::{FutureExt, StreamExt, stream};
use lambda_runtime::LambdaEvent;
use tracing::Instrument;

use crate::runtime::{Error, Function};

/// What a queue's consumer does with one record.
pub trait RecordHandler: Send + Sync + 'static {
    type Error: Display + Send;

    fn handle(&self, record: &SqsMessage) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Runs every record of `event`; the answer lists the ones to retry.
pub async fn process_batch<H: RecordHandler>(
    handler: &H,
    event: SqsEvent,
    concurrency: usize,
) -> SqsBatchResponse {
    // Standard-queue records each form their own group; FIFO records share their MessageGroupId's.
    let mut groups: Vec<Vec<SqsMessage>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for record in event.records {
        match record.attributes.get("MessageGroupId").cloned() {
            Some(group) => {
                let index = *group_of.entry(group).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[index].push(record);
            }
            None => groups.push(vec![record]),
        }
    }
    let failed: Vec<Vec<String>> = stream::iter(groups)
        .map(|group| run_group(handler, group))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .flatten()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

async fn run_group<H: RecordHandler>(handler: &H, group: Vec<SqsMessage>) -> Vec<String> {
    let mut failed = Vec::new();
    for record in &group {
        let id = record.message_id.clone().unwrap_or_default();
        if !failed.is_empty() {
            failed.push(id);
            continue;
        }
        // SQS hands on the sender's trace (`AWSTraceHeader`) when it had one.
        let trace_header = record.attributes.get("AWSTraceHeader").map(String::as_str);
        let span = tracing::info_span!(
            "record",
            message_id = %id,
            trace_id = trace_header.and_then(crate::traces::trace_id).unwrap_or_default(),
        );
        crate::traces::continue_trace(&span, trace_header);
        match AssertUnwindSafe(handler.handle(record))
            .catch_unwind()
            .instrument(span)
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "record failed; it will be retried");
                failed.push(id);
            }
            Err(_) => {
                tracing::error!("record handler panicked; it will be retried");
                failed.push(id);
            }
        }
    }
    failed
}

/// Whether `record` is on the delivery after which SQS moves it to the dead-letter queue
/// (`max_receives`, the queue's `maxReceiveCount`): a consumer's chance to record the failure.
pub fn is_last_delivery(record: &SqsMessage, max_receives: u32) -> bool {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count >= max_receives)
}

/// A queue consumer as a Lambda function.
pub struct SqsFunction<H> {
    handler: H,
    concurrency: usize,
}

impl<H: RecordHandler> SqsFunction<H> {
    pub fn new(handler: H, concurrency: usize) -> Self {
        Self {
            handler,
            concurrency,
        }
    }
}

impl<H: RecordHandler> Function for SqsFunction<H> {
    type Event = SqsEvent;
    type Output = SqsBatchResponse;

    async fn call(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(process_batch(&self.handler, event.payload, self.concurrency).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Fails bodies "fail", panics on "panic", records the order it ran the others in.
    #[derive(Default)]
    struct Recorder {
        ran: Mutex<Vec<String>>,
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    impl RecordHandler for Recorder {
        type Error = String;

        async fn handle(&self, record: &SqsMessage) -> Result<(), String> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            let body = record.body.clone().unwrap_or_default();
            match body.as_str() {
                "fail" => Err("refused".into()),
                "panic" => panic!("boom"),
                _ => {
                    self.ran.lock().unwrap().push(body);
                    Ok(())
                }
            }
        }
    }

    fn record(id: &str, body: &str, group: Option<&str>) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.into());
        message.body = Some(body.into());
        if let Some(group) = group {
            message
                .attributes
                .insert("MessageGroupId".into(), group.into());
        }
        message
    }

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = records;
        event
    }

    fn failures(response: &SqsBatchResponse) -> Vec<&str> {
        let mut ids: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn failures_and_panics_are_reported_alone() {
        let recorder = Recorder::default();
        let batch = event(vec![
            record("1", "a", None),
            record("2", "fail", None),
            record("3", "panic", None),
            record("4", "b", None),
        ]);
        let response = process_batch(&recorder, batch, 4).await;
        assert_eq!(failures(&response), ["2", "3"]);
        let mut ran = recorder.ran.lock().unwrap().clone();
        ran.sort();
        assert_eq!(ran, ["a", "b"]);
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let recorder = Recorder::default();
        let batch = event((0..10).map(|i| record(&i.to_string(), "x", None)).collect());
        let response = process_batch(&recorder, batch, 3).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(recorder.ran.lock().unwrap().len(), 10);
        assert!(recorder.peak.load(Ordering::SeqCst) <= 3);
        assert!(
            recorder.peak.load(Ordering::SeqCst) >= 2,
            "ran concurrently"
        );
    }

    #[tokio::test]
    async fn a_failed_fifo_record_holds_back_the_rest_of_its_group() {
        let recorder = Recorder::default();
        let batch = event(vec![
            record("1", "g1-a", Some("g1")),
            record("2", "fail", Some("g1")),
            record("3", "g1-c", Some("g1")),
            record("4", "g2-a", Some("g2")),
        ]);
        let response = process_batch(&recorder, batch, 4).await;
        assert_eq!(failures(&response), ["2", "3"]);
        let mut ran = recorder.ran.lock().unwrap().clone();
        ran.sort();
        assert_eq!(ran, ["g1-a", "g2-a"]);
    }

    #[tokio::test]
    async fn the_sample_event_decodes_and_runs() {
        let sample = include_str!("../../../events/sqs/notification-batch.json");
        let event: SqsEvent = serde_json::from_str(sample).unwrap();
        let count = event.records.len();
        let response = process_batch(&Recorder::default(), event, 2).await;
        assert!(count >= 2);
        assert!(response.batch_item_failures.is_empty());
    }
}
