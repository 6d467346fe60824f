//! Provider credentials (SPEC §E). So far: the API for credential types and a provider's
//! credentials ([`api`]), and the verifier, which S3's "object created" events reach through
//! `UploadsQueue` ([`verify`]).

mod api;
mod sweeps;
mod verify;

use serde::Deserialize;
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::sqs::SqsFunction;
use steward_store::credentials::CredentialStore;
use steward_store::objects::Bucket;
use steward_store::{SdkConfig, Table};

pub use api::CredentialsApi;
pub use sweeps::CredentialSweeps;
pub use verify::Verifier;

/// Records verified at once: each reads its object whole (at most 25 MiB).
const VERIFIER_CONCURRENCY: usize = 4;

/// Where credential files are (template.yaml).
#[derive(Debug, Clone, Deserialize)]
struct BucketConfig {
    credential_bucket: String,
}

pub fn init_verifier(env: &Env, aws: &SdkConfig) -> Result<SqsFunction<Verifier>, ConfigError> {
    let common: Common = env.parse()?;
    let bucket: BucketConfig = env.parse()?;
    let table = Table::new(aws, &common.table);
    Ok(SqsFunction::new(
        Verifier {
            credentials: CredentialStore::new(table),
            bucket: Bucket::new(aws, bucket.credential_bucket),
        },
        VERIFIER_CONCURRENCY,
    ))
}

pub fn init_api(
    env: &Env,
    aws: &SdkConfig,
) -> Result<steward_kit::api::HttpFunction<CredentialsApi>, ConfigError> {
    let instance = steward_access::Instance::new(env, aws)?;
    let bucket: BucketConfig = instance.parse()?;
    let api = CredentialsApi {
        guard: instance.guard()?,
        store: CredentialStore::new(instance.table()),
        bucket: Bucket::new(aws, bucket.credential_bucket),
        auditor: instance.auditor(),
        identity: steward_store::identity::IdentityStore::new(instance.table()),
    };
    instance.http(api)
}

/// Who sends the sweeps' emails (template.yaml).
#[derive(Debug, Clone, Deserialize)]
struct MailConfig {
    notification_sender: String,
}

pub fn init_sweeps(env: &Env, aws: &SdkConfig) -> Result<CredentialSweeps, ConfigError> {
    let common: Common = env.parse()?;
    let mail: MailConfig = env.parse()?;
    let table = Table::new(aws, &common.table);
    Ok(CredentialSweeps {
        store: CredentialStore::new(table.clone()),
        identity: steward_store::identity::IdentityStore::new(table.clone()),
        guard: steward_access::Guard::from_env(env, &table)?,
        mailer: steward_store::mail::Mailer::new(aws, mail.notification_sender),
    })
}

steward_kit::binaries! {
    "credentials" => init_api,
    "credential-sweeps" => init_sweeps,
    "verifier" => init_verifier,
}
