//! What the nightly licence sweep decides for one tenant (SPEC §F), as a pure function of the
//! tenant's facts and the time: its issues, its health score, the status transition due, the
//! expiry notices due (each sent once), and the safe fixes self-healing may apply.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use steward_authz::LicenceStatus;

use super::{Limits, Offering};

const DAY: i64 = 86_400;

/// How many partitions the tenant index is spread over: the coordinator pages them in
/// parallel, and a sweep's progress counters are kept per shard, so no single DynamoDB item or
/// partition takes every tenant's write (docs/architecture.md, the 1M-tenant estimate).
pub const TENANT_SHARDS: u8 = 16;

/// The tenant's shard, stable across deploys (a different slice of the digest from the
/// rollout bucket, so the two do not correlate).
pub fn shard_of(tenant_id: &str) -> u8 {
    let digest = Sha256::digest(tenant_id.as_bytes());
    let slice = u64::from_be_bytes(digest[8..16].try_into().expect("a SHA-256 has 32 bytes"));
    (slice % u64::from(TENANT_SHARDS)) as u8
}

/// Days before expiry at which a notice goes out.
pub const NOTICE_DAYS: [u32; 3] = [30, 7, 1];

/// A tenant as the sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantFacts {
    pub status: LicenceStatus,
    /// Unix seconds; `None` for a licence without an end.
    pub expires_at: Option<i64>,
    pub grace_days: u32,
    pub limits: Limits,
    /// The counters kept by conditional updates.
    pub seats_used: u32,
    /// What a recount finds: active and suspended members, and invitations still pending
    /// and unexpired.
    pub members: u32,
    pub pending_invitations: u32,
    /// Invitations past their expiry that still hold a seat.
    pub expired_invitations: u32,
    pub rooms: u32,
    pub terminals: u32,
    /// Active members holding the owner or admin role.
    pub admins: u32,
    /// Grants of custom roles the tenant no longer has, as (user, role).
    pub orphan_grants: Vec<(String, String)>,
    /// Custom roles granting a permission whose feature the licence lacks.
    pub roles_beyond_licence: Vec<String>,
    /// Notices already sent for the current expiry, by days before it.
    pub notices_sent: BTreeSet<u32>,
}

/// Something wrong with a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Issue {
    /// The licence has ended and the tenant is now in grace or suspended.
    LicenceLapsed {
        status: LicenceStatus,
    },
    /// Members and pending invitations exceed the seat limit.
    SeatsOverAllocated {
        used: u32,
        allowed: u32,
    },
    RoomsOverAllocated {
        used: u32,
        allowed: u32,
    },
    TerminalsOverAllocated {
        used: u32,
        allowed: u32,
    },
    /// The seat counter disagrees with a recount (a lost update, or expired invitations).
    SeatCountDrift {
        counted: u32,
        actual: u32,
    },
    NoAdmin,
    OrphanGrants {
        count: usize,
    },
    RolesBeyondLicence {
        roles: Vec<String>,
    },
}

impl Issue {
    /// The issue's kind as reports count it (`seats_over_allocated`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LicenceLapsed { .. } => "licence_lapsed",
            Self::SeatsOverAllocated { .. } => "seats_over_allocated",
            Self::RoomsOverAllocated { .. } => "rooms_over_allocated",
            Self::TerminalsOverAllocated { .. } => "terminals_over_allocated",
            Self::SeatCountDrift { .. } => "seat_count_drift",
            Self::NoAdmin => "no_admin",
            Self::OrphanGrants { .. } => "orphan_grants",
            Self::RolesBeyondLicence { .. } => "roles_beyond_licence",
        }
    }

    /// How much the issue takes off the health score.
    fn weight(&self) -> u8 {
        match self {
            Self::LicenceLapsed {
                status: LicenceStatus::Grace,
            } => 30,
            Self::LicenceLapsed { .. } => 60,
            Self::NoAdmin => 30,
            Self::SeatsOverAllocated { .. }
            | Self::RoomsOverAllocated { .. }
            | Self::TerminalsOverAllocated { .. } => 20,
            Self::SeatCountDrift { .. } | Self::OrphanGrants { .. } => 10,
            Self::RolesBeyondLicence { .. } => 10,
        }
    }
}

/// A safe fix self-healing may apply (SPEC §F), each audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// Mark invitations past their expiry `expired`, releasing the seats they hold; the seat
    /// recount already leaves them out.
    ExpireInvitations { count: u32 },
    /// Set the seat counter to the recount.
    RecountSeats { to: u32 },
    /// Revoke grants of roles that no longer exist.
    RevokeOrphanGrants { grants: Vec<(String, String)> },
}

