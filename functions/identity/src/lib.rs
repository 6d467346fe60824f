//! The identity function: sign-up, sign-in, token refresh and sign-out, and the caller's own
//! profile, password and sessions (SPEC §A).

mod handlers;
mod keys;
mod throttle;

use std::time::Duration;

use serde::Deserialize;
use steward_access::{Auditor, Guard};
use steward_domain::identity::tokens::AccessTokens;
use steward_kit::api::HttpFunction;
use steward_kit::config::{Common, ConfigError, Env, Flags};
use steward_kit::idempotency::Idempotency;
use steward_store::access::AccessStore;
use steward_store::idempotency::IdempotencyStore;
use steward_store::identity::IdentityStore;
use steward_store::{SdkConfig, Table};

pub use handlers::{Identity, KEYED_ROUTES};
pub use keys::Keys;
pub use throttle::Limits;

/// Sign-in throttling, from the environment (defaults in [`Limits`]).
#[derive(Debug, Clone, Deserialize)]
struct LimitsConfig {
    #[serde(default = "defaults::per_account_and_source")]
    login_max_failures_per_account_and_source: u32,
    #[serde(default = "defaults::per_account")]
    login_max_failures_per_account: u32,
    #[serde(default = "defaults::per_source")]
    login_max_failures_per_source: u32,
    #[serde(default = "defaults::window")]
    login_failure_window_seconds: i64,
}

mod defaults {
    pub fn per_account_and_source() -> u32 {
        5
    }
    pub fn per_account() -> u32 {
        100
    }
    pub fn per_source() -> u32 {
        20
    }
    pub fn window() -> i64 {
        900
    }
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Identity>, ConfigError> {
    let common: Common = env.parse()?;
    let flags: Flags = env.parse()?;
    let limits: LimitsConfig = env.parse()?;
    let table = Table::new(aws, &common.table);
    let keys = Keys::derive(&common.signing_secret);
    let store = IdentityStore::new(table.clone());
    let guard = Guard::from_env(env, &table)?;
    let identity = Identity {
        store,
        access: AccessStore::new(table.clone()),
        guard,
        auditor: Auditor::new(&common.signing_secret),
        tokens: AccessTokens::new(&keys.access_token),
        keys,
        auto_provision: flags.auto_provision_enabled,
        limits: Limits {
            per_account_and_source: limits.login_max_failures_per_account_and_source,
            per_account: limits.login_max_failures_per_account,
            per_source: limits.login_max_failures_per_source,
            window_seconds: limits.login_failure_window_seconds,
        },
    };
    let idempotency = Idempotency::new(
        IdempotencyStore::new(table.clone()),
        Duration::from_secs(10),
    );
    HttpFunction::new(common.function_name, identity, common.cors_allowed_origins)
        .with_idempotency(idempotency)
        .with_request_counts(env)?
        .with_recorded_latencies(&table, env)
}
