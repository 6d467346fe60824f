//! Accounts apart from their memberships: one person (an email, a password) belongs to several
//! tenants, as a user of each.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | account (email, name, password hash) | `ACCOUNT#<account>` | `ACCOUNT` |
//! | one of its memberships (tenant → user) | `ACCOUNT#<account>` | `MEMBER#<tenant>` |
//! | email → account (sign-in has no tenant yet) | `EMAIL#<email>` | `EMAIL` |
//! | the membership itself: a tenant's user (roles, status) | `T#<tenant>` | `USER#<user>` |
//!
//! The account counts its memberships (`memberships`), kept by the transactions that add and
//! end them; an account whose last membership ended is deleted with its email claim, so the
//! address can sign up again ([`IdentityStore::close_if_orphaned`]).
//!
//! Tables written before accounts existed have email items naming a user and users holding
//! the password: [`IdentityStore::migrate_account`] turns one into an account (its id the
//! user's, so that every migrator agrees), reading paths do it on first touch, and
//! `steward-local migrate accounts` does the whole table (docs/runbooks/migrations.md).

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::attributes::{n, s};
use crate::identity::{EmailRecord, IdentityStore, UserRecord, email_key};
use crate::write::{cancelled_by_condition, delete, key, put, update};
use crate::{Query, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub pk: String,
    pub sk: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub password_changed_at: String,
    pub created_at: String,
    /// Its `MEMBER#` items, counted by the transactions that write them.
    pub memberships: u32,
    /// Sessions ever opened for it, counted by each session's own write: a change of password
    /// that read the sessions at one count ends them all only if none opened since.
    #[serde(default)]
    pub sessions_opened: u64,
    /// The second factor, once confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<crate::second_factor::TotpFactor>,
    /// A second factor being set up: confirmed with a code, or replaced by a new start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_pending: Option<crate::second_factor::PendingTotp>,
}

impl AccountRecord {
    pub fn key(account_id: &str) -> (String, String) {
        (account_pk(account_id), "ACCOUNT".into())
    }

    /// A new account holding its first membership.
    pub fn new(account_id: &str, email: &str, name: &str, password_hash: &str, at: &str) -> Self {
        let (pk, sk) = Self::key(account_id);
        Self {
            pk,
            sk,
            account_id: account_id.into(),
            email: email.into(),
            name: name.into(),
            password_hash: password_hash.into(),
            password_changed_at: at.into(),
            created_at: at.into(),
            memberships: 1,
            sessions_opened: 0,
            totp: None,
            totp_pending: None,
        }
    }
}

/// One of an account's memberships: which user of which tenant it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRecord {
    pub pk: String,
    pub sk: String,
    pub account_id: String,
    pub tenant_id: String,
    pub user_id: String,
    /// The tenant's name, kept here so that listing one's organisations reads no tenant
    /// (tenants are not renamed).
    pub tenant_name: String,
}

impl MembershipRecord {
    pub fn key(account_id: &str, tenant_id: &str) -> (String, String) {
        (account_pk(account_id), format!("MEMBER#{tenant_id}"))
    }

    /// The membership `user` is, of the account it names, in the tenant named `tenant_name`.
    pub fn of(user: &UserRecord, tenant_name: &str) -> Self {
        let (pk, sk) = Self::key(&user.account_id, &user.tenant_id);
        Self {
            pk,
            sk,
            account_id: user.account_id.clone(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.user_id.clone(),
            tenant_name: tenant_name.to_owned(),
        }
    }
}

/// The live sessions of an account by membership, and its count of sessions opened when they
/// were read: a change of password conditioned on that count ends every session opened with
/// the old one, or retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSessions {
    pub seen: u64,
    pub by_membership: Vec<(MembershipRecord, Vec<String>)>,
}

impl OpenSessions {
    /// Without the session `except` (the one changing the password keeps itself).
    pub fn except(mut self, except: &str) -> Self {
        for (_, ids) in &mut self.by_membership {
            ids.retain(|id| id != except);
        }
        self
    }
}

/// A membership as sign-in and switching show it: the user, and the tenant's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub user: UserRecord,
    pub tenant_name: String,
}