/// The sweep's verdict on one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// 0–100; above 90 is healthy.
    pub health_score: u8,
    pub issues: Vec<Issue>,
    /// The status the licence moves to now, if it moves.
    pub transition: Option<LicenceStatus>,
    /// Notices due now (days before expiry), not sent before.
    pub notices: Vec<u32>,
    pub fixes: Vec<Fix>,
}

impl Fix {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ExpireInvitations { .. } => "expire_invitations",
            Self::RecountSeats { .. } => "recount_seats",
            Self::RevokeOrphanGrants { .. } => "revoke_orphan_grants",
        }
    }
}

impl Assessment {
    pub const HEALTHY_ABOVE: u8 = 90;

    pub fn is_healthy(&self) -> bool {
        self.health_score > Self::HEALTHY_ABOVE
    }
}

/// The status a licence should have at `now`: trials end at expiry; paid licences run into
/// `grace` for their grace days, then are `suspended`.
pub fn status_at(
    status: LicenceStatus,
    expires_at: Option<i64>,
    grace_days: u32,
    now: i64,
) -> LicenceStatus {
    use LicenceStatus as S;
    let Some(expires_at) = expires_at else {
        return status;
    };
    match status {
        S::Trial if now >= expires_at => S::Suspended,
        S::Active | S::Grace if now >= expires_at + i64::from(grace_days) * DAY => S::Suspended,
        S::Active if now >= expires_at => S::Grace,
        other => other,
    }
}

/// The sweep's verdict on `facts` at `now`.
pub fn assess(facts: &TenantFacts, now: i64) -> Assessment {
    let status = status_at(facts.status, facts.expires_at, facts.grace_days, now);
    let transition = (status != facts.status).then_some(status);

    let mut issues = Vec::new();
    if matches!(status, LicenceStatus::Grace | LicenceStatus::Suspended) {
        issues.push(Issue::LicenceLapsed { status });
    }
    let seats = facts.members + facts.pending_invitations;
    let limits = facts.limits;
    if seats > limits.seats {
        issues.push(Issue::SeatsOverAllocated {
            used: seats,
            allowed: limits.seats,
        });
    }
    if facts.rooms > limits.rooms {
        issues.push(Issue::RoomsOverAllocated {
            used: facts.rooms,
            allowed: limits.rooms,
        });
    }
    if facts.terminals > limits.terminals {
        issues.push(Issue::TerminalsOverAllocated {
            used: facts.terminals,
            allowed: limits.terminals,
        });
    }
    let mut fixes = Vec::new();
    if facts.expired_invitations > 0 {
        fixes.push(Fix::ExpireInvitations {
            count: facts.expired_invitations,
        });
    }
    if facts.seats_used != seats {
        issues.push(Issue::SeatCountDrift {
            counted: facts.seats_used,
            actual: seats,
        });
        fixes.push(Fix::RecountSeats { to: seats });
    }
    if facts.admins == 0 {
        issues.push(Issue::NoAdmin);
    }
    if !facts.orphan_grants.is_empty() {
        issues.push(Issue::OrphanGrants {
            count: facts.orphan_grants.len(),
        });
        fixes.push(Fix::RevokeOrphanGrants {
            grants: facts.orphan_grants.clone(),
        });
    }
    if !facts.roles_beyond_licence.is_empty() {
        issues.push(Issue::RolesBeyondLicence {
            roles: facts.roles_beyond_licence.clone(),
        });
    }

    let penalty: u32 = issues.iter().map(|i| u32::from(i.weight())).sum();
    let health_score = 100u32.saturating_sub(penalty) as u8;

    // Notices go out for a licence still running; each threshold once per expiry.
    let notices = match (status, facts.expires_at) {
        (LicenceStatus::Trial | LicenceStatus::Active, Some(expires_at)) if now < expires_at => {
            NOTICE_DAYS
                .into_iter()
                .filter(|&days| now >= expires_at - i64::from(days) * DAY)
                .filter(|days| !facts.notices_sent.contains(days))
                .collect()
        }
        _ => Vec::new(),
    };
    Assessment {
        health_score,
        issues,
        transition,
        notices,
        fixes,
    }
}

/// What the sweep did with one tenant, as its result records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Assessed {
        offering: Option<Offering>,
        /// The status after the sweep's transition.
        status: LicenceStatus,
        seats_used: u32,
        seats_allowed: u32,
        assessment: Assessment,
        /// Whether the fixes were applied (self-healing on) or only reported.
        fixes_applied: bool,
    },
    /// Processing kept failing until the message reached the dead-letter queue.
    Failed { error: String },
}

