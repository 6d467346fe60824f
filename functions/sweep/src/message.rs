//! What travels on the sweep queue: a page of the tenant index to fan out, a tenant to
//! validate, a run to finish; a page of the tenant index whose views to recompute, and a
//! tenant's utilisation or onboarding checklist to recompute. Each is safe to receive
//! twice.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SweepMessage {
    /// Enqueue the tenants of one shard after `after` (from the start when `None`).
    Page {
        run_id: String,
        shard: u8,
        after: Option<String>,
    },
    /// Validate one tenant. The run's instant and self-healing switch travel with it, so a
    /// worker needs no read of the run.
    Tenant {
        run_id: String,
        shard: u8,
        tenant_id: String,
        as_of: i64,
        self_healing: bool,
    },
    /// Every tenant of the run is counted: write the report.
    Finish { run_id: String },
    /// Queue the views' recomputations for the tenants of one shard after `after` (from the
    /// start when `None`): utilisation for those licensed for `reports`, and, with
    /// `onboarding`, every tenant's checklist; then the next page.
    ViewsPage {
        shard: u8,
        after: Option<String>,
        at: i64,
        onboarding: bool,
    },
    /// Recompute one tenant's room utilisation as of `at` (Unix seconds, the refresh's).
    Utilisation { tenant_id: String, at: i64 },
    /// Recompute one tenant's onboarding checklist for the views, as of `at` (the refresh's).
    Onboarding { tenant_id: String, at: i64 },
}

impl SweepMessage {
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a sweep message serialises")
    }

    /// The licence sweep's run the message belongs to (`None`: a views' refresh).
    pub fn run_id(&self) -> Option<&str> {
        match self {
            Self::Page { run_id, .. } | Self::Tenant { run_id, .. } | Self::Finish { run_id } => {
                Some(run_id)
            }
            Self::ViewsPage { .. } | Self::Utilisation { .. } | Self::Onboarding { .. } => None,
        }
    }
}
