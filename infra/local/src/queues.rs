//! Lambda's SQS event source mapping: poll, hand a batch to the consumer, delete what it
//! processed, leave what it reported failed for redelivery. SQS itself moves a message to the
//! dead-letter queue once it has been received `maxReceiveCount` times.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::SqsBatchResponse;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{Value, json};
use steward_emulator::REGION;
use steward_template::QueueTrigger;
use tokio::sync::{Semaphore, watch};

use crate::gateway::{Failure, invoke};
use crate::stack::Deployed;

/// Short long-polls keep shutdown prompt; the threaded emulator serves them without blocking.
const WAIT_SECONDS: i32 = 1;

/// One receiver per queue, running up to `ScalingConfig.MaximumConcurrency` batches at once
/// (locally at most 4). Receives are never concurrent: the emulator's SQS loses messages to
/// concurrent receives of one queue (they stay in flight, unseen, for the visibility timeout).
pub(crate) async fn poll(
    sqs: Client,
    function: Arc<Deployed>,
    trigger: QueueTrigger,
    queue_url: String,
    retry_delay: Option<Duration>,
    mut stopped: watch::Receiver<bool>,
) {
    let queue_arn = queue_arn(&queue_url);
    let slots = Arc::new(Semaphore::new(
        trigger.maximum_concurrency.unwrap_or(1).clamp(1, 4) as usize,
    ));
    loop {
        let slot = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
        };
        let received = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            received = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(trigger.batch_size.clamp(1, 10) as i32)
                .wait_time_seconds(WAIT_SECONDS)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send() => received,
        };
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(queue = %queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "receive failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let event = json!({ "Records": messages.iter().map(|m| record(m, &queue_arn)).collect::<Vec<_>>() });
        let (sqs, function, queue_url) = (sqs.clone(), Arc::clone(&function), queue_url.clone());
        let report_failures = trigger.report_batch_item_failures;
        tokio::spawn(async move {
            run_batch(
                &sqs,
                &function,
                report_failures,
                &queue_url,
                &messages,
                event,
                retry_delay,
            )
            .await;
            drop(slot);
        });
    }
}

async fn run_batch(
    sqs: &Client,
    function: &Deployed,
    report_failures: bool,
    queue_url: &str,
    messages: &[Message],
    event: Value,
    retry_delay: Option<Duration>,
) {
    {
        let failed: HashSet<String> = match invoke(function, event).await {
            Ok(output) if report_failures => {
                match serde_json::from_value::<SqsBatchResponse>(output) {
                    Ok(response) => response
                        .batch_item_failures
                        .into_iter()
                        .map(|f| f.item_identifier)
                        .collect(),
                    // Lambda treats an unreadable answer as the whole batch failing.
                    Err(_) => messages
                        .iter()
                        .filter_map(|m| m.message_id.clone())
                        .collect(),
                }
            }
            Ok(_) => HashSet::new(),
            Err(Failure::Timeout | Failure::Error(_)) => messages
                .iter()
                .filter_map(|m| m.message_id.clone())
                .collect(),
        };
        settle(sqs, queue_url, messages, &failed, retry_delay).await;
    }
}

async fn settle(
    sqs: &Client,
    queue_url: &str,
    messages: &[Message],
    failed: &HashSet<String>,
    retry_delay: Option<Duration>,
) {
    let done: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .filter(|m| m.message_id.as_ref().is_some_and(|id| !failed.contains(id)))
        .enumerate()
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle.clone()?)
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty()
        && let Err(error) = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(done))
            .send()
            .await
    {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "could not delete processed messages");
    }
    let Some(delay) = retry_delay else { return };
    for message in messages
        .iter()
        .filter(|m| m.message_id.as_ref().is_some_and(|id| failed.contains(id)))
    {
        if let Some(handle) = &message.receipt_handle {
            let _ = sqs
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .visibility_timeout(delay.as_secs() as i32)
                .send()
                .await;
        }
    }
}

/// A received message as Lambda puts it in an SQS event.
fn record(message: &Message, queue_arn: &str) -> Value {
    let attributes: serde_json::Map<String, Value> = message
        .attributes
        .iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_owned(), Value::String(value.clone())))
        .collect();
    let message_attributes: serde_json::Map<String, Value> = message
        .message_attributes
        .iter()
        .flatten()
        .map(|(name, value)| {
            (name.clone(), json!({ "stringValue": value.string_value, "dataType": value.data_type, "stringListValues": [], "binaryListValues": [] }))
        })
        .collect();
    json!({
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    })
}

/// `http://host/123456789012/name` → `arn:aws:sqs:<region>:123456789012:name`.
fn queue_arn(queue_url: &str) -> String {
    let mut parts = queue_url.rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or_default();
    format!("arn:aws:sqs:{REGION}:{account}:{name}")
}
