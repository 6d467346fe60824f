//! An account's second factor (TOTP), and the tickets a sign-in leaves when it must still ask
//! which organisation.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | the factor, and one being set up | the account item (`ACCOUNT#<account>`), `totp`, `totp_pending` | |
//! | a sign-in waiting for its organisation (TTL `expires_at`) | `SIGNIN#<ticket>` | `SIGNIN` |
//!
//! Every use of the factor is a conditional update of the account item: a code's time step
//! must be later than the last one used (RFC 6238 §5.2: a code works once), and a recovery
//! code is removed on use, conditioned on still being in its place.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::accounts::AccountRecord;
use crate::attributes::{n, s};
use crate::audit::AuditEntry;
use crate::identity::IdentityStore;
use crate::write::{cancelled_by_condition, key, put, update};
use crate::{StoreError, Table};

/// A confirmed second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpFactor {
    /// The secret, sealed (`steward_domain::identity::second_factor::TotpSecret::seal`).
    pub sealed_secret: String,
    pub enabled_at: String,
    /// The time step of the last code accepted: only later ones work.
    pub last_step: u64,
    /// SHA-256 of each unused recovery code.
    pub recovery_hashes: Vec<String>,
}

/// A second factor set up but not yet confirmed with a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTotp {
    pub sealed_secret: String,
    pub created_at: String,
    /// Unix seconds: confirming after this is refused (start again).
    pub expires_at: i64,
}

/// A sign-in that proved the account (and its second factor, if any) and waits for the
/// person to choose an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInTicket {
    pub pk: String,
    pub sk: String,
    pub ticket_id: String,
    pub account_id: String,
    /// SHA-256 of the whole ticket.
    pub token_hash: String,
    /// Whether the sign-in proved a second factor.
    pub second_factor: bool,
    /// The sign-in throttle's account-and-source counter, forgotten when the session opens.
    pub throttle_pair: String,
    pub throttle_window_start: i64,
    pub throttle_known_until: i64,
    /// When the account's password was set as the sign-in proved it: a ticket outlives no
    /// change of password.
    pub password_changed_at: String,
    /// Unix seconds: when the ticket stops working, and the item's TTL.
    pub expires_at: i64,
    /// For a sign-in through a tenant's identity provider: that tenant, the only one the
    /// ticket opens (the provider vouches for no other), with no password proven and no
    /// throttle counter to forget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_tenant: Option<String>,
}

impl SignInTicket {
    pub fn key(ticket_id: &str) -> (String, String) {
        (format!("SIGNIN#{ticket_id}"), "SIGNIN".into())
    }
}

/// Why a second factor was not changed.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    /// The account has a confirmed factor already (turn it off first).
    #[error("a second factor is set up already")]
    AlreadyOn,
    /// The factor is not there any more, or not the one read.
    #[error("the second factor changed meanwhile")]
    Moved,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct SecondFactorStore {
    table: Table,
}

impl SecondFactorStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    fn account_key(account_id: &str) -> crate::attributes::Item {
        let (pk, sk) = AccountRecord::key(account_id);
        key(pk, sk)
    }

    /// Keeps `pending` as the account's factor being set up (replacing an earlier one), with
    /// `audits`, unless a factor is on already.
    pub async fn start(
        &self,
        account_id: &str,
        pending: &PendingTotp,
        audits: &[AuditEntry],
    ) -> Result<(), FactorError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(Self::account_key(account_id)))
            .update_expression("SET totp_pending = :pending")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(totp)")
            .expression_attribute_values(":pending", attribute(pending)?);
        match self.with_audits(update(change.build())?, audits).await {
            Err(FactorError::Moved) => Err(FactorError::AlreadyOn),
            other => other,
        }
    }

    /// Turns the factor on: `factor` replaces the pending one whose secret was `sealed`, with
    /// `audits`.
    pub async fn enable(
        &self,
        account_id: &str,
        sealed: &str,
        factor: &TotpFactor,
        audits: &[AuditEntry],
    ) -> Result<(), FactorError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(Self::account_key(account_id)))
            .update_expression("SET totp = :factor REMOVE totp_pending")
            .condition_expression(
                "attribute_not_exists(totp) AND totp_pending.sealed_secret = :sealed",
            )
            .expression_attribute_values(":factor", attribute(factor)?)
            .expression_attribute_values(":sealed", s(sealed));
        self.with_audits(update(change.build())?, audits).await
    }

    /// Turns the factor off (its recovery codes with it), with `audits`, if it is still the
    /// one whose secret was `sealed`.
    pub async fn disable(
        &self,
        account_id: &str,
        sealed: &str,
        audits: &[AuditEntry],
    ) -> Result<(), FactorError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(Self::account_key(account_id)))
            .update_expression("REMOVE totp, totp_pending")
            .condition_expression("totp.sealed_secret = :sealed")
            .expression_attribute_values(":sealed", s(sealed));
        self.with_audits(update(change.build())?, audits).await
    }

    async fn with_audits(
        &self,
        change: TransactWriteItem,
        audits: &[AuditEntry],
    ) -> Result<(), FactorError> {
        let mut items = vec![change];
        for audit in audits {
            items.push(put(audit, self.table.name(), None)?);
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if cancelled_by_condition(&error, 0) => Err(FactorError::Moved),
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    /// Records `step` as used, if it is later than the last one: `false` for a code used
    /// already (or an earlier one).
    pub async fn use_step(&self, account_id: &str, step: u64) -> Result<bool, StoreError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(Self::account_key(account_id)))
            .update_expression("SET totp.last_step = :step")
            .condition_expression("totp.last_step < :step")
            .expression_attribute_values(":step", n(step));
        self.conditional(update(change.build())?).await
    }

    /// Spends the recovery code at `index` whose hash is `hash`: `false` when it is not there
    /// any more (spent meanwhile).
    pub async fn use_recovery_code(
        &self,
        account_id: &str,
        index: usize,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(Self::account_key(account_id)))
            .update_expression(format!("REMOVE totp.recovery_hashes[{index}]"))
            .condition_expression(format!("totp.recovery_hashes[{index}] = :hash"))
            .expression_attribute_values(":hash", s(hash));
        self.conditional(update(change.build())?).await
    }

    async fn conditional(&self, item: TransactWriteItem) -> Result<bool, StoreError> {
        match self.table.transact(vec![item]).await {
            Ok(()) => Ok(true),
            Err(error) if cancelled_by_condition(&error, 0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    pub async fn put_ticket(&self, ticket: &SignInTicket) -> Result<(), StoreError> {
        self.table.put(ticket).await
    }

    pub async fn ticket(&self, ticket_id: &str) -> Result<Option<SignInTicket>, StoreError> {
        let (pk, sk) = SignInTicket::key(ticket_id);
        self.table.get(pk, sk, true).await
    }

    /// Spends a ticket, once, if its hash is `token_hash` and it is alive at `now`.
    pub async fn spend_ticket(
        &self,
        ticket_id: &str,
        token_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = SignInTicket::key(ticket_id);
        let spend = Delete::builder()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .condition_expression("token_hash = :hash AND expires_at > :now")
            .expression_attribute_values(":hash", s(token_hash))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        self.conditional(TransactWriteItem::builder().delete(spend).build())
            .await
    }
}

fn attribute<T: Serialize>(
    value: &T,
) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Failed(Box::new(e)))
}

impl IdentityStore {
    /// The second factor's store over the same table.
    pub fn second_factor(&self) -> SecondFactorStore {
        SecondFactorStore::new(self.table().clone())
    }
}
