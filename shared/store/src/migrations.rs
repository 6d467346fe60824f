//! Migrations of a deployed table's items (docs/runbooks/migrations.md): each idempotent,
//! resumable (run it again), and a page of a consistent scan at a time.

use aws_sdk_dynamodb::types::Update;
use serde::Serialize;

use crate::StoreError;
use crate::accounts::Migrated;
use crate::attributes::s;
use crate::identity::{
    EmailRecord, IdentityStore, TENANT_NAMES, TenantRecord, UserRecord, tenant_name_key,
};
use crate::platform::PLATFORM_TENANT;
use crate::write::{cancelled_by_condition, key, update};

/// What a whole-table migration found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Email items read.
    pub claims: u64,
    /// Accounts made from users written before accounts existed.
    pub made: u64,
    /// Email items that named an account already.
    pub already: u64,
    /// Email items naming a user that is not there (left as they are).
    pub orphans: u64,
    /// Users whose password attributes the contract step removed.
    pub contracted: u64,
    /// Tenants put in the index by name (`gsi2`).
    pub tenants_indexed: u64,
}

impl IdentityStore {
    /// Every migration, in order: customer tenants into the index by name, then every email
    /// item of the table to an account (idempotent: a second run makes nothing), and with
    /// `contract`, the password attributes removed from migrated users and the legacy names
    /// from their email items. Reads the table once per step, a page at a time.
    pub async fn migrate(&self, contract: bool) -> Result<MigrationReport, StoreError> {
        let mut report = MigrationReport {
            tenants_indexed: self.migrate_tenant_names().await?,
            ..MigrationReport::default()
        };
        let mut start = None;
        loop {
            let (claims, next) = self
                .scan_page::<EmailRecord>(
                    "begins_with(pk, :prefix)",
                    &[(":prefix", s("EMAIL#"))],
                    start,
                )
                .await?;
            for claim in claims {
                report.claims += 1;
                match (claim.account_id, claim.tenant_id, claim.user_id) {
                    (Some(_), _, _) => report.already += 1,
                    (None, Some(tenant_id), Some(user_id)) => {
                        match self.migrate_account(&tenant_id, &user_id).await? {
                            Migrated::Made => report.made += 1,
                            Migrated::Already => report.already += 1,
                            Migrated::Orphan => report.orphans += 1,
                        }
                    }
                    (None, _, _) => report.orphans += 1,
                }
            }
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        if !contract {
            return Ok(report);
        }
        let mut start = None;
        loop {
            let (users, next) = self
                .scan_page::<UserRecord>(
                    "begins_with(pk, :tenant) AND begins_with(sk, :user) \
                     AND attribute_exists(password_hash) AND account_id <> :none",
                    &[
                        (":tenant", s("T#")),
                        (":user", s("USER#")),
                        (":none", s("")),
                    ],
                    start,
                )
                .await?;
            for user in users {
                self.contract_account(&user).await?;
                report.contracted += 1;
            }
            match next {
                Some(next) => start = Some(next),
                None => return Ok(report),
            }
        }
    }

    /// Puts every customer tenant (one in the sweeps' index, `gsi1`, and not the platform's)
    /// in the index by name, once.
    pub async fn migrate_tenant_names(&self) -> Result<u64, StoreError> {
        let mut indexed = 0;
        let mut start = None;
        loop {
            let (tenants, next) = self
                .scan_page::<TenantRecord>(
                    "begins_with(pk, :tenant) AND sk = :sk AND attribute_exists(gsi1pk) \
                     AND attribute_not_exists(gsi2pk) AND pk <> :platform",
                    &[
                        (":tenant", s("T#")),
                        (":sk", s("TENANT")),
                        (":platform", s(format!("T#{PLATFORM_TENANT}"))),
                    ],
                    start,
                )
                .await?;
            for tenant in tenants {
                let (pk, sk) = (tenant.pk.clone(), tenant.sk.clone());
                let index = Update::builder()
                    .table_name(self.table().name())
                    .set_key(Some(key(pk, sk)))
                    .update_expression("SET gsi2pk = :names, gsi2sk = :name")
                    .condition_expression("attribute_exists(pk) AND attribute_not_exists(gsi2pk)")
                    .expression_attribute_values(":names", s(TENANT_NAMES))
                    .expression_attribute_values(
                        ":name",
                        s(tenant_name_key(&tenant.name, &tenant.tenant_id)),
                    );
                match self.table().transact(vec![update(index.build())?]).await {
                    Ok(()) => indexed += 1,
                    Err(error) if cancelled_by_condition(&error, 0) => {}
                    Err(error) => return Err(StoreError::from_sdk(error)),
                }
            }
            match next {
                Some(next) => start = Some(next),
                None => return Ok(indexed),
            }
        }
    }

    /// One page of a scan of the whole table, filtered.
    async fn scan_page<T: serde::de::DeserializeOwned>(
        &self,
        filter: &str,
        values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
        start: Option<crate::attributes::Item>,
    ) -> Result<(Vec<T>, Option<crate::attributes::Item>), StoreError> {
        let output = self
            .table()
            .client()
            .scan()
            .table_name(self.table().name())
            .filter_expression(filter)
            .set_expression_attribute_values(Some(crate::write::expression_values(values)))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt {
                    key: "an item of the migration's scan".into(),
                    problem: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok((
            items,
            output.last_evaluated_key.filter(|key| !key.is_empty()),
        ))
    }
}