fn account_pk(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}")
}

/// The writes that create `user`'s account `account` with its email claim and its first
/// membership (`user`'s own item is the caller's): the email claim first, conditioned on
/// nobody holding the address.
pub(crate) fn new_account(
    table: &str,
    account: &AccountRecord,
    user: &UserRecord,
    tenant_name: &str,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    Ok(vec![
        put(
            &EmailRecord::of(&account.email, &account.account_id),
            table,
            Some("attribute_not_exists(pk)"),
        )?,
        put(account, table, Some("attribute_not_exists(pk)"))?,
        put(
            &MembershipRecord::of(user, tenant_name),
            table,
            Some("attribute_not_exists(pk)"),
        )?,
    ])
}

/// The writes that add `user` as one more membership of its account: the membership item
/// first, conditioned on the account not being a member of the tenant already, then the
/// account's count, conditioned on the account still being there.
pub(crate) fn join(
    table: &str,
    user: &UserRecord,
    tenant_name: &str,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    Ok(vec![
        put(
            &MembershipRecord::of(user, tenant_name),
            table,
            Some("attribute_not_exists(pk)"),
        )?,
        count_membership(table, &user.account_id, 1)?,
    ])
}

/// The writes that end `user`'s membership of its account (the user's own item is the
/// caller's): nothing for a user without an account (a reserved principal).
pub(crate) fn leave(table: &str, user: &UserRecord) -> Result<Vec<TransactWriteItem>, StoreError> {
    if user.account_id.is_empty() {
        return Ok(Vec::new());
    }
    let (pk, sk) = MembershipRecord::key(&user.account_id, &user.tenant_id);
    Ok(vec![
        delete(table, pk, sk, None)?,
        count_membership(table, &user.account_id, -1)?,
    ])
}

fn count_membership(
    table: &str,
    account_id: &str,
    by: i64,
) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = AccountRecord::key(account_id);
    update(
        Update::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .update_expression("ADD memberships :by")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":by", n(by))
            .build(),
    )
}

/// What [`IdentityStore::migrate_account`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrated {
    /// The account was made now.
    Made,
    /// The email item names an account already (another migrator, or a new-style item).
    Already,
    /// The email item names a user that is not there: nothing to make an account of.
    Orphan,
}

impl IdentityStore {
    pub async fn account(&self, account_id: &str) -> Result<Option<AccountRecord>, StoreError> {
        let (pk, sk) = AccountRecord::key(account_id);
        self.table().get(pk, sk, true).await
    }

    /// The account an email signs in as, made first from a user written before accounts
    /// existed.
    pub async fn account_by_email(&self, email: &str) -> Result<Option<AccountRecord>, StoreError> {
        match self.account_id_of_email(email).await? {
            Some(account_id) => self.account(&account_id).await,
            None => Ok(None),
        }
    }

    /// The id of the account an email names, migrating a legacy claim on the way.
    pub async fn account_id_of_email(&self, email: &str) -> Result<Option<String>, StoreError> {
        let (pk, sk) = email_key(email);
        let Some(claim) = self.table().get::<EmailRecord>(pk, sk, true).await? else {
            return Ok(None);
        };
        self.account_id_of_claim(claim).await
    }

    pub(crate) async fn account_id_of_claim(
        &self,
        claim: EmailRecord,
    ) -> Result<Option<String>, StoreError> {
        if let Some(account_id) = claim.account_id {
            return Ok(Some(account_id));
        }
        let (Some(tenant_id), Some(user_id)) = (claim.tenant_id, claim.user_id) else {
            return Ok(None);
        };
        match self.migrate_account(&tenant_id, &user_id).await? {
            Migrated::Made | Migrated::Already => Ok(Some(user_id)),
            Migrated::Orphan => Ok(None),
        }
    }

    /// The account's memberships, in tenant order.
    pub async fn membership_items(
        &self,
        account_id: &str,
    ) -> Result<Vec<MembershipRecord>, StoreError> {
        let partition = account_pk(account_id);
        let query = Query::partition(&partition).with_prefix("MEMBER#");
        Ok(self.table().query_up_to(query, 1_000).await?.0)
    }

