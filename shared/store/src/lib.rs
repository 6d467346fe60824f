//! Storage adapters: every `aws_sdk_*` call of Steward lives in this crate, so the domain and the
//! handlers know nothing of AWS, and the emulator tests exercise exactly the calls AWS will see.

pub mod access;
pub mod account_mail;
pub mod accounts;
mod attributes;
pub mod audit;
pub mod backoff;
pub mod bookings;
pub mod credentials;
#[cfg(feature = "deploy")]
pub mod deploy;
pub mod directory;
pub mod email_change;
mod error;
pub mod feeds;
pub mod idempotency;
pub mod identity;
pub mod ledger;
pub mod licensing;
#[cfg(feature = "ses")]
pub mod mail;
pub mod metrics;
pub mod migrations;
pub mod notices;
#[cfg(feature = "s3")]
pub mod objects;
pub mod onboarding;
pub mod platform;
pub mod preconditions;
#[cfg(feature = "provision")]
pub mod provision;
#[cfg(feature = "sqs")]
pub mod queue;
pub mod recovery;
pub mod reports;
pub mod requests;
pub mod rooms;
pub mod second_factor;
pub mod signup;
pub mod single_sign_on;
pub mod sweep;
mod table;
pub mod terminals;
mod write;

pub use error::StoreError;
pub use table::{Index, PageKey, Query, Table};

pub use aws_config::SdkConfig;

/// The SDK configuration from the environment, loaded once at init and shared by every client,
/// with [`timeouts`].
///
/// Locally `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_DYNAMODB`) point it at the emulator.
pub async fn load_aws_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await
}

/// How long a call to AWS may take: a try 2.5 s, a call with the SDK's own retries 5 s, a new
/// connection 1 s. A store that stops answering is then a 503 with Retry-After well inside a
/// function's 10 s timeout, instead of an invocation run out (which answers nothing useful and
/// leaves an idempotency key held). DynamoDB answers in milliseconds; these bound only a fault.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_millis(2_500))
        .operation_timeout(std::time::Duration::from_secs(5))
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
}
