//! Tenants, users, sessions and sign-in throttling.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | tenant | `T#<tenant>` | `TENANT` |
//! | user: one membership of an account (profile, roles, status) | `T#<tenant>` | `USER#<user>` |
//! | email → account (sign-in has no tenant yet) | `EMAIL#<email>` | `EMAIL` |
//! | session (refresh-token family) | `T#<tenant>#USER#<user>` | `SESSION#<session>` |
//! | sign-in failures in a window | `THROTTLE#<kind>#<keyed hash>` | `WINDOW#<start>` |
//!
//! Accounts (the password) and the index of their memberships are `crate::accounts`'. The
//! email, account and throttle items are the only ones not led by a tenant: sign-in and
//! sign-up happen before there is one. Their keys hold no personal data in clear (emails are
//! hashed with a key in throttle items).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use steward_authz::{Feature, LicenceStatus, RoleName};
use steward_domain::access::CustomRole;
use steward_domain::licensing::sweep::shard_of;
use steward_domain::licensing::{Cohort, Limits, Offering};

use crate::attributes::{Item, n, s};
use crate::audit::AuditEntry;
use crate::write::{cancelled_by_condition, delete, key, put, tenant_pk, update};
use crate::{Query, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub pk: String,
    pub sk: String,
    pub tenant_id: String,
    pub name: String,
    pub created_at: String,
    /// Role changes need a second admin's approval (SPEC §B; on by default).
    pub dual_approval: bool,
    /// The version of the tenant's access policy: bumped by every change to roles or members,
    /// each version's snapshot stored beside it (`crate::access`).
    #[serde(default)]
    pub policy_version: u64,
    #[serde(default)]
    pub custom_roles: BTreeMap<RoleName, CustomRole>,
    #[serde(default)]
    pub licence: LicenceRecord,
    /// The tenant's place in the licensing rollout (internal, pilot), set by operators.
    #[serde(default)]
    pub cohort: Option<Cohort>,
    /// The tenant index the licence sweep pages: `TENANTS#<shard>` / tenant id on `gsi1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    /// The tenant index by name operators search (`gsi2`): `TENANTNAMES` / the name in lower
    /// case, `#`, the tenant id. Absent for reserved tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    /// Owners and admins must sign in with a second factor to do more than manage their own
    /// account (SPEC §B; off by default).
    #[serde(default)]
    pub mfa_required: bool,
    /// What one member may hold (SPEC §C); `None`: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_quota: Option<QuotaSetting>,
    /// How check-in and release work (SPEC §D); `None`: the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in: Option<steward_domain::terminal::check_in::CheckInPolicy>,
    /// The onboarding checklist as last computed for the operators' views; `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding_progress: Option<crate::onboarding::OnboardingProgress>,
}

/// A tenant's per-member quota, and when it was set: members' ledgers built under an earlier
/// setting are built again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaSetting {
    pub quota: steward_domain::booking::quota::Quota,
    pub set_at: String,
}

/// The tenant's licence: what the authorizer reads, and the seats counted against its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceRecord {
    pub status: LicenceStatus,
    /// `None` until a licence is assigned.
    #[serde(default)]
    pub offering: Option<Offering>,
    pub features: BTreeSet<Feature>,
    #[serde(default = "no_limits")]
    pub limits: Limits,
    /// Members plus pending invitations, kept by conditional updates (never counted by a read).
    #[serde(default)]
    pub seats_used: u32,
    /// Active rooms, kept by conditional updates like the seats.
    #[serde(default)]
    pub rooms_used: u32,
    /// Paired terminals, kept by conditional updates like the seats.
    #[serde(default)]
    pub terminals_used: u32,
    /// Unix seconds; `None` for a licence without an end.
    pub expires_at: Option<i64>,
}

fn no_limits() -> Limits {
    Limits {
        seats: 0,
        rooms: 0,
        terminals: 0,
    }
}

impl Default for LicenceRecord {
    fn default() -> Self {
        Self {
            status: LicenceStatus::None,
            offering: None,
            features: BTreeSet::new(),
            limits: no_limits(),
            seats_used: 0,
            rooms_used: 0,
            terminals_used: 0,
            expires_at: None,
        }
    }
}

