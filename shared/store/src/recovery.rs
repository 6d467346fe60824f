//! Password resets: a single-use token per request, stored as its hash, only the latest one of
//! an account usable.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | a reset asked for (TTL `expires_at`) | `RESET#<reset>` | `RESET` |
//! | the account's latest reset | the email item (`EMAIL#<email>`), attribute `reset_id` | |
//!
//! A reset is found by its token's id (the person has no tenant yet), and is usable while its
//! item is there, its hash matches, it has not expired and the email item still names it: a
//! newer reset moves the email item on, and using one deletes it, in the password's own
//! transaction.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::accounts::{AccountRecord, OpenSessions};
use crate::attributes::{n, s};
use crate::audit::AuditEntry;
use crate::identity::{IdentityStore, email_key};
use crate::write::{cancelled_by_condition, key, put, update};
use crate::{StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRecord {
    pub pk: String,
    pub sk: String,
    pub reset_id: String,
    pub email: String,
    /// Resets made before accounts existed named the user, whose id its account took.
    #[serde(alias = "user_id")]
    pub account_id: String,
    /// SHA-256 of the whole token.
    pub token_hash: String,
    pub created_at: String,
    /// Unix seconds: when the token stops working, and the item's TTL.
    pub expires_at: i64,
}

impl ResetRecord {
    pub fn key(reset_id: &str) -> (String, String) {
        (format!("RESET#{reset_id}"), "RESET".into())
    }
}

/// What the email item says of an account's resets.
#[derive(Debug, Deserialize)]
struct Latest {
    account_id: Option<String>,
    reset_id: Option<String>,
}

/// Why a password was not set with a reset.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// Used, expired, replaced by a newer one, or its account changed since.
    #[error("the reset is no longer usable")]
    Spent,
    /// A session was opened since the account's sessions were read: read them again.
    #[error("a session was opened meanwhile")]
    Moved,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct RecoveryStore {
    table: Table,
    identity: IdentityStore,
}

impl RecoveryStore {
    pub fn new(table: Table) -> Self {
        Self {
            identity: IdentityStore::new(table.clone()),
            table,
        }
    }

    /// Stores `reset` and makes it its account's latest, unless the email no longer names
    /// that account (answered `false`: nothing is written).
    pub async fn start(&self, reset: &ResetRecord) -> Result<bool, StoreError> {
        let table = self.table.name();
        let (pk, sk) = email_key(&reset.email);
        let latest = Update::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET reset_id = :reset")
            .condition_expression("account_id = :account")
            .expression_attribute_values(":reset", s(&reset.reset_id))
            .expression_attribute_values(":account", s(&reset.account_id))
            .build();
        let items = vec![
            put(reset, table, Some("attribute_not_exists(pk)"))?,
            update(latest)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if cancelled_by_condition(&error, 1) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    pub async fn reset(&self, reset_id: &str) -> Result<Option<ResetRecord>, StoreError> {
        let (pk, sk) = ResetRecord::key(reset_id);
        self.table.get(pk, sk, true).await
    }

    /// Whether `reset` is still its account's latest: the email item names it, and the
    /// account it was made for.
    pub async fn is_latest(&self, reset: &ResetRecord) -> Result<bool, StoreError> {
        let (pk, sk) = email_key(&reset.email);
        let latest: Option<Latest> = self.table.get(pk, sk, true).await?;
        Ok(latest.is_some_and(|latest| {
            latest.reset_id.as_deref() == Some(reset.reset_id.as_str())
                && latest.account_id.as_deref() == Some(reset.account_id.as_str())
        }))
    }

    /// Sets the account's password with `reset`, once: the reset deleted (if its hash is
    /// still `token_hash` and it has not expired at `now`), the email item's latest cleared
    /// (if it is still this one), the password and its time set, the account's sessions
    /// `revoke` (by membership) ended and `audits` written, all or nothing; sessions past
    /// what one transaction holds are ended right after.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        &self,
        reset: &ResetRecord,
        token_hash: &str,
        now: i64,
        password_hash: &str,
        changed_at: &str,
        revoke: &OpenSessions,
        audits: &[AuditEntry],
    ) -> Result<(), ResetError> {
        let table = self.table.name();
        let (reset_pk, reset_sk) = ResetRecord::key(&reset.reset_id);
        let spend = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(table)
            .set_key(Some(key(reset_pk, reset_sk)))
            .condition_expression("token_hash = :hash AND expires_at > :now")
            .expression_attribute_values(":hash", s(token_hash))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        let (email_pk, email_sk) = email_key(&reset.email);
        let latest = Update::builder()
            .table_name(table)
            .set_key(Some(key(email_pk, email_sk)))
            .update_expression("REMOVE reset_id")
            .condition_expression("reset_id = :reset AND account_id = :account")
            .expression_attribute_values(":reset", s(&reset.reset_id))
            .expression_attribute_values(":account", s(&reset.account_id))
            .build();
        let (account_pk, account_sk) = AccountRecord::key(&reset.account_id);
        let password = Update::builder()
            .table_name(table)
            .set_key(Some(key(account_pk, account_sk)))
            .update_expression("SET password_hash = :hash, password_changed_at = :at")
            .condition_expression("sessions_opened = :seen")
            .expression_attribute_values(":hash", s(password_hash))
            .expression_attribute_values(":at", s(changed_at))
            .expression_attribute_values(":seen", n(revoke.seen))
            .build();
        let mut items: Vec<TransactWriteItem> = vec![
            TransactWriteItem::builder().delete(spend).build(),
            update(latest)?,
            update(password)?,
        ];
        for audit in audits {
            items.push(put(audit, table, None)?);
        }
        let later = self
            .identity
            .fill_with_revocations(&mut items, &revoke.by_membership, 100)?;
        match self.table.transact(items).await {
            Ok(()) => {}
            Err(error) if (0..2).any(|index| cancelled_by_condition(&error, index)) => {
                return Err(ResetError::Spent);
            }
            Err(error) if cancelled_by_condition(&error, 2) => return Err(ResetError::Moved),
            Err(error) => return Err(StoreError::from_sdk(error).into()),
        }
        self.identity.revoke_later(later).await?;
        Ok(())
    }
}
