//! Sending to an SQS queue: batches of ten, the entries SQS refused sent again once.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::{SdkConfig, StoreError};

/// SQS takes at most ten messages a call.
const BATCH: usize = 10;

#[derive(Clone, Debug)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    pub fn new(config: &SdkConfig, url: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            url: url.into(),
        }
    }

    pub async fn send(&self, body: &str) -> Result<(), StoreError> {
        self.send_all(&[body.to_owned()]).await
    }

    /// Sends every body; an error means some may not have been sent (the caller retries the
    /// whole lot, which its consumers must tolerate: SQS is at-least-once anyway).
    pub async fn send_all(&self, bodies: &[String]) -> Result<(), StoreError> {
        for chunk in bodies.chunks(BATCH) {
            let mut pending: Vec<(String, &String)> = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| (i.to_string(), body))
                .collect();
            for attempt in 0..2 {
                let entries = pending
                    .iter()
                    .map(|(id, body)| {
                        SendMessageBatchRequestEntry::builder()
                            .id(id)
                            .message_body(*body)
                            .build()
                            .map_err(|e| StoreError::Failed(Box::new(e)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let output = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                let refused: Vec<&str> = output.failed.iter().map(|f| f.id.as_str()).collect();
                if refused.is_empty() {
                    break;
                }
                if attempt == 1 {
                    return Err(StoreError::Failed(
                        format!("SQS refused {} of the messages", refused.len()).into(),
                    ));
                }
                pending.retain(|(id, _)| refused.contains(&id.as_str()));
            }
        }
        Ok(())
    }
}