impl LicenceRecord {
    /// The trial a self-service sign-up gets with AUTO_PROVISION_ENABLED.
    pub fn trial(now: i64) -> Self {
        let terms = Offering::Trial.terms();
        Self {
            status: LicenceStatus::Trial,
            offering: Some(Offering::Trial),
            features: terms.features,
            limits: terms.limits,
            seats_used: 0,
            rooms_used: 0,
            terminals_used: 0,
            expires_at: Some(now + Offering::TRIAL_DAYS * 86_400),
        }
    }
}

impl TenantRecord {
    /// A new tenant: its owner holds the first seat, and its policy starts at version 1.
    pub fn new(tenant_id: &str, name: &str, created_at: &str) -> Self {
        Self {
            pk: format!("T#{tenant_id}"),
            sk: "TENANT".into(),
            tenant_id: tenant_id.into(),
            name: name.into(),
            created_at: created_at.into(),
            dual_approval: true,
            policy_version: 1,
            custom_roles: BTreeMap::new(),
            licence: LicenceRecord {
                seats_used: 1,
                ..LicenceRecord::default()
            },
            cohort: None,
            gsi1pk: Some(tenant_index_partition(shard_of(tenant_id))),
            gsi1sk: Some(tenant_id.into()),
            gsi2pk: Some(TENANT_NAMES.into()),
            gsi2sk: Some(tenant_name_key(name, tenant_id)),
            mfa_required: false,
            booking_quota: None,
            check_in: None,
            onboarding_progress: None,
        }
    }
}

/// The partition of the tenant index by name (`gsi2`).
pub const TENANT_NAMES: &str = "TENANTNAMES";

/// A name as the tenant index by name sorts and searches it: lower case.
pub fn name_search_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A tenant's sort key in the index by name: its name as searched, then its id (names repeat).
pub fn tenant_name_key(name: &str, tenant_id: &str) -> String {
    format!("{}#{tenant_id}", name_search_key(name))
}

/// The tenant index's partition for one shard (`gsi1`).
pub fn tenant_index_partition(shard: u8) -> String {
    format!("TENANTS#{shard:02}")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    /// The account this user is a membership of; empty for a reserved principal, which
    /// nobody signs in as.
    #[serde(default)]
    pub account_id: String,
    /// `active` or `suspended`.
    pub status: String,
    pub roles: Vec<String>,
    pub created_at: String,
}

impl UserRecord {
    pub fn key(tenant_id: &str, user_id: &str) -> (String, String) {
        (format!("T#{tenant_id}"), format!("USER#{user_id}"))
    }
}

/// What a sign-in reads before it verifies a password ([`IdentityStore::sign_in_reads`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInReads<const N: usize> {
    /// The failures counted against each throttle key asked for, in their order.
    pub failures: [u32; N],
    /// Whether the source signed in to the account before (its mark is there).
    pub known_source: bool,
    /// The account the email names.
    pub account_id: Option<String>,
    /// Whether the email's domain is an organisation's that signs in through its identity
    /// provider only: no password signs it in.
    pub provider_only: bool,
}

/// The account a session is opened for, and the password as its sign-in proved it (when it
/// was set; `None` where no password was presented: a switch, a signed-in acceptance, a
/// sign-up's first session).
#[derive(Debug, Clone, Copy)]
pub struct OpenedFor<'a> {
    pub account_id: &'a str,
    pub proven: Option<&'a str>,
}

/// What a successful sign-in leaves in its session's own write: the failures its account and
/// source `pair` counted in the window starting at `window_start` forgotten, and the pair
/// marked as having signed in, until `known_until` (unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct SignedIn<'a> {
    pub pair: &'a str,
    pub window_start: i64,
    pub known_until: i64,
}

/// An address claimed by an account. Items written before accounts existed name a tenant's
/// user instead (`crate::accounts` migrates them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EmailRecord {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user_id: Option<String>,
}

