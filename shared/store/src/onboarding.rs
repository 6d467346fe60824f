//! A tenant's onboarding marks: `T#<tenant>` / `ONBOARDING`, one attribute per step an admin
//! marked (`{status, at, by}`); the rest of the checklist is read from the tenant's data.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::Update;
use serde::{Deserialize, Serialize};
use steward_domain::onboarding::{Evidence, Mark, Step};

use crate::attributes::n;
use crate::audit::AuditEntry;
use crate::write::tenant_pk;
use crate::write::{key, put, update};
use crate::{StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRecord {
    pub status: Mark,
    pub at: String,
    pub by: String,
}

/// A tenant's checklist as the sweep's workers last computed it. Kept on the tenant's own item,
/// so that the operators' views sum it from the tenant index they page anyway: two reads a
/// tenant (evidence and marks) move off the refresh onto the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingProgress {
    pub percent: u8,
    pub complete: bool,
    /// Unix seconds: the refresh that asked for it.
    pub at: i64,
}

#[derive(Clone, Debug)]
pub struct OnboardingStore {
    table: Table,
}

impl OnboardingStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Keeps `progress` on the tenant's item, unless a later refresh's is there already (a
    /// message delivered late or twice changes nothing) or the tenant is gone.
    pub async fn save_progress(
        &self,
        tenant_id: &str,
        progress: OnboardingProgress,
    ) -> Result<(), StoreError> {
        let value = serde_dynamo::to_attribute_value(progress)
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        let saved = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(tenant_pk(tenant_id), "TENANT".into())))
            .update_expression("SET onboarding_progress = :progress")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(onboarding_progress) \
                 OR onboarding_progress.#at <= :at)",
            )
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":progress", value)
            .expression_attribute_values(":at", n(progress.at))
            .send()
            .await;
        match saved {
            Ok(_) => Ok(()),
            Err(error) if crate::error::is_condition_failure(&error) => Ok(()),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// The steps an admin marked.
    pub async fn marks(&self, tenant_id: &str) -> Result<BTreeMap<Step, MarkRecord>, StoreError> {
        let item: Option<BTreeMap<String, serde_json::Value>> = self
            .table
            .get(tenant_pk(tenant_id), "ONBOARDING".into(), true)
            .await?;
        Ok(item
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, value)| {
                Some((Step::parse(&name)?, serde_json::from_value(value).ok()?))
            })
            .collect())
    }

    /// What the tenant's data shows: members, invitations, rooms, terminals, bookings.
    pub async fn evidence(&self, tenant_id: &str) -> Result<Evidence, StoreError> {
        let pk = tenant_pk(tenant_id);
        // Boxed: five SDK calls side by side make a future too deep for a debug build's stack.
        let count = |prefix: &'static str| Box::pin(self.table.count(&pk, prefix));
        let (members, invitations, rooms, terminals, bookings) = tokio::try_join!(
            count("USER#"),
            count("INVITE#"),
            count("ROOM#"),
            count("TERMINAL#"),
            count("BOOKING#"),
        )?;
        Ok(Evidence {
            members,
            invitations,
            rooms,
            terminals,
            bookings,
        })
    }

    /// Marks one step, with the audit entry.
    pub async fn mark(
        &self,
        tenant_id: &str,
        step: Step,
        mark: &MarkRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        let value =
            serde_dynamo::to_attribute_value(mark).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let change = Update::builder()
            .table_name(table)
            .set_key(Some(key(tenant_pk(tenant_id), "ONBOARDING".into())))
            .update_expression("SET #step = :mark")
            .expression_attribute_names("#step", step.as_str())
            .expression_attribute_values(":mark", value)
            .build();
        self.table
            .transact(vec![update(change)?, put(audit, table, None)?])
            .await
            .map_err(StoreError::from_sdk)
    }
}
