//! Which tenants licence enforcement applies to (SPEC §F): the rollout stage, the kill switch,
//! and each tenant's cohort.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Licensing rollout stages, widening from nobody to everybody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStage {
    Disabled,
    InternalTesting,
    Pilot,
    EarlyAdopters,
    GeneralAvailability,
}

/// A tenant's place in the rollout, set by operators: Steward's own tenants, and pilots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cohort {
    Internal,
    Pilot,
}

/// The licensing switches in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub stage: RolloutStage,
    /// The kill switch: off, no tenant is enforced whatever the stage.
    pub enforcement_enabled: bool,
    /// At `early_adopters`, the share of other tenants enforced (0–100), by a stable hash.
    #[serde(default = "default_early_adopter_percent")]
    pub early_adopter_percent: u8,
}

fn default_early_adopter_percent() -> u8 {
    Rollout::DEFAULT_EARLY_ADOPTER_PERCENT
}

impl Rollout {
    pub const DEFAULT_EARLY_ADOPTER_PERCENT: u8 = 25;

    /// Whether the licence of `tenant_id`, in `cohort`, is enforced.
    pub fn enforces(&self, tenant_id: &str, cohort: Option<Cohort>) -> bool {
        if !self.enforcement_enabled {
            return false;
        }
        let pilot_or_internal = matches!(cohort, Some(Cohort::Internal | Cohort::Pilot));
        match self.stage {
            RolloutStage::Disabled => false,
            RolloutStage::InternalTesting => cohort == Some(Cohort::Internal),
            RolloutStage::Pilot => pilot_or_internal,
            RolloutStage::EarlyAdopters => {
                pilot_or_internal || bucket(tenant_id) < self.early_adopter_percent.min(100)
            }
            RolloutStage::GeneralAvailability => true,
        }
    }
}

/// A stable bucket 0..100 for a tenant: the same on every instance and every deploy, so a
/// tenant never flips in and out of the early adopters.
pub fn bucket(tenant_id: &str) -> u8 {
    let digest = Sha256::digest(tenant_id.as_bytes());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 has 32 bytes"));
    (head % 100) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(stage: RolloutStage) -> Rollout {
        Rollout {
            stage,
            enforcement_enabled: true,
            early_adopter_percent: 25,
        }
    }

    #[test]
    fn each_stage_widens_the_last_and_the_kill_switch_stops_all() {
        use RolloutStage as S;
        let cohorts = [None, Some(Cohort::Pilot), Some(Cohort::Internal)];
        let tenants: Vec<String> = (0..400).map(|i| format!("tnt_{i}")).collect();
        let enforced = |stage| {
            tenants
                .iter()
                .flat_map(|t| cohorts.map(|c| (t.clone(), c)))
                .filter(|(t, c)| rollout(stage).enforces(t, *c))
                .count()
        };
        let counts = [
            S::Disabled,
            S::InternalTesting,
            S::Pilot,
            S::EarlyAdopters,
            S::GeneralAvailability,
        ]
        .map(enforced);
        assert_eq!(counts[0], 0);
        assert_eq!(counts[1], 400);
        assert_eq!(counts[2], 800);
        assert!(counts[3] > 800 && counts[3] < 1200, "{counts:?}");
        assert_eq!(counts[4], 1200);
        let off = Rollout {
            enforcement_enabled: false,
            ..rollout(S::GeneralAvailability)
        };
        assert!(!off.enforces("tnt_1", Some(Cohort::Internal)));
    }

    #[test]
    fn early_adopters_are_a_stable_share_by_hash() {
        let share = (0..10_000)
            .filter(|i| rollout(RolloutStage::EarlyAdopters).enforces(&format!("tnt_{i}"), None))
            .count();
        assert!((2_300..2_700).contains(&share), "{share}");
        assert_eq!(bucket("tnt_42"), bucket("tnt_42"));
        let none = Rollout {
            early_adopter_percent: 0,
            ..rollout(RolloutStage::EarlyAdopters)
        };
        assert!(!none.enforces("tnt_42", None));
    }
}
