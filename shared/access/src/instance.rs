//! What an instance of any function builds once at init, in one place: its configuration, the
//! table client, and from them the shared pieces handlers use (guard, auditor, cursors,
//! idempotency) and the HTTP function around them. A function's `init` adds only its own
//! stores and settings.

use std::time::Duration;

use serde::de::DeserializeOwned;
use steward_kit::api::{Api, HttpFunction, Replayable};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::idempotency::Idempotency;
use steward_kit::pagination::Cursors;
use steward_store::idempotency::IdempotencyStore;
use steward_store::{SdkConfig, Table};

use crate::{Auditor, Guard};

/// How long a keyed request's run holds its key before another may take it over.
const IDEMPOTENCY_LEASE: Duration = Duration::from_secs(10);

/// One instance's configuration and clients, as its `init` builds them.
pub struct Instance<'a> {
    pub env: &'a Env,
    pub aws: &'a SdkConfig,
    pub common: Common,
    table: Table,
}

impl<'a> Instance<'a> {
    pub fn new(env: &'a Env, aws: &'a SdkConfig) -> Result<Self, ConfigError> {
        let common: Common = env.parse()?;
        let table = Table::new(aws, &common.table);
        Ok(Self {
            env,
            aws,
            common,
            table,
        })
    }

    /// The table's client, for a store (`RoomStore::new(instance.table())`).
    pub fn table(&self) -> Table {
        self.table.clone()
    }

    /// A part of the function's own configuration, from its environment.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.env.parse()
    }

    pub fn guard(&self) -> Result<Guard, ConfigError> {
        Guard::from_env(self.env, &self.table)
    }

    pub fn auditor(&self) -> Auditor {
        Auditor::new(&self.common.signing_secret)
    }

    pub fn cursors(&self) -> Cursors {
        Cursors::new(&self.common.signing_secret)
    }

    /// A key derived from the signing secret for one purpose (`booking-pin`, …).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        self.common.signing_secret.derive(purpose)
    }

    /// The HTTP function answering with `api`: request counts exposed and latencies recorded
    /// as the environment says.
    pub fn http<A: Api>(self, api: A) -> Result<HttpFunction<A>, ConfigError> {
        self.finish(api, |function| function)
    }

    /// [`Self::http`], honouring `Idempotency-Key` on signed-in POSTs.
    pub fn keyed_http<A: Api + Replayable>(self, api: A) -> Result<HttpFunction<A>, ConfigError> {
        let idempotency = Idempotency::new(IdempotencyStore::new(self.table()), IDEMPOTENCY_LEASE);
        self.finish(api, |function| function.with_idempotency(idempotency))
    }

    fn finish<A: Api>(
        self,
        api: A,
        with: impl FnOnce(HttpFunction<A>) -> HttpFunction<A>,
    ) -> Result<HttpFunction<A>, ConfigError> {
        let (name, cors) = (self.common.function_name, self.common.cors_allowed_origins);
        with(HttpFunction::new(name, api, cors))
            .with_request_counts(self.env)?
            .with_edge(self.env)?
            .with_recorded_latencies(&self.table, self.env)
    }
}
