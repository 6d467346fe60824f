//! Provider credentials (SPEC §E): the tenant's credential types and each credential's record;
//! its file lives in the bucket at [`object_key`].
//!
//! | item | pk | sk | indexes |
//! |---|---|---|---|
//! | credential type | `T#<tenant>` | `CREDTYPE#<id>` | |
//! | credential | `T#<tenant>` | `CREDENTIAL#<id>` | `gsi1` the provider's (`…#USER#<member>#CREDENTIALS`, by type); `gsi2` the tenant's review queue while pending (`…#REVIEWS`, by upload time); `gsi3` expiry across tenants while verified with an expiry (`CRED_EXPIRY#<0–7>`, by expiry); `gsi4` review due across tenants while pending and not escalated (`REVIEW_DUE#<0–7>`, by due time) |
//!
//! Every change is a put conditioned on the version read, so the verifier handling one S3
//! event twice, or two reviewers deciding at once, changes it once.

use serde::{Deserialize, Serialize};
use steward_domain::credential::Held;
use steward_domain::credential::file::FileKind;
use steward_domain::credential::kind::CredentialType;
use steward_domain::credential::status::CredentialStatus;

use crate::audit::AuditEntry;
use crate::write::{put, tenant_pk, versioned_put};
use crate::{Index, Query, StoreError, Table};

/// Partitions of the cross-tenant indexes (expiry, review due).
pub const SHARDS: u32 = 8;

fn shard(id: &str) -> u32 {
    crate::write::spread(id, SHARDS)
}

/// Where a credential's file is kept: under its tenant's prefix, so that a key names its tenant
/// and a presigned URL can reach no other tenant's objects.
pub fn object_key(tenant_id: &str, credential_id: &str, kind: FileKind) -> String {
    format!(
        "tenants/{tenant_id}/credentials/{credential_id}.{}",
        kind.extension()
    )
}

/// The tenant and credential an object key names, if it is a credential's.
pub fn parse_object_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("tenants/")?;
    let (tenant_id, rest) = rest.split_once('/')?;
    let file = rest.strip_prefix("credentials/")?;
    let (credential_id, _) = file.rsplit_once('.')?;
    Some((tenant_id, credential_id))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialTypeRecord {
    pub pk: String,
    pub sk: String,
    pub type_id: String,
    pub tenant_id: String,
    #[serde(flatten)]
    pub kind: CredentialType,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl CredentialTypeRecord {
    pub fn key(tenant_id: &str, type_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("CREDTYPE#{type_id}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    pub pk: String,
    pub sk: String,
    pub credential_id: String,
    pub tenant_id: String,
    /// The member it is of.
    pub provider: String,
    pub type_id: String,
    pub file_kind: FileKind,
    /// The size the upload URL was signed for.
    pub declared_bytes: u64,
    pub object_key: String,
    pub status: CredentialStatus,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// When its review is due (upload + 4 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_due: Option<String>,
    /// When its overdue review was escalated (once per breach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When its provider was reminded of its expiry (once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Why it was rejected (by a reviewer, or by the verifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CredentialRecord {
    pub fn key(tenant_id: &str, credential_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("CREDENTIAL#{credential_id}"))
    }

    /// When it expires, if it does.
    pub fn expiry(&self) -> Option<jiff::Timestamp> {
        self.expires_at.as_deref().and_then(|at| at.parse().ok())
    }

    /// As the requirement and trust checks see it.
    pub fn held(&self) -> Held<'_> {
        Held {
            credential_id: &self.credential_id,
            type_id: &self.type_id,
            status: self.status,
            expires_at: self.expiry(),
        }
    }

    /// Its next version, as a change starts from.
    pub fn revised(&self, at: &str) -> Self {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = at.to_owned();
        next
    }
}

/// A credential as stored, with the index keys derived from it.
#[derive(Serialize)]
struct Stored<'a> {
    #[serde(flatten)]
    record: &'a CredentialRecord,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi3pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi3sk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi4pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi4sk: Option<String>,
}

fn provider_partition(tenant_id: &str, member: &str) -> String {
    format!("T#{tenant_id}#USER#{member}#CREDENTIALS")
}

fn reviews_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#REVIEWS")
}

