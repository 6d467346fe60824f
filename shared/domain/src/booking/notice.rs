//! What a booking's change tells people (SPEC §C, notifications): which notice a transition
//! makes, and who it goes to. Sending is the notifier's; this is only the decision.

use serde::{Deserialize, Serialize};

use super::status::BookingStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A new booking holds its room (sent with an .ics).
    Confirmed,
    /// An approver confirmed a pending booking (sent with an .ics: it is a confirmation).
    Approved,
    /// An approver turned a pending booking down.
    Rejected,
    /// Its time changed (moved, resized, extended).
    Changed,
    Cancelled,
    /// A new booking waits for an approver: told to the approvers, not the organiser.
    ApprovalNeeded,
    /// It starts soon (by schedule).
    Reminder,
    /// Nobody checked in: the room was given back.
    Released,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Changed => "changed",
            Self::Cancelled => "cancelled",
            Self::ApprovalNeeded => "approval_needed",
            Self::Reminder => "reminder",
            Self::Released => "released",
        }
    }

    /// Whether the email carries the booking as an .ics to add to a calendar.
    pub fn attaches_calendar(self) -> bool {
        matches!(self, Self::Confirmed | Self::Approved | Self::Changed)
    }

    /// Who hears of it: the approvers, or the booking's organiser.
    pub fn audience(self) -> Audience {
        match self {
            Self::ApprovalNeeded => Audience::Approvers,
            _ => Audience::Organiser,
        }
    }

    /// The notice a booking's write makes: `was` its status before (`None`: it is new), `now`
    /// after, `moved` whether its time changed. `None`: nothing worth telling (ended early,
    /// renamed, checked in).
    pub fn of_change(was: Option<BookingStatus>, now: BookingStatus, moved: bool) -> Option<Self> {
        use BookingStatus::*;
        match (was, now) {
            (None, Pending) => Some(Self::ApprovalNeeded),
            // Moved by someone who cannot approve: it waits for an approver again.
            (Some(was), Pending) if was != Pending => Some(Self::ApprovalNeeded),
            (None, Confirmed) => Some(Self::Confirmed),
            (Some(Pending), Confirmed) => Some(Self::Approved),
            (Some(Pending), Rejected) => Some(Self::Rejected),
            (Some(was), Cancelled) if was != Cancelled => Some(Self::Cancelled),
            (Some(was), Released) if was != Released => Some(Self::Released),
            (Some(was), now) if was == now && now.holds_room() && moved => Some(Self::Changed),
            _ => None,
        }
    }
}

impl std::fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Organiser,
    /// Every member who may approve bookings, except whoever made the change.
    Approvers,
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingStatus::*;

    #[test]
    fn a_new_booking_is_confirmed_or_waits_for_the_approvers() {
        assert_eq!(
            NoticeKind::of_change(None, Confirmed, true),
            Some(NoticeKind::Confirmed)
        );
        let pending = NoticeKind::of_change(None, Pending, true).unwrap();
        assert_eq!(pending, NoticeKind::ApprovalNeeded);
        assert_eq!(pending.audience(), Audience::Approvers);
        assert_eq!(
            NoticeKind::of_change(Some(Confirmed), Pending, true),
            Some(NoticeKind::ApprovalNeeded)
        );
    }

    #[test]
    fn decisions_cancellations_and_moves_are_told() {
        assert_eq!(
            NoticeKind::of_change(Some(Pending), Confirmed, false),
            Some(NoticeKind::Approved)
        );
        assert_eq!(
            NoticeKind::of_change(Some(Pending), Rejected, true),
            Some(NoticeKind::Rejected)
        );
        assert_eq!(
            NoticeKind::of_change(Some(Confirmed), Cancelled, true),
            Some(NoticeKind::Cancelled)
        );
        assert_eq!(
            NoticeKind::of_change(Some(Pending), Cancelled, true),
            Some(NoticeKind::Cancelled)
        );
        assert_eq!(
            NoticeKind::of_change(Some(Confirmed), Confirmed, true),
            Some(NoticeKind::Changed)
        );
        assert_eq!(
            NoticeKind::of_change(Some(Confirmed), Released, true),
            Some(NoticeKind::Released)
        );
    }

    #[test]
    fn what_changes_nothing_for_anyone_is_not_told() {
        // Renamed only; ended early; checked in; a cancelled booking written again.
        assert_eq!(
            NoticeKind::of_change(Some(Confirmed), Confirmed, false),
            None
        );
        assert_eq!(
            NoticeKind::of_change(Some(Confirmed), Completed, true),
            None
        );
        assert_eq!(
            NoticeKind::of_change(Some(Confirmed), CheckedIn, false),
            None
        );
        assert_eq!(
            NoticeKind::of_change(Some(Cancelled), Cancelled, false),
            None
        );
    }

    #[test]
    fn only_confirmations_and_changes_carry_a_calendar() {
        let with: Vec<_> = [
            NoticeKind::Confirmed,
            NoticeKind::Approved,
            NoticeKind::Rejected,
            NoticeKind::Changed,
            NoticeKind::Cancelled,
            NoticeKind::ApprovalNeeded,
            NoticeKind::Reminder,
            NoticeKind::Released,
        ]
        .into_iter()
        .filter(|kind| kind.attaches_calendar())
        .collect();
        assert_eq!(
            with,
            [
                NoticeKind::Confirmed,
                NoticeKind::Approved,
                NoticeKind::Changed
            ]
        );
    }
}
