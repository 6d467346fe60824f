//! Changing an account's email: the new address confirmed before it takes effect.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | a pending change (TTL `expires_at`) | `EMAILCHANGE#<change>` | `EMAILCHANGE` |
//!
//! Following the link moves the account in one transaction: the pending item deleted (if its
//! hash matches), the old email item deleted (if it still names the account), the new one put
//! (if nobody has it), the account's `email` set (if it is still the old one and its
//! memberships are the ones read), each membership's copy of it set, and the audit entries.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::accounts::{AccountRecord, MembershipRecord};
use crate::attributes::{n, s};
use crate::audit::AuditEntry;
use crate::identity::{EmailRecord, UserRecord, email_key};
use crate::write::{cancelled_by_condition, key, put, update};
use crate::{StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEmailChange {
    pub pk: String,
    pub sk: String,
    pub change_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub old_email: String,
    pub new_email: String,
    /// SHA-256 of the whole confirmation token.
    pub token_hash: String,
    pub created_at: String,
    /// Unix seconds: when the link stops working, and the item's TTL.
    pub expires_at: i64,
}

impl PendingEmailChange {
    pub fn key(change_id: &str) -> (String, String) {
        (format!("EMAILCHANGE#{change_id}"), "EMAILCHANGE".into())
    }
}

/// Why an email change did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    /// The link was used already, or the account's email changed since it was sent.
    #[error("the change was made already, or the account moved on")]
    Spent,
    #[error("the new address has an account")]
    Taken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct EmailChangeStore {
    table: Table,
}

impl EmailChangeStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Keeps a pending change, with the audit entry of its asking.
    pub async fn ask(
        &self,
        pending: &PendingEmailChange,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        self.table
            .transact(vec![
                put(pending, table, Some("attribute_not_exists(pk)"))?,
                put(audit, table, None)?,
            ])
            .await
            .map_err(StoreError::from_sdk)
    }

    pub async fn pending(&self, change_id: &str) -> Result<Option<PendingEmailChange>, StoreError> {
        let (pk, sk) = PendingEmailChange::key(change_id);
        self.table.get(pk, sk, true).await
    }

    /// Moves `account` (with its `memberships`) to its new address, once (see the module's
    /// notes).
    pub async fn confirm(
        &self,
        change: &PendingEmailChange,
        token_hash: &str,
        account: &AccountRecord,
        memberships: &[MembershipRecord],
        audits: &[AuditEntry],
    ) -> Result<(), EmailChangeError> {
        let table = self.table.name();
        let build = |e| StoreError::Failed(Box::new(e));
        let (pk, sk) = PendingEmailChange::key(&change.change_id);
        let spend = Delete::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("token_hash = :hash")
            .expression_attribute_values(":hash", s(token_hash))
            .build()
            .map_err(build)?;
        let (old_pk, old_sk) = email_key(&change.old_email);
        let release = Delete::builder()
            .table_name(table)
            .set_key(Some(key(old_pk, old_sk)))
            .condition_expression("account_id = :account")
            .expression_attribute_values(":account", s(&account.account_id))
            .build()
            .map_err(build)?;
        let claim = EmailRecord::of(&change.new_email, &account.account_id);
        let (account_pk, account_sk) = AccountRecord::key(&account.account_id);
        let rename = Update::builder()
            .table_name(table)
            .set_key(Some(key(account_pk, account_sk)))
            .update_expression("SET email = :new")
            .condition_expression("email = :old AND memberships = :count")
            .expression_attribute_values(":new", s(&change.new_email))
            .expression_attribute_values(":old", s(&change.old_email))
            .expression_attribute_values(":count", n(memberships.len()))
            .build();
        const CLAIM: usize = 2;
        let mut items = vec![
            TransactWriteItem::builder().delete(spend).build(),
            TransactWriteItem::builder().delete(release).build(),
            put(&claim, table, Some("attribute_not_exists(pk)"))?,
            update(rename)?,
        ];
        for membership in memberships {
            let (pk, sk) = UserRecord::key(&membership.tenant_id, &membership.user_id);
            items.push(update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .update_expression("SET email = :new")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":new", s(&change.new_email))
                    .build(),
            )?);
        }
        for audit in audits {
            items.push(put(audit, table, None)?);
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if cancelled_by_condition(&error, CLAIM) => Err(EmailChangeError::Taken),
            Err(error)
                if (0..items_before_audits(memberships))
                    .any(|i| i != CLAIM && cancelled_by_condition(&error, i)) =>
            {
                Err(EmailChangeError::Spent)
            }
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }
}

/// The items of a confirmation before its audit entries: a condition failing in one of them
/// but the claim means the account moved on.
fn items_before_audits(memberships: &[MembershipRecord]) -> usize {
    4 + memberships.len()
}