impl<'a> Stored<'a> {
    fn new(record: &'a CredentialRecord) -> Self {
        let (t, id) = (&record.tenant_id, &record.credential_id);
        let pending = record.status == CredentialStatus::PendingReview;
        let verified = record.status == CredentialStatus::Verified;
        // On the cross-tenant indexes only while the sweeps have something to do with it.
        let expiring = record.expires_at.as_deref().filter(|_| verified);
        let due = record
            .review_due
            .as_deref()
            .filter(|_| pending && record.escalated_at.is_none());
        Self {
            record,
            gsi1pk: provider_partition(t, &record.provider),
            gsi1sk: format!("{}#{}", record.type_id, record.created_at),
            gsi2pk: pending.then(|| reviews_partition(t)),
            gsi2sk: pending
                .then(|| format!("{}#{id}", record.uploaded_at.as_deref().unwrap_or_default())),
            gsi3pk: expiring.map(|_| format!("CRED_EXPIRY#{}", shard(id))),
            gsi3sk: expiring.map(|at| format!("{at}#{t}#{id}")),
            gsi4pk: due.map(|_| format!("REVIEW_DUE#{}", shard(id))),
            gsi4sk: due.map(|at| format!("{at}#{t}#{id}")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialWriteError {
    /// It changed since it was read: read it again.
    #[error("the credential changed")]
    Stale,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub struct CredentialStore {
    table: Table,
}

impl CredentialStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Writes a credential type (new, or over the version read), with its audit entry.
    pub async fn put_type(
        &self,
        record: &CredentialTypeRecord,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> Result<(), CredentialWriteError> {
        let table = self.table.name();
        self.transact(vec![
            versioned_put(record, table, expected)?,
            put(audit, table, None)?,
        ])
        .await
    }

    pub async fn credential_type(
        &self,
        tenant_id: &str,
        type_id: &str,
    ) -> Result<Option<CredentialTypeRecord>, StoreError> {
        let (pk, sk) = CredentialTypeRecord::key(tenant_id, type_id);
        self.table.get(pk, sk, true).await
    }

    /// The tenant's credential types (at most 500).
    pub async fn types(&self, tenant_id: &str) -> Result<Vec<CredentialTypeRecord>, StoreError> {
        let pk = tenant_pk(tenant_id);
        Ok(self
            .table
            .query_up_to(Query::partition(&pk).with_prefix("CREDTYPE#"), 500)
            .await?
            .0)
    }

    /// Writes a credential (new, or over the version read), with its audit entry if any.
    pub async fn put(
        &self,
        record: &CredentialRecord,
        expected: Option<u64>,
        audit: Option<&AuditEntry>,
    ) -> Result<(), CredentialWriteError> {
        let table = self.table.name();
        let mut items = vec![versioned_put(&Stored::new(record), table, expected)?];
        if let Some(audit) = audit {
            items.push(put(audit, table, None)?);
        }
        self.transact(items).await
    }

    async fn transact(
        &self,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<(), CredentialWriteError> {
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if crate::write::failed_condition(&error) == Some(0) => {
                Err(CredentialWriteError::Stale)
            }
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        credential_id: &str,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        let (pk, sk) = CredentialRecord::key(tenant_id, credential_id);
        self.table.get(pk, sk, true).await
    }

    /// A member's credentials (at most 1,000), by type.
    pub async fn of_provider(
        &self,
        tenant_id: &str,
        member: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let partition = provider_partition(tenant_id, member);
        Ok(self
            .table
            .query_up_to(Query::partition(&partition).on(Index::Gsi1), 1_000)
            .await?
            .0)
    }

    /// The tenant's review queue, oldest upload first (at most `cap`).
    pub async fn review_queue(
        &self,
        tenant_id: &str,
        cap: usize,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let partition = reviews_partition(tenant_id);
        Ok(self
            .table
            .query_up_to(Query::partition(&partition).on(Index::Gsi2), cap)
            .await?
            .0)
    }

    /// Pending reviews of every tenant due at or before `at` and not yet escalated.
    pub async fn overdue(&self, at: &str, cap: usize) -> Result<Vec<CredentialRecord>, StoreError> {
        self.across(Index::Gsi4, "REVIEW_DUE", at, cap).await
    }

    /// Verified credentials of every tenant expiring at or before `at`.
    pub async fn expiring(
        &self,
        at: &str,
        cap: usize,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        self.across(Index::Gsi3, "CRED_EXPIRY", at, cap).await
    }

    async fn across(
        &self,
        index: Index,
        prefix: &str,
        at: &str,
        cap: usize,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        // `<time>#<tenant>#<id>` sort keys: every time at or before `at` sorts below `at$`.
        let last = format!("{at}$");
        let mut found = Vec::new();
        for shard in 0..SHARDS {
            let partition = format!("{prefix}#{shard}");
            let query = Query::partition(&partition).on(index).between("0", &last);
            found.extend(
                self.table
                    .query_up_to::<CredentialRecord>(query, cap)
                    .await?
                    .0,
            );
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_name_their_tenant_and_read_back() {
        let key = object_key("t_1", "cr_9", FileKind::Pdf);
        assert_eq!(key, "tenants/t_1/credentials/cr_9.pdf");
        assert_eq!(parse_object_key(&key), Some(("t_1", "cr_9")));
        assert_eq!(parse_object_key("reports/2026/x.json"), None);
    }
}
