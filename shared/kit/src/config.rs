//! Configuration, read once at init from the environment into typed structs. A bad or missing
//! value fails the init with a message that names the variable.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::cors::CorsOrigins;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// A configuration problem found after parsing (a policy file that does not load…).
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The environment a function runs with: the process's in AWS, the template's resolved
/// variables in the local gateway.
#[derive(Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    /// Every variable, to hand to a process (`Command::envs`).
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A typed view of the variables; field `steward_table` reads `STEWARD_TABLE`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        envy::from_iter(self.0.iter().map(|(k, v)| (k.clone(), v.clone()))).map_err(|error| {
            ConfigError(match error {
                envy::Error::MissingValue(field) => format!("{} is not set", field.to_uppercase()),
                envy::Error::Custom(message) => message,
            })
        })
    }
}

impl fmt::Debug for Env {
    // Values may be secrets: list the names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// What every function reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Common {
    #[serde(rename = "aws_lambda_function_name", default = "unnamed_function")]
    pub function_name: String,
    #[serde(rename = "steward_table")]
    pub table: String,
    #[serde(rename = "steward_signing_secret")]
    pub signing_secret: Secret,
    #[serde(rename = "cors_allowed_origins", default)]
    pub cors_allowed_origins: CorsOrigins,
}

fn unnamed_function() -> String {
    "unnamed".to_owned()
}

pub use steward_domain::licensing::RolloutStage;

/// The flags of SPEC §F, each a template parameter passed through under its own name.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Flags {
    pub licensing_rollout_stage: RolloutStage,
    pub licensing_enforcement_enabled: bool,
    pub auto_provision_enabled: bool,
    pub onboarding_wizard_enabled: bool,
    pub materialized_view_refresh_enabled: bool,
    pub cache_enabled: bool,
    pub performance_metrics_enabled: bool,
    pub monitoring_alerts_enabled: bool,
    pub license_validation_enabled: bool,
    pub self_healing_enabled: bool,
}

impl Flags {
    /// The licensing switches the template sets; an operator's configuration item overrides
    /// them at run time (steward-access's guard).
    pub fn rollout(&self) -> steward_domain::licensing::Rollout {
        steward_domain::licensing::Rollout {
            stage: self.licensing_rollout_stage,
            enforcement_enabled: self.licensing_enforcement_enabled,
            early_adopter_percent:
                steward_domain::licensing::Rollout::DEFAULT_EARLY_ADOPTER_PERCENT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(overrides: &[(&str, &str)]) -> Env {
        let mut env = Env::from_pairs([
            ("LICENSING_ROLLOUT_STAGE", "pilot"),
            ("LICENSING_ENFORCEMENT_ENABLED", "true"),
            ("AUTO_PROVISION_ENABLED", "true"),
            ("ONBOARDING_WIZARD_ENABLED", "false"),
            ("MATERIALIZED_VIEW_REFRESH_ENABLED", "true"),
            ("CACHE_ENABLED", "true"),
            ("PERFORMANCE_METRICS_ENABLED", "true"),
            ("MONITORING_ALERTS_ENABLED", "true"),
            ("LICENSE_VALIDATION_ENABLED", "true"),
            ("SELF_HEALING_ENABLED", "false"),
        ]);
        for (name, value) in overrides {
            env.set(*name, *value);
        }
        env
    }

    #[test]
    fn flags_parse_and_bad_values_name_the_variable() {
        let parsed: Flags = flags(&[]).parse().unwrap();
        assert_eq!(parsed.licensing_rollout_stage, RolloutStage::Pilot);
        assert!(!parsed.onboarding_wizard_enabled);
        let error = flags(&[("LICENSING_ROLLOUT_STAGE", "everyone")])
            .parse::<Flags>()
            .unwrap_err()
            .to_string();
        assert!(error.contains("everyone"), "{error}");
        let error = flags(&[("CACHE_ENABLED", "yes")])
            .parse::<Flags>()
            .unwrap_err()
            .to_string();
        assert!(error.contains("yes"), "{error}");
    }

    #[test]
    fn missing_values_are_named_in_upper_case() {
        let error = Env::default().parse::<Common>().unwrap_err().to_string();
        assert!(error.contains("STEWARD_TABLE"), "{error}");
    }

    #[test]
    fn debug_never_prints_values() {
        let env = Env::from_pairs([("STEWARD_SIGNING_SECRET", "hunter2-hunter2")]);
        assert!(!format!("{env:?}").contains("hunter2"));
    }
}