impl EmailRecord {
    /// The claim of `email` by an account.
    pub(crate) fn of(email: &str, account_id: &str) -> Self {
        let (pk, sk) = email_key(email);
        Self {
            pk,
            sk,
            account_id: Some(account_id.to_owned()),
            tenant_id: None,
            user_id: None,
        }
    }
}

pub(crate) fn email_key(email: &str) -> (String, String) {
    (format!("EMAIL#{email}"), "EMAIL".into())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub pk: String,
    pub sk: String,
    pub session_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub created_at: String,
    pub refreshed_at: String,
    /// `active` or `revoked`.
    pub status: String,
    /// SHA-256 of the current refresh token.
    pub refresh_hash: String,
    /// Hashes of the refresh tokens this session has rotated away: presenting one again is reuse.
    #[serde(default)]
    pub rotated: Vec<String>,
    pub user_agent: String,
    /// Unix seconds: the refresh token's absolute end, and the item's TTL.
    pub expires_at: i64,
    /// Whether the sign-in that opened it proved a second factor.
    #[serde(default)]
    pub second_factor: bool,
}

impl SessionRecord {
    pub fn key(tenant_id: &str, user_id: &str, session_id: &str) -> (String, String) {
        (
            format!("T#{tenant_id}#USER#{user_id}"),
            format!("SESSION#{session_id}"),
        )
    }

    pub fn is_alive(&self, now: i64) -> bool {
        self.status == "active" && self.expires_at > now
    }
}

/// Why a sign-up did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error("the email is already registered")]
    EmailTaken,
    /// The confirmation link was used already.
    #[error("the sign-up was confirmed already")]
    Spent,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// The token was already rotated away: the whole session (its family) is now revoked.
    ReuseDetected,
    /// Unknown, revoked or expired.
    Refused,
}

/// Session revocations per transaction, leaving room for the password update and the audit
/// entry within DynamoDB's 100 items.
const SESSIONS_PER_TRANSACTION: usize = 98;

#[derive(Clone, Debug)]
pub struct IdentityStore {
    table: Table,
}