    /// The account's membership of one tenant.
    pub async fn membership_of(
        &self,
        account_id: &str,
        tenant_id: &str,
    ) -> Result<Option<MembershipRecord>, StoreError> {
        let (pk, sk) = MembershipRecord::key(account_id, tenant_id);
        self.table().get(pk, sk, true).await
    }

    /// The account and its memberships, from its partition: one `Query`.
    pub async fn account_partition(
        &self,
        account_id: &str,
    ) -> Result<(Option<AccountRecord>, Vec<MembershipRecord>), StoreError> {
        let partition = account_pk(account_id);
        let corrupt = |e: serde_dynamo::Error| StoreError::Corrupt {
            key: partition.clone(),
            problem: e.to_string(),
        };
        let (mut account, mut links) = (None, Vec::new());
        let mut start = None;
        loop {
            let (items, next) = self
                .table()
                .query_items_page(Query::partition(&partition), 100, start)
                .await?;
            for item in items {
                if item
                    .get("sk")
                    .and_then(|sk| sk.as_s().ok())
                    .map(String::as_str)
                    == Some("ACCOUNT")
                {
                    account = Some(serde_dynamo::from_item(item).map_err(corrupt)?);
                } else {
                    links.push(serde_dynamo::from_item(item).map_err(corrupt)?);
                }
            }
            match next {
                Some(next) => start = Some(next),
                None => return Ok((account, links)),
            }
        }
    }

    /// The account's memberships with their users and tenants' names, in tenant order.
    pub async fn memberships(&self, account_id: &str) -> Result<Vec<Membership>, StoreError> {
        let links = self.membership_items(account_id).await?;
        self.memberships_of_links(links).await
    }

    /// The memberships `links` name, with their users (one `BatchGetItem`).
    pub async fn memberships_of_links(
        &self,
        links: Vec<MembershipRecord>,
    ) -> Result<Vec<Membership>, StoreError> {
        let users: Vec<UserRecord> = self
            .table()
            .get_many(
                links
                    .iter()
                    .map(|link| UserRecord::key(&link.tenant_id, &link.user_id)),
                "a member of an account",
            )
            .await?;
        let mut found: Vec<Membership> = users
            .into_iter()
            .map(|user| Membership {
                tenant_name: links
                    .iter()
                    .find(|link| link.tenant_id == user.tenant_id)
                    .map(|link| link.tenant_name.clone())
                    .unwrap_or_default(),
                user,
            })
            .collect();
        found.sort_by(|a, b| a.user.tenant_id.cmp(&b.user.tenant_id));
        Ok(found)
    }

