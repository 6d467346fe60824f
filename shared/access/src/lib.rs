//! What every handler of a protected route does around its work (SPEC §B):
//!
//! - [`Guard::allow`]: resolves the caller's roles and the tenant's licence and asks Cedar
//!   (steward-authz) whether the caller holds the route's permission; a deny is logged with the
//!   policy that decided it and answered as a problem naming the missing permission or feature.
//! - [`Auditor::entry`]: the one way to build an audit entry, which the store writes in the
//!   same transaction as the mutation it records.

mod audit;
mod guard;
pub mod operators;

pub use audit::{AUDIT_RETENTION_DAYS, Auditor, Record};
pub use guard::{Caller, Guard, deny_to_problem, subject};

/// How long the guard keeps the operators' licensing switches (LICENSING_CONFIG_CACHE_SECONDS,
/// default 30): the bound on how late a stage change or the kill switch takes effect.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LicensingCache {
    #[serde(default = "default_licensing_cache_seconds")]
    pub licensing_config_cache_seconds: u64,
}

fn default_licensing_cache_seconds() -> u64 {
    30
}

/// A new identifier: `<prefix>_<UUIDv7>`, so ids sort by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
