//! What the nightly licence sweep decides for one tenant (SPEC §F), as a pure function of the
//! tenant's facts and the time: its issues, its health score, the status transition due, the
//! expiry notices due (each sent once), and the safe fixes self-healing may apply.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use steward_authz::LicenceStatus;

use super::Limits;

const DAY: i64 = 86_400;

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
}