/// A run's totals, summed from its tenants' outcomes (the report's summary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub tenants: u64,
    pub healthy: u64,
    pub unhealthy: u64,
    pub failed: u64,
    pub fixes_applied: u64,
    pub fixes_proposed: u64,
    pub notices_sent: u64,
    /// The assessed tenants' health scores summed (absent from runs before it was kept).
    #[serde(default)]
    pub health_score_total: Option<u64>,
    pub transitions: BTreeMap<String, u64>,
    pub issues: BTreeMap<String, u64>,
    pub fixes: BTreeMap<String, u64>,
    /// Licence utilisation per offering: seats used over seats allowed.
    pub utilisation: BTreeMap<String, Utilisation>,
}

/// Seat utilisation of the tenants on one offering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Utilisation {
    pub tenants: u64,
    pub seats_used: u64,
    pub seats_allowed: u64,
    /// Tenants using 60–90 % of their seats: the healthy band of the rollout plan.
    pub in_healthy_band: u64,
}

impl Utilisation {
    pub const HEALTHY_BAND: std::ops::RangeInclusive<f64> = 0.6..=0.9;

    /// Counts one tenant using `seats_used` of `seats_allowed`.
    pub fn add(&mut self, seats_used: u32, seats_allowed: u32) {
        self.tenants += 1;
        self.seats_used += u64::from(seats_used);
        self.seats_allowed += u64::from(seats_allowed);
        if seats_allowed > 0
            && Self::HEALTHY_BAND.contains(&(f64::from(seats_used) / f64::from(seats_allowed)))
        {
            self.in_healthy_band += 1;
        }
    }

    /// Seats used over seats allowed, 0 when nothing is allowed.
    pub fn ratio(&self) -> f64 {
        if self.seats_allowed == 0 {
            0.0
        } else {
            self.seats_used as f64 / self.seats_allowed as f64
        }
    }
}

impl Tally {
    /// The assessed tenants' mean health score (0–100), if any was assessed.
    pub fn average_health_score(&self) -> Option<f64> {
        let assessed = self.healthy + self.unhealthy;
        let total = self.health_score_total?;
        (assessed > 0).then(|| total as f64 / assessed as f64)
    }

