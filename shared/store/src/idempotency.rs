//! Idempotency records: one item per (scope, Idempotency-Key), claimed with a conditional write so
//! that exactly one of any number of concurrent requests runs, and the rest see its record.
//!
//! Item: `pk = <scope>#IDEMPOTENCY#<key>` (the scope is `T#<tenant>`, or `public` before sign-in,
//! so the tenant leads the key), `sk = IDEMPOTENCY`; `expires_at` is the TTL; `run` is the id
//! of the first run, which a take-over keeps. TTL deletion
//! is lazy (and the emulator never deletes), so an expired record is treated as absent: the claim's
//! condition overwrites it and readers ignore it.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};

use crate::attributes::{Item, corrupt, get_i64, get_s, n, s};
use crate::error::is_condition_failure;
use crate::{StoreError, Table};

const SORT_KEY: &str = "IDEMPOTENCY";

/// A response kept to be replayed to retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body, base64 when `binary`.
    pub body: String,
    pub binary: bool,
}

/// What another request left under the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Still running, or its runner died: the lock says until when it may run.
    InProgress {
        fingerprint: String,
        locked_until_ms: i64,
    },
    Completed {
        fingerprint: String,
        response: StoredResponse,
    },
}

impl Existing {
    pub fn fingerprint(&self) -> &str {
        match self {
            Self::InProgress { fingerprint, .. } | Self::Completed { fingerprint, .. } => {
                fingerprint
            }
        }
    }
}

/// The outcome of claiming a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key and must run, then `complete` or `release` it with `token`.
    Acquired {
        token: String,
    },
    Existing(Existing),
}

/// A key taken over from a runner that held it past its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenOver {
    pub token: String,
    /// The first run's id; `None` for a record written before runs had ids.
    pub run: Option<String>,
}

/// When a claim is made and for how long its parts last, in Unix time.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub now_ms: i64,
    /// How long the runner may hold the key before another request may take it over.
    pub lock_ms: i64,
    /// How long the record (and its replayable response) is kept.
    pub keep_s: i64,
}

#[derive(Clone, Debug)]
pub struct IdempotencyStore {
    table: Table,
}

impl IdempotencyStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    fn key(scope: &str, key: &str) -> String {
        format!("{scope}#IDEMPOTENCY#{key}")
    }

    /// Claims `key` for one request, run `run`, or returns what is already there.
    pub async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        (token, run): (&str, &str),
        lease: Lease,
    ) -> Result<Claim, StoreError> {
        let pk = Self::key(scope, key);
        let result = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item("pk", s(&pk))
            .item("sk", s(SORT_KEY))
            .item("state", s("in_progress"))
            .item("fingerprint", s(fingerprint))
            .item("token", s(token))
            .item("run", s(run))
            .item("locked_until_ms", n(lease.now_ms + lease.lock_ms))
            .item("expires_at", n(lease.now_ms / 1000 + lease.keep_s))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(lease.now_ms / 1000))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired {
                token: token.to_owned(),
            }),
            Err(SdkError::ServiceError(service))
                if matches!(
                    service.err(),
                    PutItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                let old = match service.err() {
                    PutItemError::ConditionalCheckFailedException(failed) => failed.item().cloned(),
                    _ => None,
                };
                let item = match old {
                    Some(item) => item,
                    None => self
                        .read(&pk)
                        .await?
                        .ok_or_else(|| corrupt(&pk, "vanished after a failed claim".into()))?,
                };
                Ok(Claim::Existing(parse(&pk, &item)?))
            }
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Takes over a key whose runner held it past its lock (it crashed or timed out).
    /// `None` when someone else took it first or it is no longer stale.
    pub async fn take_over(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        token: &str,
        lease: Lease,
    ) -> Result<Option<TakenOver>, StoreError> {
        let pk = Self::key(scope, key);
        let result = self
            .table
            .client()
            .update_item()
            .return_values(ReturnValue::AllNew)
            .table_name(self.table.name())
            .set_key(Some(item_key(&pk)))
            .update_expression("SET #token = :token, locked_until_ms = :until")
            .condition_expression(
                "#state = :in_progress AND locked_until_ms < :now AND fingerprint = :fp",
            )
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":until", n(lease.now_ms + lease.lock_ms))
            .expression_attribute_values(":now", n(lease.now_ms))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":fp", s(fingerprint))
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(TakenOver {
                token: token.to_owned(),
                run: output
                    .attributes()
                    .and_then(|item| item.get("run"))
                    .and_then(|run| run.as_s().ok())
                    .cloned(),
            })),
            Err(error) if is_condition_failure(&error) => Ok(None),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Records the response for replay; only the holder of `token` may.
    pub async fn complete(
        &self,
        scope: &str,
        key: &str,
        token: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let pk = Self::key(scope, key);
        let encoded =
            serde_json::to_string(response).map_err(|e| StoreError::Failed(Box::new(e)))?;
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(item_key(&pk)))
            .update_expression(
                "SET #state = :completed, #response = :response REMOVE locked_until_ms",
            )
            .condition_expression("#token = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#response", "response")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":completed", s("completed"))
            .expression_attribute_values(":response", s(encoded))
            .expression_attribute_values(":token", s(token))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Gives the key up so that a retry runs afresh (after a failure that must not be replayed).
    pub async fn release(&self, scope: &str, key: &str, token: &str) -> Result<(), StoreError> {
        let pk = Self::key(scope, key);
        let result = self
            .table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .set_key(Some(item_key(&pk)))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone took the key over meanwhile: it is theirs now.
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    async fn read(&self, pk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .table
            .client()
            .get_item()
            .table_name(self.table.name())
            .set_key(Some(item_key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output.item)
    }
}

/// The primary key of an idempotency record.
fn item_key(pk: &str) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(SORT_KEY))])
}

fn parse(pk: &str, item: &Item) -> Result<Existing, StoreError> {
    let fingerprint = get_s(item, pk, "fingerprint")?.to_owned();
    match get_s(item, pk, "state")? {
        "in_progress" => Ok(Existing::InProgress {
            fingerprint,
            locked_until_ms: get_i64(item, pk, "locked_until_ms")?,
        }),
        "completed" => {
            let encoded = get_s(item, pk, "response")?;
            let response = serde_json::from_str(encoded).map_err(|e| corrupt(pk, e.to_string()))?;
            Ok(Existing::Completed {
                fingerprint,
                response,
            })
        }
        other => Err(corrupt(pk, format!("unknown state {other:?}"))),
    }
}