impl IdentityStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub(crate) fn table(&self) -> &Table {
        &self.table
    }

    /// A new tenant with its owner, the owner's account (its email claimed), the tenant's first policy
    /// snapshot and the audit entry, and the `pending` sign-up whose link confirmed the address
    /// spent (if its token's hash is still `token_hash`): all or nothing.
    pub async fn sign_up(
        &self,
        tenant: &TenantRecord,
        owner: &UserRecord,
        account: &crate::accounts::AccountRecord,
        snapshot: &crate::access::SnapshotRecord,
        audit: &AuditEntry,
        pending: Option<(&crate::signup::PendingSignUp, &str)>,
    ) -> Result<(), SignUpError> {
        let table = self.table.name();
        let mut items = crate::accounts::new_account(table, account, owner, &tenant.name)?;
        items.extend([
            put(tenant, table, Some("attribute_not_exists(pk)"))?,
            put(owner, table, Some("attribute_not_exists(pk)"))?,
            put(snapshot, table, Some("attribute_not_exists(pk)"))?,
            put(audit, table, None)?,
        ]);
        const SPENT: usize = 7;
        if let Some((pending, token_hash)) = pending {
            let (pk, sk) = crate::signup::PendingSignUp::key(&pending.signup_id);
            let spend = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .condition_expression("token_hash = :hash")
                .expression_attribute_values(":hash", crate::attributes::s(token_hash))
                .build()
                .map_err(|e| StoreError::Failed(Box::new(e)))?;
            items.push(TransactWriteItem::builder().delete(spend).build());
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if cancelled_by_condition(&error, 0) => Err(SignUpError::EmailTaken),
            Err(error) if cancelled_by_condition(&error, SPENT) => Err(SignUpError::Spent),
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    /// A reserved tenant with its one user and first policy snapshot, unless the tenant is
    /// there already. No email is claimed, so nobody signs in as this user with a password, and
    /// the tenant is in no tenant index, so sweeps and tenant lists never meet it.
    pub async fn reserve_principal(
        &self,
        tenant: &TenantRecord,
        user: &UserRecord,
        snapshot: &crate::access::SnapshotRecord,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        let items = vec![
            put(tenant, table, Some("attribute_not_exists(pk)"))?,
            put(user, table, Some("attribute_not_exists(pk)"))?,
            put(snapshot, table, Some("attribute_not_exists(pk)"))?,
        ];
        match self.table.transact(items).await {
            Err(error) if cancelled_by_condition(&error, 0) => Ok(()),
            other => other.map_err(StoreError::from_sdk),
        }
    }

    /// Whether the account an email names is a member of `tenant_id`.
    pub async fn is_member_by_email(
        &self,
        email: &str,
        tenant_id: &str,
    ) -> Result<bool, StoreError> {
        match self.account_id_of_email(email).await? {
            Some(account_id) => Ok(self.membership_of(&account_id, tenant_id).await?.is_some()),
            None => Ok(false),
        }
    }

    pub async fn user(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let (pk, sk) = UserRecord::key(tenant_id, user_id);
        self.table.get(pk, sk, true).await
    }

    /// Members of `tenant_id` by id, consistent reads in batches (ids distinct); one not there
    /// is left out.
    pub async fn users(
        &self,
        tenant_id: &str,
        user_ids: &[&str],
    ) -> Result<Vec<UserRecord>, StoreError> {
        let keys = user_ids.iter().map(|id| UserRecord::key(tenant_id, id));
        self.table
            .get_many(keys, &format!("a member of {tenant_id}"))
            .await
    }

    /// Sets (or with `None` removes) the tenant's per-member quota, with its audit entry.
    pub async fn set_booking_quota(
        &self,
        tenant_id: &str,
        setting: Option<&QuotaSetting>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_setting(tenant_id, "booking_quota", setting, audit)
            .await
    }

    /// The name a member shows in their tenant, with its audit entry: `false` when the member
    /// is not there.
    pub async fn rename_member(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = UserRecord::key(tenant_id, user_id);
        let table = self.table.name();
        let rename = crate::write::update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .update_expression("SET #name = :name")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name))
                .build(),
        )?;
        match self
            .table
            .transact(vec![rename, put(audit, table, None)?])
            .await
        {
            Ok(()) => Ok(true),
            Err(error) if cancelled_by_condition(&error, 0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Sets whether the tenant's owners and admins must use a second factor, with its audit
    /// entry.
    pub async fn set_mfa_required(
        &self,
        tenant_id: &str,
        required: bool,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_setting(tenant_id, "mfa_required", Some(&required), audit)
            .await
    }

    /// Sets the tenant's check-in policy, with its audit entry.
    pub async fn set_check_in_policy(
        &self,
        tenant_id: &str,
        policy: &steward_domain::terminal::check_in::CheckInPolicy,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_setting(tenant_id, "check_in", Some(policy), audit)
            .await
    }

    /// Sets (or with `None` removes) one setting attribute of the tenant's item.
    async fn set_setting<T: Serialize>(
        &self,
        tenant_id: &str,
        attribute: &str,
        value: Option<&T>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        let (pk, sk) = (tenant_pk(tenant_id), "TENANT".to_owned());
        let change = Update::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#setting", attribute);
        let change = match value {
            Some(value) => change
                .update_expression("SET #setting = :value")
                .expression_attribute_values(
                    ":value",
                    serde_dynamo::to_attribute_value(value)
                        .map_err(|e| StoreError::Failed(Box::new(e)))?,
                ),
            None => change.update_expression("REMOVE #setting"),
        };
        self.table
            .transact(vec![
                crate::write::update(change.build())?,
                put(audit, table, None)?,
            ])
            .await
            .map_err(StoreError::from_sdk)
    }

    /// One page of the tenants whose name begins with `prefix` (any case), by name.
    pub async fn tenants_by_name(
        &self,
        prefix: &str,
        limit: u32,
        start: Option<crate::PageKey>,
    ) -> Result<(Vec<TenantRecord>, Option<crate::PageKey>), StoreError> {
        let prefix = name_search_key(prefix);
        let query = Query::partition(TENANT_NAMES).on(crate::Index::Gsi2);
        // DynamoDB refuses begins_with on an empty string.
        let query = if prefix.is_empty() {
            query
        } else {
            query.with_prefix(&prefix)
        };
        self.table.query_page(query, limit, start).await
    }

    /// Every member of a tenant (at most `cap`).
    pub async fn members(
        &self,
        tenant_id: &str,
        cap: usize,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let partition = tenant_pk(tenant_id);
        let query = Query::partition(&partition).with_prefix("USER#");
        Ok(self.table.query_up_to(query, cap).await?.0)
    }

    pub async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        self.table
            .get(format!("T#{tenant_id}"), "TENANT".into(), true)
            .await
    }

    /// A new session with its audit entry (none when the session is part of a mutation
    /// audited already: a sign-up, an accepted invitation), what a sign-in leaves
    /// ([`SignedIn`]), and, for an account's session, the account's count of sessions opened
    /// moved on: one transaction. `false`, and nothing written, when the account is gone or
    /// its password is no longer the one the sign-in proved.
    pub async fn create_session(
        &self,
        session: &SessionRecord,
        audit: Option<&AuditEntry>,
        signed_in: Option<SignedIn<'_>>,
        account: Option<OpenedFor<'_>>,
    ) -> Result<bool, StoreError> {
        let mut items = self.session_writes(session, audit, signed_in)?;
        let counted = items.len();
        if let Some(account) = account {
            let (pk, sk) = crate::accounts::AccountRecord::key(account.account_id);
            let count = Update::builder()
                .table_name(self.table.name())
                .set_key(Some(key(pk, sk)))
                .update_expression("ADD sessions_opened :one")
                .expression_attribute_values(":one", n(1));
            let count = match account.proven {
                Some(changed_at) => count
                    .condition_expression("password_changed_at = :seen")
                    .expression_attribute_values(":seen", s(changed_at)),
                None => count.condition_expression("attribute_exists(pk)"),
            };
            items.push(update(count.build())?);
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if cancelled_by_condition(&error, counted) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    fn session_writes(
        &self,
        session: &SessionRecord,
        audit: Option<&AuditEntry>,
        signed_in: Option<SignedIn<'_>>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let table = self.table.name();
        let mut items = vec![put(session, table, Some("attribute_not_exists(pk)"))?];
        if let Some(audit) = audit {
            items.push(put(audit, table, None)?);
        }
        if let Some(signed_in) = signed_in {
            let (pk, sk) = throttle_pk_sk(signed_in.pair, signed_in.window_start);
            items.push(delete(table, pk, sk, None)?);
            let (pk, sk) = known_pk_sk(signed_in.pair);
            let mark = Update::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .update_expression("SET expires_at = :until")
                .expression_attribute_values(":until", n(signed_in.known_until));
            items.push(update(mark.build())?);
        }
        Ok(items)
    }

    /// A new password hash on the account, its sessions `revoke` ended, and `audits` (one per
    /// tenant it is a member of): one transaction while they fit in it (DynamoDB takes 100
    /// items), the rest of the sessions after. `false`, and nothing written, when a session
    /// was opened since `revoke` was read: read them again.
    pub async fn set_password(
        &self,
        account_id: &str,
        hash: &str,
        changed_at: &str,
        revoke: &crate::accounts::OpenSessions,
        audits: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let (pk, sk) = crate::accounts::AccountRecord::key(account_id);
        let update = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .update_expression("SET password_hash = :hash, password_changed_at = :at")
            .condition_expression("sessions_opened = :seen")
            .expression_attribute_values(":hash", s(hash))
            .expression_attribute_values(":at", s(changed_at))
            .expression_attribute_values(":seen", n(revoke.seen))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        for audit in audits {
            items.push(put(audit, self.table.name(), None)?);
        }
        let later = self.fill_with_revocations(&mut items, &revoke.by_membership, 100)?;
        match self.table.transact(items).await {
            Ok(()) => {}
            Err(error) if cancelled_by_condition(&error, 0) => return Ok(false),
            Err(error) => return Err(StoreError::from_sdk(error)),
        }
        self.revoke_later(later).await?;
        Ok(true)
    }

    /// Ends the sessions a change's transaction had no room for.
    pub(crate) async fn revoke_later(
        &self,
        later: Vec<(crate::accounts::MembershipRecord, Vec<String>)>,
    ) -> Result<(), StoreError> {
        for (membership, ids) in later {
            self.revoke_sessions(&membership.tenant_id, &membership.user_id, &ids, None)
                .await?;
        }
        Ok(())
    }

    /// Adds to `items` the revocations of `revoke` that fit under `most` items, and answers
    /// the ones left.
    pub(crate) fn fill_with_revocations(
        &self,
        items: &mut Vec<TransactWriteItem>,
        revoke: &[(crate::accounts::MembershipRecord, Vec<String>)],
        most: usize,
    ) -> Result<Vec<(crate::accounts::MembershipRecord, Vec<String>)>, StoreError> {
        let mut later = Vec::new();
        for (membership, ids) in revoke {
            let room = most.saturating_sub(items.len()).min(ids.len());
            let (now, rest) = ids.split_at(room);
            items.extend(self.revocations(&membership.tenant_id, &membership.user_id, now)?);
            if !rest.is_empty() {
                later.push((membership.clone(), rest.to_vec()));
            }
        }
        Ok(later)
    }

    /// Ends the user's sessions `ids`, with `audit` (written with the first of them).
    pub async fn revoke_sessions(
        &self,
        tenant_id: &str,
        user_id: &str,
        ids: &[String],
        mut audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        for chunk in ids.chunks(SESSIONS_PER_TRANSACTION) {
            let mut items = self.revocations(tenant_id, user_id, chunk)?;
            if let Some(entry) = audit.take() {
                items.push(put(entry, self.table.name(), None)?);
            }
            self.table
                .transact(items)
                .await
                .map_err(StoreError::from_sdk)?;
        }
        if let Some(entry) = audit {
            self.table.put(entry).await?;
        }
        Ok(())
    }

    pub(crate) fn revocations(
        &self,
        tenant_id: &str,
        user_id: &str,
        ids: &[String],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        ids.iter()
            .map(|id| self.revocation(tenant_id, user_id, id, false))
            .collect()
    }

    /// A transaction's update marking one session revoked; with `only_if_active`, its
    /// condition fails for a session that is not active (so nothing is audited for it).
    fn revocation(
        &self,
        tenant_id: &str,
        user_id: &str,
        session_id: &str,
        only_if_active: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = SessionRecord::key(tenant_id, user_id, session_id);
        let builder = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .update_expression("SET #status = :revoked")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":revoked", s("revoked"));
        let builder = if only_if_active {
            builder
                .condition_expression("attribute_exists(pk) AND #status = :active")
                .expression_attribute_values(":active", s("active"))
        } else {
            builder.condition_expression("attribute_exists(pk)")
        };
        crate::write::update(builder.build())
    }

    pub async fn session(
        &self,
        tenant_id: &str,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let (pk, sk) = SessionRecord::key(tenant_id, user_id, session_id);
        self.table.get(pk, sk, true).await
    }

    /// Every session of a user, newest first is the caller's concern.
    pub async fn sessions(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let partition = SessionRecord::key(tenant_id, user_id, "").0;
        let mut sessions = Vec::new();
        let mut start = None;
        loop {
            let query = crate::Query::partition(&partition).with_prefix("SESSION#");
            let (page, next) = self
                .table
                .query_page::<SessionRecord>(query, 200, start)
                .await?;
            sessions.extend(page);
            match next {
                Some(next) => start = Some(next),
                None => return Ok(sessions),
            }
        }
    }

    /// Swaps the session's refresh hash from `presented` to `next`, if `presented` is current,
    /// writing `audit` with it. A `presented` hash the session already rotated away revokes
    /// the session: that token was stolen or replayed, and from now on no token of its family
    /// works. `reuse_audit` is written if the presentation turns out to be a reuse.
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate(
        &self,
        tenant_id: &str,
        user_id: &str,
        session_id: &str,
        presented: &str,
        next: &str,
        now: i64,
        now_text: &str,
        audit: &AuditEntry,
        reuse_audit: &AuditEntry,
    ) -> Result<Rotation, StoreError> {
        let (pk, sk) = SessionRecord::key(tenant_id, user_id, session_id);
        let update = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .update_expression("SET refresh_hash = :next, refreshed_at = :now_text, rotated = list_append(if_not_exists(rotated, :empty), :old)")
            .condition_expression("#status = :active AND refresh_hash = :presented AND expires_at > :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":now_text", s(now_text))
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":old", AttributeValue::L(vec![s(presented)]))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":presented", s(presented))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            put(audit, self.table.name(), None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(Rotation::Rotated),
            Err(error) if cancelled_by_condition(&error, 0) => {
                let Some(session) = self.session(tenant_id, user_id, session_id).await? else {
                    return Ok(Rotation::Refused);
                };
                if session.rotated.iter().any(|hash| hash == presented) {
                    self.revoke_session(tenant_id, user_id, session_id, reuse_audit)
                        .await?;
                    return Ok(Rotation::ReuseDetected);
                }
                Ok(Rotation::Refused)
            }
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Marks a session revoked (kept until its TTL, so a reused token is still recognised), with
    /// its audit entry. `false` when it was not active: nothing is written then.
    pub async fn revoke_session(
        &self,
        tenant_id: &str,
        user_id: &str,
        session_id: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let items = vec![
            self.revocation(tenant_id, user_id, session_id, true)?,
            put(audit, self.table.name(), None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if cancelled_by_condition(&error, 0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Counts one failure (a wrong sign-in, a pairing attempt) against `key` in the window
    /// starting at `window_start`;
    /// answers the count so far. The item expires with its window.
    pub async fn count_failure(
        &self,
        key_text: &str,
        window_start: i64,
        expires_at: i64,
    ) -> Result<u32, StoreError> {
        let output = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(throttle_key(key_text, window_start)))
            .update_expression("ADD failures :one SET expires_at = :expires")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(read_failures(output.attributes.as_ref()))
    }

    /// Logs `now` against `key_text` if `admit`, given the times logged so far, lets it: it
    /// answers the times to keep (`now` among them), or `None` to refuse. Whether it was
    /// logged. A write that lost a race to another reads again; the item expires at
    /// `expires_at` unless written again.
    pub async fn log_if(
        &self,
        key_text: &str,
        expires_at: i64,
        admit: impl Fn(&[i64]) -> Option<Vec<i64>>,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = (format!("THROTTLE#{key_text}"), "LOG".to_owned());
        loop {
            let logged: Option<SentLogRecord> =
                self.table.get(pk.clone(), sk.clone(), true).await?;
            let (sent, version) = logged.map_or((Vec::new(), None), |l| (l.sent, Some(l.version)));
            let Some(sent) = admit(&sent) else {
                return Ok(false);
            };
            let record = SentLogRecord {
                pk: pk.clone(),
                sk: sk.clone(),
                sent,
                version: version.map_or(1, |v| v + 1),
                expires_at,
            };
            let write = crate::write::versioned_put(&record, self.table.name(), version)?;
            match self.table.transact(vec![write]).await {
                Ok(()) => return Ok(true),
                Err(error) if cancelled_by_condition(&error, 0) => continue,
                Err(error) => return Err(StoreError::from_sdk(error)),
            }
        }
    }

    /// Forgets the failures counted against `key_text` in the window starting at
    /// `window_start` (a right answer after wrong ones).
    pub async fn forget_failures(
        &self,
        key_text: &str,
        window_start: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = throttle_pk_sk(key_text, window_start);
        self.table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// The failures counted against each of `throttles` in the window starting at
    /// `window_start`, in one request.
    pub async fn failures<const N: usize>(
        &self,
        throttles: [&str; N],
        window_start: i64,
        now: i64,
    ) -> Result<[u32; N], StoreError> {
        let counters = throttles.map(|throttle| throttle_key(throttle, window_start));
        let items = self.table.batch_get(counters.to_vec()).await?;
        Ok(counters.each_ref().map(|counter| {
            let found = items.iter().find(|item| {
                item.get("pk") == counter.get("pk") && item.get("sk") == counter.get("sk")
            });
            live_failures(found, now)
        }))
    }

    /// What a sign-in reads before it verifies a password, in one request: the failures
    /// counted against each of `throttles` in the window starting at `window_start`, whether
    /// the mark of the account and source pair `known` is there, and the user `email` names.
    pub async fn sign_in_reads<const N: usize>(
        &self,
        throttles: [&str; N],
        window_start: i64,
        now: i64,
        known: &str,
        email: &str,
    ) -> Result<SignInReads<N>, StoreError> {
        let counters = throttles.map(|throttle| throttle_key(throttle, window_start));
        let (known_pk, known_sk) = known_pk_sk(known);
        let known = key(known_pk, known_sk);
        let (email_pk, email_sk) = email_key(email);
        let named = key(email_pk, email_sk);
        let (domain_pk, domain_sk) =
            crate::single_sign_on::DomainRecord::key(crate::single_sign_on::domain_of(email));
        let domain = key(domain_pk, domain_sk);
        let mut wanted = counters.to_vec();
        wanted.extend([known.clone(), named.clone(), domain.clone()]);
        let items = self.table.batch_get(wanted).await?;
        let find = |wanted: &Item| {
            items.iter().find(|item| {
                item.get("pk") == wanted.get("pk") && item.get("sk") == wanted.get("sk")
            })
        };
        let claim = find(&named)
            .map(|item| {
                serde_dynamo::from_item::<_, EmailRecord>(item.clone()).map_err(|e| {
                    StoreError::Corrupt {
                        key: format!("the email item of {email}"),
                        problem: e.to_string(),
                    }
                })
            })
            .transpose()?;
        let account_id = match claim {
            Some(claim) => self.account_id_of_claim(claim).await?,
            None => None,
        };
        Ok(SignInReads {
            failures: counters
                .each_ref()
                .map(|counter| live_failures(find(counter), now)),
            known_source: find(&known).is_some_and(|item| !expired(item, now)),
            account_id,
            provider_only: find(&domain)
                .and_then(|item| {
                    serde_dynamo::from_item::<_, crate::single_sign_on::DomainRecord>(item.clone())
                        .ok()
                })
                .is_some_and(|domain| domain.sso_only),
        })
    }
}

/// The mark of an account and source pair that signed in.
fn known_pk_sk(key_text: &str) -> (String, String) {
    (format!("THROTTLE#{key_text}"), "KNOWN".into())
}

/// The item counting `key_text`'s failures in the window starting at `window_start`.
/// The times something (an email) was done against a throttle's key: `THROTTLE#<key>`/`LOG`.
#[derive(Debug, Serialize, Deserialize)]
struct SentLogRecord {
    pk: String,
    sk: String,
    sent: Vec<i64>,
    version: u64,
    expires_at: i64,
}

fn throttle_key(key_text: &str, window_start: i64) -> Item {
    let (pk, sk) = throttle_pk_sk(key_text, window_start);
    key(pk, sk)
}

fn throttle_pk_sk(key_text: &str, window_start: i64) -> (String, String) {
    (
        format!("THROTTLE#{key_text}"),
        format!("WINDOW#{window_start}"),
    )
}

/// Whether an item's `expires_at` has passed (TTL deletion is lazy).
fn expired(item: &Item, now: i64) -> bool {
    item.get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .is_some_and(|at| at <= now)
}

/// The failures an item counts, none once its window expired.
fn live_failures(item: Option<&Item>, now: i64) -> u32 {
    if item.is_some_and(|item| expired(item, now)) {
        0
    } else {
        read_failures(item)
    }
}

fn read_failures(item: Option<&HashMap<String, AttributeValue>>) -> u32 {
    item.and_then(|i| i.get("failures"))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
