//! Operators' writes to a tenant's licence and rollout cohort (the seat counter is the
//! invitations' and members' business, shared/store/src/access.rs).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use steward_domain::licensing::Cohort;

use crate::attributes::s;
use crate::audit::AuditEntry;
use crate::identity::LicenceRecord;
use crate::write::{failed_condition, key, put, update};
use crate::{StoreError, Table};

fn value<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Failed(Box::new(e)))
}

#[derive(Clone, Debug)]
pub struct LicensingStore {
    table: Table,
}

impl LicensingStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Rewrites an existing tenant's licence terms (`seats_used` is kept), with the audit
    /// entry; `false` for an unknown tenant (nothing written).
    pub async fn set_licence(
        &self,
        tenant_id: &str,
        licence: &LicenceRecord,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key(format!("T#{tenant_id}"), "TENANT".into())))
            .update_expression(
                "SET #l.#status = :status, #l.offering = :offering, #l.features = :features, \
                 #l.limits = :limits, #l.expires_at = :expires",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#l", "licence")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", value(&licence.status)?)
            .expression_attribute_values(":offering", value(&licence.offering)?)
            .expression_attribute_values(":features", value(&licence.features)?)
            .expression_attribute_values(":limits", value(&licence.limits)?)
            .expression_attribute_values(":expires", value(&licence.expires_at)?)
            .build();
        self.write(update(change)?, audit).await
    }

    /// Puts an existing tenant in a rollout cohort, or takes it out (`None`).
    pub async fn set_cohort(
        &self,
        tenant_id: &str,
        cohort: Option<Cohort>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key(format!("T#{tenant_id}"), "TENANT".into())))
            .update_expression("SET cohort = :cohort")
            .condition_expression("attribute_exists(pk) AND sk = :tenant")
            .expression_attribute_values(":cohort", value(&cohort)?)
            .expression_attribute_values(":tenant", s("TENANT"))
            .build();
        self.write(update(change)?, audit).await
    }

    async fn write(
        &self,
        change: TransactWriteItem,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let items = vec![change, put(audit, self.table.name(), None)?];
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if failed_condition(&error) == Some(0) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }
}
