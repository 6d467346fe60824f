//! Single sign-on: a tenant's OpenID provider (`T#<tenant>` / `SSO`), the email domains it
//! covers (`SSODOMAIN#<domain>`, one tenant each, platform-wide), and the sign-ins in flight
//! between the redirect to the provider and its callback (`SSOSTATE#<id>`, single use).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::attributes::{n, s};
use crate::audit::AuditEntry;
use crate::table::Table;
use crate::write::{cancelled_by_condition, failed_condition, key, put, put_if, tenant_pk};

/// A tenant's OpenID provider, as an admin configured it. The client secret is kept sealed
/// (steward_domain::sealed), never in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRecord {
    pub pk: String,
    pub sk: String,
    pub tenant_id: String,
    pub issuer: String,
    pub client_id: String,
    pub sealed_client_secret: String,
    /// Lowercase email domains whose people sign in here (`example.com`).
    pub domains: Vec<String>,
    /// The role a member made by a first sign-in gets when no group maps to one.
    pub default_role: String,
    /// The ID token claim that lists the person's groups.
    pub groups_claim: String,
    /// A group's name → the roles its members hold, applied at every sign-in.
    #[serde(default)]
    pub group_roles: BTreeMap<String, Vec<String>>,
    /// Members of the covered domains sign in here only: no password sign-in or reset.
    pub sso_only: bool,
    pub updated_at: String,
    pub version: u64,
}

impl ProviderRecord {
    pub fn key(tenant_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), "SSO".into())
    }
}

/// An email domain claimed by one tenant's provider, with its provider's "SSO only" kept here
/// too, so that a password sign-in learns it in the read it makes anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DomainRecord {
    pk: String,
    sk: String,
    domain: String,
    pub(crate) tenant_id: String,
    #[serde(default)]
    pub(crate) sso_only: bool,
}

impl DomainRecord {
    pub(crate) fn key(domain: &str) -> (String, String) {
        (format!("SSODOMAIN#{domain}"), "SSODOMAIN".into())
    }

    fn new(domain: &str, provider: &ProviderRecord) -> Self {
        let (pk, sk) = Self::key(domain);
        Self {
            pk,
            sk,
            domain: domain.to_owned(),
            tenant_id: provider.tenant_id.clone(),
            sso_only: provider.sso_only,
        }
    }
}

/// The domain of `email` (what follows its `@`).
pub(crate) fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// A sign-in sent to the provider and not yet back: what its callback must match. The
/// `state` parameter is `<id>.<secret>`, kept as its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInStateRecord {
    pub pk: String,
    pub sk: String,
    pub state_id: String,
    pub state_hash: String,
    pub tenant_id: String,
    pub nonce: String,
    pub code_verifier: String,
    /// Unix seconds: when the sign-in must be back, and the item's TTL.
    pub expires_at: i64,
}

impl SignInStateRecord {
    pub fn key(state_id: &str) -> (String, String) {
        (format!("SSOSTATE#{state_id}"), "SSOSTATE".into())
    }
}

/// Why a provider was not saved.
#[derive(Debug, thiserror::Error)]
pub enum ProviderWriteError {
    /// Another tenant's provider covers this domain.
    #[error("{0} is covered by another organisation's sign-in")]
    DomainTaken(String),
    /// The provider changed since it was read.
    #[error("the sign-in settings changed meanwhile")]
    Moved,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct SingleSignOnStore {
    table: Table,
}

impl SingleSignOnStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn provider(&self, tenant_id: &str) -> Result<Option<ProviderRecord>, StoreError> {
        let (pk, sk) = ProviderRecord::key(tenant_id);
        self.table.get(pk, sk, true).await
    }

    /// The tenant whose provider covers `domain`.
    pub async fn tenant_of_domain(&self, domain: &str) -> Result<Option<String>, StoreError> {
        let (pk, sk) = DomainRecord::key(domain);
        Ok(self
            .table
            .get::<DomainRecord>(pk, sk, true)
            .await?
            .map(|record| record.tenant_id))
    }

    /// Whether the organisation covering `email`'s domain signs its people in through its
    /// provider only (no password).
    pub async fn password_refused_for(&self, email: &str) -> Result<bool, StoreError> {
        let (pk, sk) = DomainRecord::key(domain_of(email));
        Ok(self
            .table
            .get::<DomainRecord>(pk, sk, true)
            .await?
            .is_some_and(|domain| domain.sso_only))
    }

