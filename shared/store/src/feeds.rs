//! Calendar feeds (SPEC §C): a member's read-only iCalendar subscription to their own bookings
//! or to a room's, opened by a secret token and closed by revoking it.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | feed (read by its token's id) | `T#<tenant>` | `FEED#<id>` |
//! | the member's listing of it | `T#<tenant>` | `MEMBER_FEED#<member>#<id>` |
//!
//! Both are written and deleted in one transaction with the audit entry; the token itself is
//! never stored, only its SHA-256.

use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::write::{delete, put, tenant_pk};
use crate::{Query, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRecord {
    pub pk: String,
    pub sk: String,
    pub feed_id: String,
    pub tenant_id: String,
    /// The member the feed acts for: its bookings, or what it may see of a room.
    pub owner: String,
    /// The room whose bookings the feed shows; `None`: the owner's own bookings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// SHA-256 of the whole token, lowercase hex.
    pub token_hash: String,
    pub created_at: String,
}

impl FeedRecord {
    pub fn key(tenant_id: &str, feed_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("FEED#{feed_id}"))
    }

    fn listing_sk(owner: &str, feed_id: &str) -> String {
        format!("MEMBER_FEED#{owner}#{feed_id}")
    }
}

pub struct FeedStore {
    table: Table,
}

impl FeedStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Writes the feed, its listing entry and the audit entry, all or none.
    pub async fn create(&self, record: &FeedRecord, audit: &AuditEntry) -> Result<(), StoreError> {
        let table = self.table.name();
        let listing = FeedRecord {
            sk: FeedRecord::listing_sk(&record.owner, &record.feed_id),
            ..record.clone()
        };
        let new = Some("attribute_not_exists(pk)");
        let items = vec![
            put(record, table, new)?,
            put(&listing, table, new)?,
            put(audit, table, None)?,
        ];
        self.table
            .transact(items)
            .await
            .map_err(StoreError::from_sdk)
    }

    /// The feed, consistently read: a revoked one is gone at once.
    pub async fn get(
        &self,
        tenant_id: &str,
        feed_id: &str,
    ) -> Result<Option<FeedRecord>, StoreError> {
        let (pk, sk) = FeedRecord::key(tenant_id, feed_id);
        self.table.get(pk, sk, true).await
    }

    /// The owner's feeds, oldest first (a member holds at most `cap`).
    pub async fn owned_by(
        &self,
        tenant_id: &str,
        owner: &str,
        cap: usize,
    ) -> Result<Vec<FeedRecord>, StoreError> {
        let pk = tenant_pk(tenant_id);
        let prefix = format!("MEMBER_FEED#{owner}#");
        let query = Query::partition(&pk).with_prefix(&prefix);
        Ok(self.table.query_up_to(query, cap).await?.0)
    }

    /// Deletes the feed and its listing entry with the audit entry; `false` when it was
    /// already gone (a retried or concurrent revocation).
    pub async fn revoke(
        &self,
        record: &FeedRecord,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let exists = Some("attribute_exists(pk)");
        let items = vec![
            delete(table, record.pk.clone(), record.sk.clone(), exists)?,
            delete(
                table,
                record.pk.clone(),
                FeedRecord::listing_sk(&record.owner, &record.feed_id),
                None,
            )?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if crate::write::failed_condition(&error) == Some(0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }
}
