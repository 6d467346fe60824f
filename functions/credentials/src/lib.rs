//! Provider credentials (SPEC §E). So far: the verifier, which S3's "object created" events
//! reach through `UploadsQueue` ([`verify`]).

mod verify;

use serde::Deserialize;
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::sqs::SqsFunction;
use steward_store::credentials::CredentialStore;
use steward_store::objects::Bucket;
use steward_store::{SdkConfig, Table};

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
