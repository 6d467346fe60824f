//! What a member holds, for the tenant's per-member quota (SPEC §C): every booking of theirs that
//! holds a room and has not ended, kept on one item that each change of one of those bookings
//! rewrites over its version, in the change's own transaction. Two concurrent bookings of one
//! member in different rooms meet on it, so the quota holds under concurrency as the calendar
//! does.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | ledger | `T#<tenant>#USER#<member>` | `LEDGER` |
//!
//! Kept only while the tenant has a quota: `quota_set_at` says under which setting it was
//! built, and a ledger from before the current setting (or none) is built again from the
//! member's bookings (`gsi2`).

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use steward_domain::booking::quota::Held;

use crate::StoreError;
use crate::attributes::Item;
use crate::write::{key, versioned_put};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LedgerRecord {
    pk: String,
    sk: String,
    version: u64,
    quota_set_at: String,
    held: Vec<Held>,
}

pub(crate) fn ledger_key(tenant_id: &str, member: &str) -> Item {
    let (pk, sk) = ledger_pk_sk(tenant_id, member);
    key(pk, sk)
}

fn ledger_pk_sk(tenant_id: &str, member: &str) -> (String, String) {
    (format!("T#{tenant_id}#USER#{member}"), "LEDGER".into())
}

pub(crate) fn is_ledger(item: &Item) -> bool {
    item.get("sk")
        .and_then(|sk| sk.as_s().ok())
        .is_some_and(|sk| sk == "LEDGER")
}

/// A member's ledger as read: `version` 0 when there is none yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ledger {
    pub version: u64,
    /// The quota setting it was built under (empty: none).
    pub quota_set_at: String,
    pub held: Vec<Held>,
}

impl Ledger {
    pub(crate) fn from_item(item: Item) -> Result<Self, StoreError> {
        let record: LedgerRecord =
            serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt {
                key: "a ledger".into(),
                problem: e.to_string(),
            })?;
        Ok(Self {
            version: record.version,
            quota_set_at: record.quota_set_at,
            held: record.held,
        })
    }
}

/// A ledger's new state, written over the version it was read at.
#[derive(Debug, Clone, Copy)]
pub struct LedgerPut<'a> {
    pub member: &'a str,
    /// The version read (0: none, or one from before the current setting being replaced).
    pub read: u64,
    pub quota_set_at: &'a str,
    pub held: &'a [Held],
}

impl LedgerPut<'_> {
    pub(crate) fn item(
        &self,
        tenant_id: &str,
        table: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = ledger_pk_sk(tenant_id, self.member);
        let record = LedgerRecord {
            pk,
            sk,
            version: self.read + 1,
            quota_set_at: self.quota_set_at.to_owned(),
            held: self.held.to_vec(),
        };
        versioned_put(&record, table, (self.read > 0).then_some(self.read))
    }
}
