//! A booking's states (SPEC §C) and what each allows: which hold the room, which may still be
//! cancelled or moved, which may be ended early.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Waiting for an approver; holds its slot meanwhile.
    Pending,
    Confirmed,
    CheckedIn,
    Completed,
    /// Kept as history; the slot is free.
    Cancelled,
    /// Released as a no-show.
    Released,
    Rejected,
}

impl BookingStatus {
    /// The first state of a booking in a room that does or does not need approval.
    pub fn initial(approval_required: bool) -> Self {
        if approval_required {
            Self::Pending
        } else {
            Self::Confirmed
        }
    }

    /// Whether a booking in this state keeps others out of its slot.
    pub fn holds_room(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed | Self::CheckedIn)
    }

    /// Whether it has not begun: it may be cancelled, or moved with its series.
    pub fn is_upcoming(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }

    /// Whether, inside its slot, it is under way (and so may be ended early).
    pub fn may_be_under_way(self) -> bool {
        matches!(self, Self::Confirmed | Self::CheckedIn)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::CheckedIn => "checked_in",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Released => "released",
            Self::Rejected => "rejected",
        }
    }
}

/// A change of a booking's status, each allowed from some statuses only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// An upcoming booking given up; kept as history.
    Cancel,
    /// A pending booking approved by an approver.
    Approve,
    Reject,
    /// A booking under way ended (early, or at a terminal).
    End,
    CheckIn,
    /// A no-show released by the schedule.
    Release,
    /// A released booking checked in after all (an offline check-in made in time).
    Reinstate,
}

impl Transition {
    pub const ALL: [Self; 7] = [
        Self::Cancel,
        Self::Approve,
        Self::Reject,
        Self::End,
        Self::CheckIn,
        Self::Release,
        Self::Reinstate,
    ];

    fn done(self) -> &'static str {
        match self {
            Self::Cancel => "cancelled",
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::End => "ended",
            Self::CheckIn => "checked in to",
            Self::Release => "released",
            Self::Reinstate => "reinstated",
        }
    }
}

/// A transition the booking's status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} booking cannot be {}", transition.done())]
pub struct NotAllowed {
    pub from: BookingStatus,
    pub transition: Transition,
}

impl BookingStatus {
    /// The status `transition` leads to from this one, if it is allowed here: the one place
    /// the booking's lifecycle is written down.
    pub fn after(self, transition: Transition) -> Result<Self, NotAllowed> {
        use BookingStatus as S;
        use Transition as T;
        Ok(match (transition, self) {
            (T::Cancel, S::Pending | S::Confirmed) => S::Cancelled,
            (T::Approve, S::Pending) => S::Confirmed,
            (T::Reject, S::Pending) => S::Rejected,
            (T::End, S::Confirmed | S::CheckedIn) => S::Completed,
            (T::CheckIn, S::Confirmed) => S::CheckedIn,
            (T::Release, S::Confirmed) => S::Released,
            (T::Reinstate, S::Released) => S::CheckedIn,
            _ => {
                return Err(NotAllowed {
                    from: self,
                    transition,
                });
            }
        })
    }
}

impl std::fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [BookingStatus; 7] = [
        BookingStatus::Pending,
        BookingStatus::Confirmed,
        BookingStatus::CheckedIn,
        BookingStatus::Completed,
        BookingStatus::Cancelled,
        BookingStatus::Released,
        BookingStatus::Rejected,
    ];

    #[test]
    fn each_transition_is_allowed_exactly_where_the_lifecycle_says() {
        for from in ALL {
            for transition in Transition::ALL {
                let allowed = match transition {
                    Transition::Cancel => from.is_upcoming(),
                    Transition::Approve | Transition::Reject => from == BookingStatus::Pending,
                    Transition::End => from.may_be_under_way(),
                    Transition::CheckIn | Transition::Release => from == BookingStatus::Confirmed,
                    Transition::Reinstate => from == BookingStatus::Released,
                };
                let after = from.after(transition);
                assert_eq!(after.is_ok(), allowed, "{from} {transition:?}");
                if let Err(refused) = after {
                    assert_eq!(refused.from, from);
                    assert!(
                        refused
                            .to_string()
                            .starts_with(&format!("a {from} booking"))
                    );
                }
            }
        }
    }

    #[test]
    fn a_booking_lets_go_of_its_room_when_it_is_over_and_holds_it_while_it_is_not() {
        for from in ALL {
            for transition in Transition::ALL {
                let Ok(to) = from.after(transition) else {
                    continue;
                };
                let holds = matches!(
                    transition,
                    Transition::Approve | Transition::CheckIn | Transition::Reinstate
                );
                assert_eq!(to.holds_room(), holds, "{from} {transition:?} {to}");
                // Nothing leads back to pending, and every transition changes the status.
                assert_ne!(to, BookingStatus::Pending);
                assert_ne!(to, from);
            }
        }
    }

    #[test]
    fn stored_names_are_the_apis_names() {
        for status in [
            BookingStatus::Pending,
            BookingStatus::Confirmed,
            BookingStatus::CheckedIn,
            BookingStatus::Completed,
            BookingStatus::Cancelled,
            BookingStatus::Released,
            BookingStatus::Rejected,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
    }
}
