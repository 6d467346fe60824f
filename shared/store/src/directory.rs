//! The bearer tokens a tenant's directory provisions with over SCIM: `T#<tenant>`/
//! `SCIMTOKEN#<id>`, each stored as the SHA-256 of the whole token (`<tenant>.<id>.<secret>`,
//! shown once), revoked by deletion.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

use crate::Query;
use crate::StoreError;
use crate::audit::AuditEntry;
use crate::table::Table;
use crate::write::{failed_condition, key, put, tenant_pk};

/// A tenant has at most this many tokens: one in use and one being rotated in, with room.
pub const MAX_TOKENS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryTokenRecord {
    pub pk: String,
    pub sk: String,
    pub tenant_id: String,
    pub token_id: String,
    pub token_hash: String,
    /// What the admin called it (the directory it is for).
    pub name: String,
    pub created_at: String,
    pub created_by: String,
}

impl DirectoryTokenRecord {
    pub fn key(tenant_id: &str, token_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("SCIMTOKEN#{token_id}"))
    }
}

#[derive(Clone, Debug)]
pub struct DirectoryStore {
    table: Table,
}

impl DirectoryStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn token(
        &self,
        tenant_id: &str,
        token_id: &str,
    ) -> Result<Option<DirectoryTokenRecord>, StoreError> {
        let (pk, sk) = DirectoryTokenRecord::key(tenant_id, token_id);
        self.table.get(pk, sk, true).await
    }

    /// The tenant's tokens, oldest first.
    pub async fn tokens(&self, tenant_id: &str) -> Result<Vec<DirectoryTokenRecord>, StoreError> {
        let partition = tenant_pk(tenant_id);
        let query = Query::partition(&partition).with_prefix("SCIMTOKEN#");
        Ok(self.table.query_up_to(query, MAX_TOKENS * 2).await?.0)
    }

    /// Keeps a new token with `audit`.
    pub async fn create(
        &self,
        token: &DirectoryTokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        self.table
            .transact(vec![
                put(token, table, Some("attribute_not_exists(pk)"))?,
                put(audit, table, None)?,
            ])
            .await
            .map_err(StoreError::from_sdk)
    }

    /// Revokes a token with `audit`: `false` when it was not there.
    pub async fn revoke(
        &self,
        tenant_id: &str,
        token_id: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let (pk, sk) = DirectoryTokenRecord::key(tenant_id, token_id);
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        match self
            .table
            .transact(vec![
                TransactWriteItem::builder().delete(delete).build(),
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
