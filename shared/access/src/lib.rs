//! What every handler of a protected route does around its work (SPEC §B):
//!
//! - [`Guard::allow`]: resolves the caller's roles and the tenant's licence and asks Cedar
//!   (steward-authz) whether the caller holds the route's permission; a deny is logged with the
//!   policy that decided it and answered as a problem naming the missing permission or feature.
//! - [`Auditor::entry`]: the one way to build an audit entry, which the store writes in the
//!   same transaction as the mutation it records.

mod audit;
pub mod deploy_check;
mod guard;
mod instance;
pub mod operators;

pub use audit::{AUDIT_RETENTION_DAYS, Auditor, Record};
pub use guard::{Caller, Guard, deny_to_problem, subject};
pub use instance::Instance;

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

/// The guard's in-process cache of tenants (licence, custom roles): CACHE_ENABLED turns it on,
/// CACHE_TTL_SECONDS (default 5) bounds how late a licence or custom-role change is seen by
/// an instance that cached the tenant. Grants and suspensions live on the user, never cached.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TenantCacheConfig {
    pub cache_enabled: bool,
    #[serde(default = "default_tenant_cache_seconds")]
    pub cache_ttl_seconds: u64,
}

impl TenantCacheConfig {
    /// The cache's lifetime; zero when it is off.
    pub fn ttl(&self) -> std::time::Duration {
        if self.cache_enabled {
            std::time::Duration::from_secs(self.cache_ttl_seconds)
        } else {
            std::time::Duration::ZERO
        }
    }
}

fn default_tenant_cache_seconds() -> u64 {
    5
}

/// A new secret: 32 random bytes, URL-safe base64 (the secret part of a token).
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new identifier: `<prefix>_<UUIDv7>`, so ids sort by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