    /// Saves `provider` over `previous` (the one read; `None`: there was none), with `audit`,
    /// in one transaction: each of its domains claimed (or kept, with the provider's "SSO
    /// only"), and those it drops freed.
    pub async fn save(
        &self,
        provider: &ProviderRecord,
        previous: Option<&ProviderRecord>,
        audit: &AuditEntry,
    ) -> Result<(), ProviderWriteError> {
        let table = self.table.name();
        let tenant_id = provider.tenant_id.as_str();
        let mut items = vec![match previous {
            None => put(provider, table, Some("attribute_not_exists(pk)"))?,
            Some(previous) => put_if(
                provider,
                table,
                "version = :version",
                &[(":version", n(previous.version))],
            )?,
        }];
        let before: &[String] = previous.map_or(&[], |p| p.domains.as_slice());
        for domain in &provider.domains {
            items.push(put_if(
                &DomainRecord::new(domain, provider),
                table,
                "attribute_not_exists(pk) OR tenant_id = :tenant",
                &[(":tenant", s(tenant_id))],
            )?);
        }
        for domain in before.iter().filter(|d| !provider.domains.contains(d)) {
            items.push(self.free_domain(domain, tenant_id)?);
        }
        items.push(put(audit, table, None)?);
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) => match failed_condition(&error) {
                Some(0) => Err(ProviderWriteError::Moved),
                Some(index) if index <= provider.domains.len() => Err(
                    ProviderWriteError::DomainTaken(provider.domains[index - 1].clone()),
                ),
                Some(_) => Err(ProviderWriteError::Moved),
                None => Err(StoreError::from_sdk(error).into()),
            },
        }
    }

    /// Removes `provider` (at the version read) and frees its domains, with `audit`.
    pub async fn remove(
        &self,
        provider: &ProviderRecord,
        audit: &AuditEntry,
    ) -> Result<(), ProviderWriteError> {
        let table = self.table.name();
        let (pk, sk) = ProviderRecord::key(&provider.tenant_id);
        let mut items = vec![
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(table)
                        .set_key(Some(key(pk, sk)))
                        .condition_expression("version = :version")
                        .expression_attribute_values(":version", n(provider.version))
                        .build()
                        .map_err(|e| StoreError::Failed(Box::new(e)))?,
                )
                .build(),
        ];
        for domain in &provider.domains {
            items.push(self.free_domain(domain, &provider.tenant_id)?);
        }
        items.push(put(audit, table, None)?);
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if failed_condition(&error).is_some() => Err(ProviderWriteError::Moved),
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    fn free_domain(&self, domain: &str, tenant_id: &str) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = DomainRecord::key(domain);
        Ok(TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(self.table.name())
                    .set_key(Some(key(pk, sk)))
                    .condition_expression("tenant_id = :tenant")
                    .expression_attribute_values(":tenant", s(tenant_id))
                    .build()
                    .map_err(|e| StoreError::Failed(Box::new(e)))?,
            )
            .build())
    }

    /// A sign-in the provider vouched for: the web app's `ticket` kept, with `audit`.
    pub async fn signed_in(
        &self,
        ticket: &crate::second_factor::SignInTicket,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        self.table
            .transact(vec![put(ticket, table, None)?, put(audit, table, None)?])
            .await
            .map_err(StoreError::from_sdk)
    }

    /// An audit entry of what changed nothing (a refused sign-in, roles left for an admin).
    pub async fn note(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        self.table.put(audit).await
    }

    pub async fn put_state(&self, state: &SignInStateRecord) -> Result<(), StoreError> {
        self.table.put(state).await
    }

    /// The sign-in `state_id` names, taken once: `None` when it is unknown, its hash is not
    /// `state_hash`, it has expired, or another callback took it first.
    pub async fn take_state(
        &self,
        state_id: &str,
        state_hash: &str,
        now: i64,
    ) -> Result<Option<SignInStateRecord>, StoreError> {
        let (pk, sk) = SignInStateRecord::key(state_id);
        let Some(state) = self
            .table
            .get::<SignInStateRecord>(pk.clone(), sk.clone(), true)
            .await?
        else {
            return Ok(None);
        };
        let take = Delete::builder()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .condition_expression("state_hash = :hash AND expires_at > :now")
            .expression_attribute_values(":hash", s(state_hash))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        match self
            .table
            .transact(vec![TransactWriteItem::builder().delete(take).build()])
            .await
        {
            Ok(()) => Ok(Some(state)),
            Err(error) if cancelled_by_condition(&error, 0) => Ok(None),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }
}
