//! Which code is which function: the cargo binary a template function names, linked in.

use std::collections::BTreeMap;
use std::sync::Arc;

use steward_kit::config::{ConfigError, Env};
use steward_kit::runtime::Invoke;
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
        let crates = [
            steward_platform::BINARIES,
            steward_authorizer::BINARIES,
            steward_identity::BINARIES,
            steward_access_management::BINARIES,
            steward_licensing::BINARIES,
            steward_rooms::BINARIES,
            steward_terminals::BINARIES,
            steward_credentials::BINARIES,
            steward_notifier::BINARIES,
            steward_sweep::BINARIES,
            steward_deploy_check::BINARIES,
            steward_account_mail::BINARIES,
        ];
        for binary in crates.into_iter().flatten() {
            registry.insert(binary.name, binary.init);
        }
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
