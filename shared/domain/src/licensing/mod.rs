//! Licensing (SPEC §F): what each offering includes and the limits a licence counts against,
//! and which tenants enforcement applies to ([`rollout`]).

pub mod rollout;
pub mod sweep;

pub use rollout::{Cohort, Rollout, RolloutStage};

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use steward_authz::Feature;

/// The tiers Steward sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offering {
    Trial,
    Essential,
    Professional,
    Enterprise,
}

/// How many of each thing a licence allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub seats: u32,
    pub rooms: u32,
    pub terminals: u32,
}

/// What an offering includes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub offering: Offering,
    pub limits: Limits,
    pub features: BTreeSet<Feature>,
    /// Days a lapsed licence keeps working (status `grace`) before it is suspended.
    pub grace_days: u32,
}

impl Offering {
    pub const ALL: [Self; 4] = [
        Self::Trial,
        Self::Essential,
        Self::Professional,
        Self::Enterprise,
    ];

    /// The wire name (`trial`, `essential`...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::Essential => "essential",
            Self::Professional => "professional",
            Self::Enterprise => "enterprise",
        }
    }

    /// The days a trial lasts.
    pub const TRIAL_DAYS: i64 = 30;

    pub fn terms(self) -> Terms {
        use Feature as F;
        let (seats, rooms, terminals, features, grace_days): (u32, u32, u32, &[Feature], u32) =
            match self {
                // A trial shows everything, at a small scale, and stops at its end.
                Self::Trial => (10, 5, 2, Feature::ALL, 0),
                Self::Essential => (25, 10, 2, &[F::IcalFeeds], 14),
                Self::Professional => (
                    100,
                    50,
                    25,
                    &[
                        F::RecurringBookings,
                        F::Terminals,
                        F::IcalFeeds,
                        F::CsvImport,
                        F::Reports,
                        F::Sso,
                    ],
                    30,
                ),
                Self::Enterprise => (10_000, 2_000, 1_000, Feature::ALL, 30),
            };
        Terms {
            offering: self,
            limits: Limits {
                seats,
                rooms,
                terminals,
            },
            features: features.iter().copied().collect(),
            grace_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_grow_and_the_trial_shows_every_feature() {
        let terms: Vec<Terms> = Offering::ALL.iter().map(|o| o.terms()).collect();
        assert_eq!(terms[0].features.len(), Feature::ALL.len());
        for pair in terms[1..].windows(2) {
            assert!(pair[0].limits.seats < pair[1].limits.seats);
            assert!(pair[0].features.is_subset(&pair[1].features));
        }
        assert_eq!(
            serde_json::to_string(&Offering::Professional).unwrap(),
            "\"professional\""
        );
    }
}
