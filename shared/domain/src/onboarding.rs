//! A new tenant's onboarding checklist (SPEC §F, ONBOARDING_WIZARD_ENABLED): each step is done
//! when the tenant's data shows it (a room exists, a member was invited…) or when an admin
//! marks it done or skipped through the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    InviteMembers,
    CreateRooms,
    PairTerminal,
    FirstBooking,
    ReviewRoles,
}

impl Step {
    pub const ALL: [Self; 5] = [
        Self::InviteMembers,
        Self::CreateRooms,
        Self::PairTerminal,
        Self::FirstBooking,
        Self::ReviewRoles,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.as_str() == text)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InviteMembers => "invite_members",
            Self::CreateRooms => "create_rooms",
            Self::PairTerminal => "pair_terminal",
            Self::FirstBooking => "first_booking",
            Self::ReviewRoles => "review_roles",
        }
    }
}

/// What an admin said of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Done,
    Skipped,
}

/// What the tenant's data shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    pub members: u32,
    pub invitations: u32,
    pub rooms: u32,
    pub terminals: u32,
    pub bookings: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The data shows it.
    Done,
    /// An admin marked it done.
    MarkedDone,
    Skipped,
    Pending,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepState {
    pub step: Step,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checklist {
    pub steps: Vec<StepState>,
    pub completed: usize,
    pub total: usize,
    /// Completed over total, 0–100.
    pub percent: u8,
}

impl Checklist {
    pub fn is_complete(&self) -> bool {
        self.completed == self.total
    }
}

/// The checklist: the data first (a room that exists is done whatever was marked), then marks.
pub fn checklist(evidence: Evidence, marks: &BTreeMap<Step, Mark>) -> Checklist {
    let shown = |step: Step| match step {
        Step::InviteMembers => evidence.members > 1 || evidence.invitations > 0,
        Step::CreateRooms => evidence.rooms > 0,
        Step::PairTerminal => evidence.terminals > 0,
        Step::FirstBooking => evidence.bookings > 0,
        // Nothing in the data says roles were reviewed: only an admin can.
        Step::ReviewRoles => false,
    };
    let steps: Vec<StepState> = Step::ALL
        .into_iter()
        .map(|step| StepState {
            step,
            status: match (shown(step), marks.get(&step)) {
                (true, _) => Status::Done,
                (false, Some(Mark::Done)) => Status::MarkedDone,
                (false, Some(Mark::Skipped)) => Status::Skipped,
                (false, None) => Status::Pending,
            },
        })
        .collect();
    let completed = steps.iter().filter(|s| s.status != Status::Pending).count();
    let total = steps.len();
    Checklist {
        percent: (completed * 100 / total) as u8,
        steps,
        completed,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_completes_steps_and_marks_complete_the_rest() {
        let fresh = checklist(
            Evidence {
                members: 1,
                ..Evidence::default()
            },
            &BTreeMap::new(),
        );
        assert_eq!((fresh.completed, fresh.total, fresh.percent), (0, 5, 0));

        let evidence = Evidence {
            members: 1,
            invitations: 1,
            rooms: 2,
            ..Evidence::default()
        };
        let marks = BTreeMap::from([
            (Step::PairTerminal, Mark::Skipped),
            (Step::ReviewRoles, Mark::Done),
            (Step::CreateRooms, Mark::Skipped),
        ]);
        let list = checklist(evidence, &marks);
        let statuses: Vec<Status> = list.steps.iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Done,
                Status::Done,
                Status::Skipped,
                Status::Pending,
                Status::MarkedDone
            ]
        );
        assert_eq!((list.completed, list.percent), (4, 80));
        assert!(!list.is_complete());
        assert_eq!(Step::parse("pair_terminal"), Some(Step::PairTerminal));
        assert_eq!(Step::parse("teleport"), None);
    }
}