    /// What a change of the account's password ends: the live sessions of every membership,
    /// read after the account's count of sessions opened (`None`: no such account).
    pub async fn open_sessions(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<Option<OpenSessions>, StoreError> {
        let (Some(account), links) = self.account_partition(account_id).await? else {
            return Ok(None);
        };
        let mut by_membership = Vec::with_capacity(links.len());
        for link in links {
            let live = self
                .sessions(&link.tenant_id, &link.user_id)
                .await?
                .into_iter()
                .filter(|session| session.is_alive(now))
                .map(|session| session.session_id)
                .collect();
            by_membership.push((link, live));
        }
        Ok(Some(OpenSessions {
            seen: account.sessions_opened,
            by_membership,
        }))
    }

    /// Deletes the account and its email claim if its last membership ended (a removal's
    /// follow-up); `true` when it did.
    pub async fn close_if_orphaned(&self, account_id: &str) -> Result<bool, StoreError> {
        let Some(account) = self.account(account_id).await? else {
            return Ok(false);
        };
        if account.memberships > 0 {
            return Ok(false);
        }
        let table = self.table().name();
        let (pk, sk) = AccountRecord::key(account_id);
        let (email_pk, email_sk) = email_key(&account.email);
        let items = vec![
            crate::write::delete_if(table, pk, sk, "memberships <= :none", &[(":none", n(0))])?,
            crate::write::delete_if(
                table,
                email_pk,
                email_sk,
                "account_id = :account",
                &[(":account", s(account_id))],
            )?,
        ];
        // The email item names the account for as long as the account has it (an email
        // change moves both in one transaction): a failed condition is a membership added
        // meanwhile.
        match self.table().transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if (0..2).any(|index| cancelled_by_condition(&error, index)) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Makes the account of a user written before accounts existed: the account (its id the
    /// user's, its password theirs), its membership, and the email item and user naming it,
    /// in one transaction. The user's password attributes stay until the migration's contract
    /// step, so that a version still reading them keeps working while a deploy shifts.
    pub async fn migrate_account(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Migrated, StoreError> {
        let Some(legacy) = self.legacy_user(tenant_id, user_id).await? else {
            return Ok(Migrated::Orphan);
        };
        if !legacy.user.account_id.is_empty() {
            return Ok(Migrated::Already);
        }
        let tenant_name = self
            .tenant(tenant_id)
            .await?
            .map(|tenant| tenant.name)
            .unwrap_or_default();
        let table = self.table().name();
        let account = AccountRecord {
            password_changed_at: legacy.password_changed_at.clone(),
            ..AccountRecord::new(
                user_id,
                &legacy.user.email,
                &legacy.user.name,
                &legacy.password_hash,
                &legacy.user.created_at,
            )
        };
        let user = UserRecord {
            account_id: user_id.to_owned(),
            ..legacy.user
        };
        let (email_pk, email_sk) = email_key(&user.email);
        let (user_pk, user_sk) = UserRecord::key(tenant_id, user_id);
        let items = vec![
            update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(email_pk, email_sk)))
                    .update_expression("SET account_id = :account")
                    .condition_expression(
                        "attribute_not_exists(account_id) AND tenant_id = :tenant AND user_id = :user",
                    )
                    .expression_attribute_values(":account", s(user_id))
                    .expression_attribute_values(":tenant", s(tenant_id))
                    .expression_attribute_values(":user", s(user_id))
                    .build(),
            )?,
            put(&account, table, Some("attribute_not_exists(pk)"))?,
            put(
                &MembershipRecord::of(&user, &tenant_name),
                table,
                Some("attribute_not_exists(pk)"),
            )?,
            update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(user_pk, user_sk)))
                    .update_expression("SET account_id = :account")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":account", s(user_id))
                    .build(),
            )?,
        ];
        match self.table().transact(items).await {
            Ok(()) => Ok(Migrated::Made),
            Err(error) if (0..4).any(|index| cancelled_by_condition(&error, index)) => {
                Ok(Migrated::Already)
            }
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// The migration's contract step for one migrated user: the password attributes the
    /// account holds now removed from the user, and the email item's legacy names.
    pub async fn contract_account(&self, user: &UserRecord) -> Result<(), StoreError> {
        if user.account_id.is_empty() {
            return Ok(());
        }
        let table = self.table().name();
        let (user_pk, user_sk) = UserRecord::key(&user.tenant_id, &user.user_id);
        let (email_pk, email_sk) = email_key(&user.email);
        let items = vec![
            update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(user_pk, user_sk)))
                    .update_expression("REMOVE password_hash, password_changed_at")
                    .condition_expression("attribute_exists(pk)")
                    .build(),
            )?,
            update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(email_pk, email_sk)))
                    .update_expression("REMOVE tenant_id, user_id")
                    .condition_expression("account_id = :account")
                    .expression_attribute_values(":account", s(&user.account_id))
                    .build(),
            )?,
        ];
        match self.table().transact(items).await {
            // The address moved to another account since: its item is not this user's.
            Err(error) if cancelled_by_condition(&error, 1) => Ok(()),
            other => other.map_err(StoreError::from_sdk),
        }
    }

    async fn legacy_user(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Option<LegacyUser>, StoreError> {
        let (pk, sk) = UserRecord::key(tenant_id, user_id);
        self.table().get(pk, sk, true).await
    }
}

/// A user as tables before accounts wrote it: the password on the user.
#[derive(Debug, Deserialize)]
struct LegacyUser {
    #[serde(flatten)]
    user: UserRecord,
    #[serde(default)]
    password_hash: String,
    #[serde(default)]
    password_changed_at: String,
}
