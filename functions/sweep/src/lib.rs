//! The nightly licence sweep (SPEC §F) and the operators' monitoring endpoints.
//!
//! - `sweep-schedule`: EventBridge starts a run nightly ([`start`]), and refreshes the
//!   aggregates ([`views`]) when `MATERIALIZED_VIEW_REFRESH_ENABLED`.
//! - `sweep-worker`: the sweep queue's consumer ([`worker`]): pages of the tenant index fan out
//!   into one message per tenant; each tenant is validated ([`facts`], the pure verdict of
//!   `steward_domain::licensing::sweep`, [`apply`]); the last result finishes the run
//!   ([`report`]).
//! - `operations`: license-health, validate-licenses, run summaries, refresh-views, the
//!   recorded performance metrics and the cache switch ([`operations`]).

pub mod apply;
pub mod facts;
pub mod message;
pub mod operations;
pub mod report;
pub mod schedule;
pub mod start;
pub mod views;
pub mod worker;

use serde::Deserialize;
use steward_access::Auditor;
use steward_kit::config::{Common, ConfigError, Env, Flags};
use steward_kit::sqs::SqsFunction;
use steward_store::access::AccessStore;
use steward_store::identity::IdentityStore;
use steward_store::mail::Mailer;
use steward_store::objects::Bucket;
use steward_store::queue::Queue;
use steward_store::sweep::SweepStore;
use steward_store::{SdkConfig, Table};

/// Where the sweep's messages, reports and emails go (template.yaml).
#[derive(Debug, Clone, Deserialize)]
struct SweepConfig {
    sweep_queue_url: String,
    report_bucket: String,
    notification_sender: String,
    /// The sweep queue's `maxReceiveCount`: the delivery on which a failing message is
    /// recorded as failed before SQS moves it to the dead-letter queue.
    sweep_max_receive_count: u32,
}

/// What every part of the sweep shares, built once per instance.
pub struct Context {
    pub(crate) identity: IdentityStore,
    pub(crate) access: AccessStore,
    pub(crate) sweep: SweepStore,
    pub(crate) onboarding: steward_store::onboarding::OnboardingStore,
    pub(crate) reports: steward_store::reports::ReportStore,
    pub(crate) queue: Queue,
    pub(crate) bucket: Bucket,
    pub(crate) mailer: Mailer,
    pub(crate) auditor: Auditor,
    pub(crate) flags: Flags,
    pub(crate) max_receives: u32,
}

impl Context {
    fn new(env: &Env, aws: &SdkConfig) -> Result<(Self, Common), ConfigError> {
        let common: Common = env.parse()?;
        let flags: Flags = env.parse()?;
        let config: SweepConfig = env.parse()?;
        let table = Table::new(aws, &common.table);
        let context = Self {
            identity: IdentityStore::new(table.clone()),
            access: AccessStore::new(table.clone()),
            onboarding: steward_store::onboarding::OnboardingStore::new(table.clone()),
            reports: steward_store::reports::ReportStore::new(table.clone()),
            sweep: SweepStore::new(table),
            queue: Queue::new(aws, config.sweep_queue_url),
            bucket: Bucket::new(aws, config.report_bucket),
            mailer: Mailer::new(aws, config.notification_sender),
            auditor: Auditor::new(&common.signing_secret),
            flags,
            max_receives: config.sweep_max_receive_count.max(1),
        };
        Ok((context, common))
    }
}

/// Tenants validated at once by one worker instance (each makes about eight DynamoDB calls,
/// most of them waiting on the network): AWS scales out by instances, so one instance's share
/// stays small.
const WORKER_CONCURRENCY: usize = 4;

pub fn init_worker(env: &Env, aws: &SdkConfig) -> Result<SqsFunction<worker::Worker>, ConfigError> {
    let (context, _) = Context::new(env, aws)?;
    Ok(SqsFunction::new(
        worker::Worker { context },
        WORKER_CONCURRENCY,
    ))
}

pub fn init_schedule(env: &Env, aws: &SdkConfig) -> Result<schedule::Nightly, ConfigError> {
    let (context, _) = Context::new(env, aws)?;
    Ok(schedule::Nightly { context })
}

pub fn init_operations(
    env: &Env,
    aws: &SdkConfig,
) -> Result<steward_kit::api::HttpFunction<operations::Operations>, ConfigError> {
    let (context, _) = Context::new(env, aws)?;
    operations::init(context, steward_access::Instance::new(env, aws)?)
}

steward_kit::binaries! {
    "sweep-schedule" => init_schedule,
    "sweep-worker" => init_worker,
    "operations" => init_operations,
}
