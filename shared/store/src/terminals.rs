//! Door terminals, their pairing codes, nonces and offline items, and the badge registry
//! (SPEC §D).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | terminal | `T#<tenant>` | `TERMINAL#<id>` |
//! | revoked terminal (history) | `T#<tenant>` | `REVOKED_TERMINAL#<id>` |
//! | pairing code | `PAIRING#<SHA-256 of the code>` | `PAIRING` |
//! | used nonce (TTL) | `T#<tenant>#TERMINAL#<id>` | `NONCE#<nonce>` |
//! | applied offline item (TTL) | `T#<tenant>#TERMINAL#<id>` | `SYNC#<item id>` |
//! | badge | `T#<tenant>` | `BADGE#<badge id>` |
//!
//! A terminal counts against the licence's terminal limit from its registration until its
//! revocation, kept by a conditional update of the tenant's counter in the same transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, Update,
};
use serde::{Deserialize, Serialize};

use crate::attributes::{n, s};
use crate::audit::AuditEntry;
use crate::preconditions::Precondition;
use crate::write::{delete, failed_condition, key, put, take_licence_place, tenant_pk, update};
use crate::{Query, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalRecord {
    pub pk: String,
    pub sk: String,
    pub terminal_id: String,
    pub tenant_id: String,
    pub room_id: String,
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    /// The pairing item's partition, until the code is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_pk: Option<String>,
    pub pairing_expires_at: i64,
    /// When the code was exchanged for the secret (`None`: not paired yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Wrong PINs since `pin_window_start` (unix seconds).
    #[serde(default)]
    pub pin_failures: u32,
    #[serde(default)]
    pub pin_window_start: i64,
    /// Unix seconds until which PINs are refused.
    #[serde(default)]
    pub pin_locked_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl TerminalRecord {
    pub fn key(tenant_id: &str, terminal_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("TERMINAL#{terminal_id}"))
    }
}

/// What counting a wrong PIN found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCount {
    /// Counted: the wrong PINs in the current window, this one included.
    Counted(u32),
    /// Not counted: the terminal refuses PINs until `until` (unix seconds).
    Locked { until: i64 },
    /// Not counted: no such terminal (revoked).
    Gone,
}

/// What taking a nonce with the terminal's pairing held found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceTaken {
    Taken,
    /// Used before.
    Replay,
    /// The terminal was revoked or paired again.
    Unpaired,
}

/// `pin_failures` of an update's answer.
fn failures(attributes: Option<&HashMap<String, AttributeValue>>) -> u32 {
    attributes
        .and_then(|a| a.get("pin_failures"))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Why a PIN count's condition failed, from the item as it was: `None` when the terminal is
/// open to PINs (its window is what failed).
fn refused_pin(
    error: SdkError<UpdateItemError, HttpResponse>,
    now: i64,
) -> Result<Option<PinCount>, StoreError> {
    let old = match &error {
        SdkError::ServiceError(service) => match service.err() {
            UpdateItemError::ConditionalCheckFailedException(failed) => failed.item(),
            _ => return Err(StoreError::from_sdk(error)),
        },
        _ => return Err(StoreError::from_sdk(error)),
    };
    let Some(old) = old else {
        return Ok(Some(PinCount::Gone));
    };
    let until = old
        .get("pin_locked_until")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or_default();
    Ok((until > now).then_some(PinCount::Locked { until }))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PairingRecord {
    pk: String,
    sk: String,
    tenant_id: String,
    terminal_id: String,
    /// Unix seconds: the TTL, and what a reader checks (TTL deletion is late).
    expires_at: i64,
}

/// What a pairing code pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    code_pk: String,
    pub tenant_id: String,
    pub terminal_id: String,
}

/// The pairing item's partition for a code, by its SHA-256: the code itself is never stored.
pub fn pairing_pk(code_hash: &str) -> String {
    format!("PAIRING#{code_hash}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeRecord {
    pub pk: String,
    pub sk: String,
    pub badge_id: String,
    pub tenant_id: String,
    pub member_id: String,
    #[serde(default)]
    pub label: String,
    pub created_at: String,
}

impl BadgeRecord {
    pub fn key(tenant_id: &str, badge_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("BADGE#{badge_id}"))
    }
}

/// An offline item a terminal uploaded and what came of it, kept so that an upload sent again
/// changes nothing twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedItem {
    pub pk: String,
    pub sk: String,
    pub item_id: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub expires_at: i64,
}