    pub fn add(&mut self, outcome: &Outcome) {
        self.tenants += 1;
        let Outcome::Assessed {
            offering,
            status,
            seats_used,
            seats_allowed,
            assessment,
            fixes_applied,
        } = outcome
        else {
            self.failed += 1;
            return;
        };
        *self.health_score_total.get_or_insert(0) += u64::from(assessment.health_score);
        if assessment.is_healthy() {
            self.healthy += 1;
        } else {
            self.unhealthy += 1;
        }
        let fixes = assessment.fixes.len() as u64;
        if *fixes_applied {
            self.fixes_applied += fixes;
        } else {
            self.fixes_proposed += fixes;
        }
        self.notices_sent += assessment.notices.len() as u64;
        if assessment.transition.is_some() {
            *self.transitions.entry(status.to_string()).or_default() += 1;
        }
        for issue in &assessment.issues {
            *self.issues.entry(issue.kind().to_owned()).or_default() += 1;
        }
        for fix in &assessment.fixes {
            *self.fixes.entry(fix.kind().to_owned()).or_default() += 1;
        }
        let tier = offering.map_or("none", Offering::as_str).to_owned();
        self.utilisation
            .entry(tier)
            .or_default()
            .add(*seats_used, *seats_allowed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn healthy() -> TenantFacts {
        TenantFacts {
            status: LicenceStatus::Active,
            expires_at: Some(NOW + 100 * DAY),
            grace_days: 14,
            limits: Limits {
                seats: 10,
                rooms: 5,
                terminals: 2,
            },
            seats_used: 4,
            members: 3,
            pending_invitations: 1,
            expired_invitations: 0,
            rooms: 5,
            terminals: 0,
            admins: 1,
            orphan_grants: Vec::new(),
            roles_beyond_licence: Vec::new(),
            notices_sent: BTreeSet::new(),
        }
    }

    #[test]
    fn a_healthy_tenant_scores_100_with_nothing_to_do() {
        let verdict = assess(&healthy(), NOW);
        assert_eq!(verdict.health_score, 100);
        assert!(verdict.is_healthy());
        assert_eq!(
            (
                verdict.issues.len(),
                verdict.transition,
                verdict.notices.len(),
                verdict.fixes.len()
            ),
            (0, None, 0, 0)
        );
    }

    #[test]
    fn licences_run_into_grace_then_suspension_and_trials_stop_at_expiry() {
        use LicenceStatus as S;
        let expiry = Some(NOW);
        assert_eq!(status_at(S::Active, expiry, 14, NOW - 1), S::Active);
        assert_eq!(status_at(S::Active, expiry, 14, NOW), S::Grace);
        assert_eq!(
            status_at(S::Grace, expiry, 14, NOW + 14 * DAY - 1),
            S::Grace
        );
        assert_eq!(
            status_at(S::Grace, expiry, 14, NOW + 14 * DAY),
            S::Suspended
        );
        assert_eq!(
            status_at(S::Active, expiry, 14, NOW + 20 * DAY),
            S::Suspended
        );
        assert_eq!(status_at(S::Trial, expiry, 0, NOW), S::Suspended);
        assert_eq!(
            status_at(S::Cancelled, expiry, 14, NOW + 99 * DAY),
            S::Cancelled
        );
        assert_eq!(status_at(S::Active, None, 14, NOW), S::Active);

        let mut lapsed = healthy();
        lapsed.expires_at = Some(NOW - DAY);
        let verdict = assess(&lapsed, NOW);
        assert_eq!(verdict.transition, Some(S::Grace));
        assert_eq!(verdict.issues, [Issue::LicenceLapsed { status: S::Grace }]);
        assert_eq!(verdict.health_score, 70);
        assert!(verdict.notices.is_empty(), "no notice once it has lapsed");
    }

    #[test]
    fn notices_go_out_at_30_7_and_1_days_each_once() {
        let mut facts = healthy();
        facts.expires_at = Some(NOW + 6 * DAY);
        // 30 and 7 days are both due: the sweep did not run at 30 (or the licence was renewed).
        assert_eq!(assess(&facts, NOW).notices, [30, 7]);
        facts.notices_sent = [30, 7].into();
        assert!(
            assess(&facts, NOW).notices.is_empty(),
            "a rerun sends nothing twice"
        );
        assert_eq!(assess(&facts, NOW + 5 * DAY + 1).notices, [1]);
    }

    #[test]
    fn every_kind_of_problem_is_found_and_only_safe_ones_are_fixed() {
        let mut facts = healthy();
        facts.members = 11;
        facts.pending_invitations = 2;
        facts.seats_used = 12;
        facts.expired_invitations = 1;
        facts.rooms = 6;
        facts.terminals = 3;
        facts.admins = 0;
        facts.orphan_grants = vec![("usr_1".into(), "gone".into())];
        facts.roles_beyond_licence = vec!["reporting".into()];
        let verdict = assess(&facts, NOW);
        let kinds: Vec<String> = verdict
            .issues
            .iter()
            .map(|i| {
                serde_json::to_value(i).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "seats_over_allocated",
                "rooms_over_allocated",
                "terminals_over_allocated",
                "seat_count_drift",
                "no_admin",
                "orphan_grants",
                "roles_beyond_licence"
            ]
        );
        assert_eq!(verdict.health_score, 0);
        assert_eq!(
            verdict.fixes,
            [
                Fix::ExpireInvitations { count: 1 },
                Fix::RecountSeats { to: 13 },
                Fix::RevokeOrphanGrants {
                    grants: vec![("usr_1".into(), "gone".into())]
                }
            ]
        );
    }

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of("ten_a"), shard_of("ten_a"));
        let mut seen = BTreeSet::new();
        for i in 0..400 {
            let shard = shard_of(&format!("ten_{i}"));
            assert!(shard < TENANT_SHARDS);
            seen.insert(shard);
        }
        assert_eq!(
            seen.len(),
            usize::from(TENANT_SHARDS),
            "400 tenants reach every shard"
        );
    }

    #[test]
    fn a_tally_counts_outcomes_issues_fixes_and_utilisation() {
        let mut broken = healthy();
        broken.admins = 0;
        broken.seats_used = 9;
        broken.members = 8;
        broken.pending_invitations = 0;
        let assessed = |facts: &TenantFacts, applied: bool| Outcome::Assessed {
            offering: Some(Offering::Essential),
            status: facts.status,
            seats_used: facts.members + facts.pending_invitations,
            seats_allowed: facts.limits.seats,
            assessment: assess(facts, NOW),
            fixes_applied: applied,
        };
        let mut tally = Tally::default();
        tally.add(&assessed(&healthy(), false));
        tally.add(&assessed(&broken, true));
        let broken_score = f64::from(assess(&broken, NOW).health_score);
        assert_eq!(
            tally.average_health_score(),
            Some((100.0 + broken_score) / 2.0)
        );
        tally.add(&Outcome::Failed {
            error: "unreadable tenant".into(),
        });
        assert_eq!(
            (tally.tenants, tally.healthy, tally.unhealthy, tally.failed),
            (3, 1, 1, 1)
        );
        assert_eq!(tally.issues["no_admin"], 1);
        assert_eq!(tally.issues["seat_count_drift"], 1);
        assert_eq!((tally.fixes_applied, tally.fixes_proposed), (1, 0));
        let essential = &tally.utilisation["essential"];
        assert_eq!(
            (
                essential.tenants,
                essential.seats_used,
                essential.seats_allowed
            ),
            (2, 12, 20)
        );
        // 4 of 10 seats is below the band, 8 of 10 inside it.
        assert_eq!(essential.in_healthy_band, 1);
    }
}
