//! Platform-wide configuration items, changed by operators without a deploy.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | licensing switches (rollout stage, kill switch) | `CONFIG` | `LICENSING` |
//! | cache epoch (bumped by `POST /v1/admin/cache/clear`) | `CONFIG` | `CACHE` |

use serde::{Deserialize, Serialize};
use steward_domain::licensing::Rollout;

use crate::audit::AuditEntry;
use crate::write::put;
use crate::{StoreError, Table};

/// The reserved tenant the platform's operators belong to: not a customer, so in no list of
/// customers (the operators' tenant list).
pub const PLATFORM_TENANT: &str = "platform";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensingConfigRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub rollout: Rollout,
    pub updated_at: String,
    pub updated_by: String,
}

impl LicensingConfigRecord {
    pub fn new(rollout: Rollout, updated_at: &str, updated_by: &str) -> Self {
        Self {
            pk: "CONFIG".into(),
            sk: "LICENSING".into(),
            rollout,
            updated_at: updated_at.into(),
            updated_by: updated_by.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct PlatformStore {
    table: Table,
}

impl PlatformStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The licensing switches operators set, if any (the template's flags apply otherwise).
    pub async fn licensing(&self) -> Result<Option<Rollout>, StoreError> {
        let record: Option<LicensingConfigRecord> = self
            .table
            .get("CONFIG".into(), "LICENSING".into(), true)
            .await?;
        Ok(record.map(|r| r.rollout))
    }

    /// Writes the switches with their audit entry.
    pub async fn set_licensing(
        &self,
        record: &LicensingConfigRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        let items = vec![put(record, table, None)?, put(audit, table, None)?];
        self.table
            .transact(items)
            .await
            .map_err(StoreError::from_sdk)
    }

    /// The cache epoch: instances drop their caches when it moves.
    pub async fn cache_epoch(&self) -> Result<u64, StoreError> {
        #[derive(Deserialize)]
        struct Epoch {
            epoch: u64,
        }
        let epoch: Option<Epoch> = self
            .table
            .get("CONFIG".into(), "CACHE".into(), true)
            .await?;
        Ok(epoch.map_or(0, |e| e.epoch))
    }

    /// Moves the cache epoch on, with the audit entry; answers the new epoch.
    pub async fn bump_cache_epoch(&self, audit: &AuditEntry) -> Result<u64, StoreError> {
        let table = self.table.name();
        let bump = aws_sdk_dynamodb::types::Update::builder()
            .table_name(table)
            .set_key(Some(crate::write::key("CONFIG".into(), "CACHE".into())))
            .update_expression("ADD epoch :one")
            .expression_attribute_values(":one", crate::attributes::n(1))
            .build();
        self.table
            .transact(vec![crate::write::update(bump)?, put(audit, table, None)?])
            .await
            .map_err(StoreError::from_sdk)?;
        self.cache_epoch().await
    }
}
