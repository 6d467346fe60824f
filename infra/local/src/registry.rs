//! Which code is which function: the cargo binary a template function names, linked in.

use std::collections::BTreeMap;
use std::sync::Arc;

use steward_kit::config::{ConfigError, Env};
use steward_kit::runtime::{Invoke, erase};
use steward_store::SdkConfig;

/// Builds one function as its `main` would, from its environment and the SDK configuration.
pub type FunctionInit =
    Arc<dyn Fn(&Env, &SdkConfig) -> Result<Arc<dyn Invoke>, ConfigError> + Send + Sync>;

/// Functions by cargo binary name (`Metadata.BuildProperties.Binary` in the template).
#[derive(Clone, Default)]
pub struct Registry(BTreeMap<String, FunctionInit>);

impl Registry {
    /// Every function of this repository.
    pub fn steward() -> Self {
        let mut registry = Self::default();
        registry.insert("platform", |env, aws| {
            Ok(erase(steward_platform::init(env, aws)?))
        });
        registry.insert("identity", |env, aws| {
            Ok(erase(steward_identity::init(env, aws)?))
        });
        registry.insert("access", |env, aws| {
            Ok(erase(steward_access_management::init(env, aws)?))
        });
        registry.insert("licensing", |env, aws| {
            Ok(erase(steward_licensing::init(env, aws)?))
        });
        registry.insert("rooms", |env, aws| {
            Ok(erase(steward_rooms::init(env, aws)?))
        });
        registry.insert("terminals", |env, aws| {
            Ok(erase(steward_rooms::terminal::init(env, aws)?))
        });
        registry.insert("release", |env, aws| {
            Ok(erase(steward_rooms::release::init(env, aws)?))
        });
        registry.insert("credentials", |env, aws| {
            Ok(erase(steward_credentials::init_api(env, aws)?))
        });
        registry.insert("credential-sweeps", |env, aws| {
            Ok(erase(steward_credentials::init_sweeps(env, aws)?))
        });
        registry.insert("verifier", |env, aws| {
            Ok(erase(steward_credentials::init_verifier(env, aws)?))
        });
        registry.insert("notifier", |env, aws| {
            Ok(erase(steward_notifier::init_notifier(env, aws)?))
        });
        registry.insert("reminders", |env, aws| {
            Ok(erase(steward_notifier::init_reminders(env, aws)?))
        });
        registry.insert("notifications", |env, aws| {
            Ok(erase(steward_notifier::init_notifications(env, aws)?))
        });
        registry.insert("sweep-schedule", |env, aws| {
            Ok(erase(steward_sweep::init_schedule(env, aws)?))
        });
        registry.insert("sweep-worker", |env, aws| {
            Ok(erase(steward_sweep::init_worker(env, aws)?))
        });
        registry.insert("operations", |env, aws| {
            Ok(erase(steward_sweep::init_operations(env, aws)?))
        });
        registry.insert("authorizer", |env, aws| {
            Ok(erase(steward_authorizer::init(env, aws)?))
        });
        registry
    }

    pub fn insert(
        &mut self,
        binary: &str,
        init: impl Fn(&Env, &SdkConfig) -> Result<Arc<dyn Invoke>, ConfigError> + Send + Sync + 'static,
    ) {
        self.0.insert(binary.to_owned(), Arc::new(init));
    }

    pub fn get(&self, binary: &str) -> Option<&FunctionInit> {
        self.0.get(binary)
    }

    pub fn binaries(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}
