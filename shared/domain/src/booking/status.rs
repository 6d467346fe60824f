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

impl std::fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