/// A used nonce, remembered until `expires_at` (unix seconds, the TTL).
pub(crate) fn nonce_item(
    tenant_id: &str,
    terminal_id: &str,
    nonce: &str,
    expires_at: i64,
) -> crate::attributes::Item {
    crate::attributes::Item::from([
        (
            "pk".to_owned(),
            s(terminal_partition(tenant_id, terminal_id)),
        ),
        ("sk".to_owned(), s(format!("NONCE#{nonce}"))),
        ("expires_at".to_owned(), n(expires_at)),
    ])
}

fn terminal_partition(tenant_id: &str, terminal_id: &str) -> String {
    format!("T#{tenant_id}#TERMINAL#{terminal_id}")
}

impl AppliedItem {
    pub fn key(tenant_id: &str, terminal_id: &str, item_id: &str) -> (String, String) {
        (
            terminal_partition(tenant_id, terminal_id),
            format!("SYNC#{item_id}"),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalWriteError {
    #[error("the licence's terminal limit is reached")]
    LimitReached,
    #[error("the terminal is not there")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub struct TerminalStore {
    table: Table,
}

impl TerminalStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Registers a terminal with its pairing code's hash, counting it against `limit`.
    pub async fn register(
        &self,
        record: &TerminalRecord,
        limit: Option<u32>,
        audit: &AuditEntry,
    ) -> Result<(), TerminalWriteError> {
        let table = self.table.name();
        let pairing_pk = record
            .pairing_pk
            .clone()
            .ok_or_else(|| StoreError::Failed("a new terminal without a pairing code".into()))?;
        let pairing = PairingRecord {
            pk: pairing_pk,
            sk: "PAIRING".into(),
            tenant_id: record.tenant_id.clone(),
            terminal_id: record.terminal_id.clone(),
            expires_at: record.pairing_expires_at,
        };
        let items = vec![
            take_licence_place(table, &record.pk, "terminals_used", limit)?,
            put(record, table, Some("attribute_not_exists(pk)"))?,
            put(&pairing, table, Some("attribute_not_exists(pk)"))?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if failed_condition(&error) == Some(0) => {
                Err(TerminalWriteError::LimitReached)
            }
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    /// The terminal, if registered and not revoked (consistent).
    pub async fn get(
        &self,
        tenant_id: &str,
        terminal_id: &str,
    ) -> Result<Option<TerminalRecord>, StoreError> {
        let (pk, sk) = TerminalRecord::key(tenant_id, terminal_id);
        self.table.get(pk, sk, true).await
    }

    /// The tenant's terminals, registered and revoked (at most 1,000 of each).
    pub async fn list(&self, tenant_id: &str) -> Result<Vec<TerminalRecord>, StoreError> {
        let pk = tenant_pk(tenant_id);
        let (mut active, _): (Vec<TerminalRecord>, _) = self
            .table
            .query_up_to(Query::partition(&pk).with_prefix("TERMINAL#"), 1_000)
            .await?;
        let (revoked, _): (Vec<TerminalRecord>, _) = self
            .table
            .query_up_to(
                Query::partition(&pk).with_prefix("REVOKED_TERMINAL#"),
                1_000,
            )
            .await?;
        active.extend(revoked);
        Ok(active)
    }

    /// The terminal a pairing code of hash `code_hash` pairs, if the code is known and not
    /// expired at `now` (unix seconds).
    pub async fn pairing(&self, code_hash: &str, now: i64) -> Result<Option<Pairing>, StoreError> {
        Ok(self
            .table
            .get::<PairingRecord>(pairing_pk(code_hash), "PAIRING".into(), true)
            .await?
            .filter(|p| p.expires_at > now)
            .map(|p| Pairing {
                code_pk: p.pk,
                tenant_id: p.tenant_id,
                terminal_id: p.terminal_id,
            }))
    }

    /// Uses a pairing code once, with its audit entry: the paired terminal, or `None` when a
    /// concurrent exchange used the code first (or the terminal was revoked meanwhile).
    pub async fn pair(
        &self,
        pairing: &Pairing,
        paired_at: &str,
        audit: &AuditEntry,
    ) -> Result<Option<TerminalRecord>, StoreError> {
        let table = self.table.name();
        let (terminal_pk, terminal_sk) =
            TerminalRecord::key(&pairing.tenant_id, &pairing.terminal_id);
        let paired = Update::builder()
            .table_name(table)
            .set_key(Some(key(terminal_pk.clone(), terminal_sk.clone())))
            .update_expression("SET paired_at = :at REMOVE pairing_pk")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(paired_at)")
            .expression_attribute_values(":at", s(paired_at));
        let items = vec![
            delete(
                table,
                pairing.code_pk.clone(),
                "PAIRING".into(),
                Some("attribute_exists(pk)"),
            )?,
            update(paired.build())?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => {}
            Err(error) if failed_condition(&error).is_some() => return Ok(None),
            Err(error) => return Err(StoreError::from_sdk(error)),
        }
        self.table.get(terminal_pk, terminal_sk, true).await
    }

    /// Revokes a terminal: kept as history under another key, its pairing code gone, its
    /// licence place given back; `NotFound` when it is not registered (any more).
    pub async fn revoke(
        &self,
        record: &TerminalRecord,
        revoked_at: &str,
        audit: &AuditEntry,
    ) -> Result<(), TerminalWriteError> {
        let table = self.table.name();
        let mut history = record.clone();
        history.sk = format!("REVOKED_TERMINAL#{}", record.terminal_id);
        history.revoked_at = Some(revoked_at.to_owned());
        history.pairing_pk = None;
        let count = Update::builder()
            .table_name(table)
            .set_key(Some(key(record.pk.clone(), "TENANT".into())))
            .update_expression("SET #l.terminals_used = #l.terminals_used - :one")
            .condition_expression("#l.terminals_used > :zero")
            .expression_attribute_names("#l", "licence")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        let mut items = vec![
            delete(
                table,
                record.pk.clone(),
                record.sk.clone(),
                Some("attribute_exists(pk)"),
            )?,
            put(&history, table, None)?,
            update(count.build())?,
            put(audit, table, None)?,
        ];
        if let Some(pairing) = &record.pairing_pk {
            items.push(delete(table, pairing.clone(), "PAIRING".into(), None)?);
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if failed_condition(&error) == Some(0) => Err(TerminalWriteError::NotFound),
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    /// Records a heartbeat (or any signed request) of a registered terminal.
    pub async fn seen(
        &self,
        tenant_id: &str,
        terminal_id: &str,
        at: &str,
        app_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let (pk, sk) = TerminalRecord::key(tenant_id, terminal_id);
        let mut change = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", s(at));
        change = match app_version {
            Some(version) => change
                .update_expression("SET last_seen_at = :at, app_version = :version")
                .expression_attribute_values(":version", s(version)),
            None => change.update_expression("SET last_seen_at = :at"),
        };
        match change.send().await {
            Ok(_) => Ok(()),
            // Revoked between its check and now: nothing to record.
            Err(error) if crate::error::is_condition_failure(&error) => Ok(()),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Takes a nonce for this terminal until `expires_at` (unix seconds): `false` when it was
    /// taken before (a replay).
    pub async fn take_nonce(
        &self,
        tenant_id: &str,
        terminal_id: &str,
        nonce: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let written = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(nonce_item(tenant_id, terminal_id, nonce, expires_at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(error) if crate::error::is_condition_failure(&error) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Counts one wrong PIN at `now` (unix seconds) in a window of `window` seconds, unless
    /// the terminal refuses PINs or is gone: the write itself holds that, so a guess sent after
    /// the lock is refused whatever an instance last read. Atomic, so concurrent guesses are
    /// each counted.
    pub async fn pin_failed(
        &self,
        tenant_id: &str,
        terminal_id: &str,
        now: i64,
        window: i64,
    ) -> Result<PinCount, StoreError> {
        const OPEN: &str = "attribute_exists(pk) AND \
             (attribute_not_exists(pin_locked_until) OR pin_locked_until <= :now)";
        let (pk, sk) = TerminalRecord::key(tenant_id, terminal_id);
        let counted = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(pk.clone(), sk.clone())))
            .update_expression("ADD pin_failures :one")
            .condition_expression(format!("{OPEN} AND pin_window_start > :cutoff"))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":cutoff", n(now - window))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match counted {
            Ok(output) => return Ok(PinCount::Counted(failures(output.attributes()))),
            Err(error) => {
                if let Some(refused) = refused_pin(error, now)? {
                    return Ok(refused);
                }
                // Open to PINs: the window is over (or never began), and this failure starts a
                // new one.
            }
        }
        let restarted = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .update_expression("SET pin_failures = :one, pin_window_start = :now")
            .condition_expression(OPEN)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match restarted {
            Ok(output) => Ok(PinCount::Counted(failures(output.attributes()))),
            // Its condition fails only for a gone or locked terminal.
            Err(error) => Ok(refused_pin(error, now)?.unwrap_or(PinCount::Gone)),
        }
    }

    /// Takes a nonce for this terminal until `expires_at` (unix seconds), in one write with the
    /// check that the terminal is still paired at `paired_at`: what a refusal from a terminal as
    /// an instance kept it rests on, so that a revoked terminal learns nothing of PINs or badges.
    pub async fn take_nonce_while_paired(
        &self,
        (tenant_id, terminal_id): (&str, &str),
        nonce: &str,
        expires_at: i64,
        paired_at: &str,
    ) -> Result<NonceTaken, StoreError> {
        let preconditions = [
            Precondition::NonceUnused {
                tenant_id: tenant_id.to_owned(),
                terminal_id: terminal_id.to_owned(),
                nonce: nonce.to_owned(),
                expires_at,
            },
            Precondition::TerminalPaired {
                tenant_id: tenant_id.to_owned(),
                terminal_id: terminal_id.to_owned(),
                paired_at: paired_at.to_owned(),
                pins_open_at: None,
            },
        ];
        let items = preconditions
            .iter()
            .map(|p| p.item(self.table.name()))
            .collect::<Result<Vec<_>, _>>()?;
        match self.table.transact(items).await {
            Ok(_) => Ok(NonceTaken::Taken),
            Err(error) => match failed_condition(&error) {
                Some(0) => Ok(NonceTaken::Replay),
                Some(_) => Ok(NonceTaken::Unpaired),
                None => Err(StoreError::from_sdk(error)),
            },
        }
    }

    /// Refuses PINs at this terminal until `until` (unix seconds).
    pub async fn lock_pins(
        &self,
        tenant_id: &str,
        terminal_id: &str,
        until: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = TerminalRecord::key(tenant_id, terminal_id);
        let locked = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .update_expression("SET pin_locked_until = :until")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":until", n(until))
            .send()
            .await;
        match locked {
            Ok(_) => Ok(()),
            Err(error) if crate::error::is_condition_failure(&error) => Ok(()),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// The offline items of `item_ids` this terminal already uploaded, with their outcomes.
    pub async fn applied(
        &self,
        tenant_id: &str,
        terminal_id: &str,
        item_ids: &[&str],
    ) -> Result<Vec<AppliedItem>, StoreError> {
        let keys = item_ids
            .iter()
            .map(|id| AppliedItem::key(tenant_id, terminal_id, id));
        self.table
            .get_many(keys, &format!("an offline item of {tenant_id}"))
            .await
    }

    /// Remembers an applied item's outcome (a second record of one id keeps the first).
    pub async fn record_applied(&self, item: &AppliedItem) -> Result<(), StoreError> {
        let item_value: crate::attributes::Item =
            serde_dynamo::to_item(item).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let written = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item_value))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(error) if crate::error::is_condition_failure(&error) => Ok(()),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Registers (or moves to another member) a badge, with its audit entry.
    pub async fn put_badge(
        &self,
        record: &BadgeRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        self.table
            .transact(vec![put(record, table, None)?, put(audit, table, None)?])
            .await
            .map_err(StoreError::from_sdk)
    }

    pub async fn badge(
        &self,
        tenant_id: &str,
        badge_id: &str,
    ) -> Result<Option<BadgeRecord>, StoreError> {
        let (pk, sk) = BadgeRecord::key(tenant_id, badge_id);
        self.table.get(pk, sk, true).await
    }

    /// The tenant's badges (at most `cap`).
    pub async fn badges(
        &self,
        tenant_id: &str,
        cap: usize,
    ) -> Result<Vec<BadgeRecord>, StoreError> {
        let pk = tenant_pk(tenant_id);
        Ok(self
            .table
            .query_up_to(Query::partition(&pk).with_prefix("BADGE#"), cap)
            .await?
            .0)
    }

    /// Removes a badge: `false` when there was none.
    pub async fn remove_badge(
        &self,
        tenant_id: &str,
        badge_id: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let (pk, sk) = BadgeRecord::key(tenant_id, badge_id);
        match self
            .table
            .transact(vec![
                delete(table, pk, sk, Some("attribute_exists(pk)"))?,
                put(audit, table, None)?,
            ])
            .await
        {
            Ok(()) => Ok(true),
            Err(error) if failed_condition(&error) == Some(0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }
}
