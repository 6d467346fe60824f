//! The identity function: sign-up, sign-in, token refresh and sign-out, and the caller's own
//! profile, password and sessions (SPEC §A).

mod accounts;
mod directory;
mod email_change;
mod emailed;
mod handlers;
mod joining;
mod keys;
mod provisioning;
mod recovery;
mod refresh_cookie;
mod second_factor;
mod service_changes;
mod sign_in;
mod signup;
mod single_sign_on;
mod throttle;

use serde::Deserialize;
use steward_access::Instance;
use steward_domain::identity::tokens::AccessTokens;
use steward_kit::api::HttpFunction;
use steward_kit::config::{ConfigError, Env, Flags};
use steward_store::SdkConfig;
use steward_store::access::AccessStore;
use steward_store::account_mail::AccountMailQueue;
use steward_store::email_change::EmailChangeStore;
use steward_store::identity::IdentityStore;
use steward_store::recovery::RecoveryStore;
use steward_store::signup::SignUpStore;
use steward_store::single_sign_on::SingleSignOnStore;

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

/// Where the API and the web app are (template.yaml's PublicApiUrl and AppBaseUrl): where an
/// identity provider sends the browser back, and where the app takes its sign-in. Empty where
/// they are not set (single sign-on then cannot be configured).
#[derive(Debug, Clone, Deserialize)]
struct AddressesConfig {
    #[serde(default)]
    public_api_url: String,
    #[serde(default)]
    app_base_url: String,
}

/// How long a change the directory asks for can be approved (template.yaml's
/// ChangeRequestTtlSeconds; SPEC §B: 72 hours).
#[derive(Debug, Clone, Deserialize)]
struct ChangeRequestsConfig {
    #[serde(default = "defaults::change_request")]
    change_request_ttl_seconds: i64,
}

/// Where the emails an account needs are queued (template.yaml).
#[derive(Debug, Clone, Deserialize)]
struct QueuesConfig {
    account_mail_queue_url: String,
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
    pub fn change_request() -> i64 {
        72 * 3600
    }
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Identity>, ConfigError> {
    let instance = Instance::new(env, aws)?;
    let flags: Flags = instance.parse()?;
    let limits: LimitsConfig = instance.parse()?;
    let queues: QueuesConfig = instance.parse()?;
    let addresses: AddressesConfig = instance.parse()?;
    let change_requests: ChangeRequestsConfig = instance.parse()?;
    let table = instance.table();
    let keys = Keys::derive(&instance.common.signing_secret);
    let identity = Identity {
        store: IdentityStore::new(table.clone()),
        access: AccessStore::new(table.clone()),
        recovery: RecoveryStore::new(table.clone()),
        signups: SignUpStore::new(table.clone()),
        email_changes: EmailChangeStore::new(table.clone()),
        sso: SingleSignOnStore::new(table.clone()),
        directories: steward_store::directory::DirectoryStore::new(table),
        providers: single_sign_on::provider::Providers::new(),
        public_api_url: addresses.public_api_url.trim_end_matches('/').to_owned(),
        app_base_url: addresses.app_base_url.trim_end_matches('/').to_owned(),
        change_request_ttl_seconds: change_requests.change_request_ttl_seconds,
        account_mail: AccountMailQueue::new(aws, queues.account_mail_queue_url),
        guard: instance.guard()?,
        auditor: instance.auditor(),
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
    instance.keyed_http(identity)
}

steward_kit::binaries! {
    "identity" => init,
}
