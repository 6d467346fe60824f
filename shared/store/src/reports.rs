//! A tenant's reports (SPEC §C utilisation), computed by the views' refresh and read as they
//! were stored: `T#<tenant>`/`VIEW#UTILISATION`.

use serde::{Deserialize, Serialize};
use steward_domain::booking::utilisation::UtilisationReport;

use crate::write::tenant_pk;
use crate::{StoreError, Table};

const UTILISATION: &str = "VIEW#UTILISATION";

/// The utilisation as last computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUtilisation {
    pub computed_at: String,
    pub utilisation: UtilisationReport,
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    pk: String,
    sk: String,
    #[serde(flatten)]
    stored: StoredUtilisation,
}

#[derive(Clone, Debug)]
pub struct ReportStore {
    table: Table,
}

impl ReportStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn save_utilisation(
        &self,
        tenant_id: &str,
        stored: &StoredUtilisation,
    ) -> Result<(), StoreError> {
        self.table
            .put(&Item {
                pk: tenant_pk(tenant_id),
                sk: UTILISATION.into(),
                stored: stored.clone(),
            })
            .await
    }

    pub async fn utilisation(
        &self,
        tenant_id: &str,
    ) -> Result<Option<StoredUtilisation>, StoreError> {
        let item: Option<Item> = self
            .table
            .get(tenant_pk(tenant_id), UTILISATION.into(), false)
            .await?;
        Ok(item.map(|item| item.stored))
    }
}
