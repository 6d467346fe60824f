//! What a booking's change tells people (SPEC §C, notifications): which notice a transition
//! makes, and who it goes to. Sending is the notifier's; this is only the decision.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::entity::Booking;
use super::room::Room;
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

/// One notice: a change to one booking, or to a series' occurrences, and whom it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique per change; a redelivery carries the same one, so it is recorded once.
    pub notice_id: String,
    pub tenant_id: String,
    pub kind: NoticeKind,
    /// The bookings' organiser (the approvers are found by the notifier).
    pub organiser: String,
    /// Who made the change: approvers are not told of their own requests.
    pub actor: String,
    /// When the change was made.
    pub at: Timestamp,
    pub room_id: String,
    /// The room as it was (`None`: archived since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<Room>,
    /// The bookings as the change left them: one, or a series' occurrences.
    pub bookings: Vec<Booking>,
}

/// A notice as a message between functions (the notifier's queue, the outbox it is resent
/// from), tagged with its version: a notifier reads every version still on its way, and a
/// change to the message's shape is a new version, never an edit of one in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "version", from = "Received")]
pub enum NoticeMessage {
    #[serde(rename = "1")]
    V1(Notice),
}

/// What a reader accepts: a message of a version it knows, or one sent before messages had a
/// version (the fields of version 1, still in queues and outboxes while a deploy rolls out).
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a notice message of a version this notifier reads"
)]
enum Received {
    Versioned(Versioned),
    Unversioned(Unversioned),
}

#[derive(Deserialize)]
#[serde(tag = "version")]
enum Versioned {
    #[serde(rename = "1")]
    V1(Notice),
}

/// A message without a version; one naming a version nobody knows is not one of these.
#[derive(Deserialize)]
#[serde(try_from = "Untagged")]
struct Unversioned(Notice);

#[derive(Deserialize)]
struct Untagged {
    /// Whether the message names a version at all (`null` too).
    #[serde(default, deserialize_with = "present")]
    version: bool,
    #[serde(flatten)]
    notice: Notice,
}

fn present<'de, D: serde::Deserializer<'de>>(field: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(field).map(|_| true)
}

impl TryFrom<Untagged> for Unversioned {
    type Error = &'static str;

    fn try_from(message: Untagged) -> Result<Self, Self::Error> {
        if message.version {
            Err("a notice message of an unknown version")
        } else {
            Ok(Self(message.notice))
        }
    }
}

impl From<Received> for NoticeMessage {
    fn from(received: Received) -> Self {
        match received {
            Received::Versioned(Versioned::V1(notice))
            | Received::Unversioned(Unversioned(notice)) => Self::V1(notice),
        }
    }
}

impl From<Notice> for NoticeMessage {
    fn from(notice: Notice) -> Self {
        Self::V1(notice)
    }
}

impl NoticeMessage {
    pub fn into_notice(self) -> Notice {
        match self {
            Self::V1(notice) => notice,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingStatus::*;
    use serde_json::json;

    /// A version 1 message as the rooms function of this version sends it: whatever changes in
    /// the types behind it, a message already queued must still be read.
    const VERSION_1: &str = r#"{
        "version": "1",
        "notice_id": "n1", "tenant_id": "t1", "kind": "confirmed", "organiser": "u1",
        "actor": "u1", "at": "2026-11-24T08:00:00Z", "room_id": "r1",
        "bookings": [{
            "booking_id": "b1", "tenant_id": "t1", "room_id": "r1", "organiser": "u1",
            "title": "Stand-up", "start": "2026-11-24T09:00:00Z", "end": "2026-11-24T10:00:00Z",
            "status": "confirmed", "version": 1,
            "created_at": "2026-11-24T08:00:00Z", "updated_at": "2026-11-24T08:00:00Z",
            "series_id": "s1", "occurrence": 3, "invitees": ["u2"]
        }]
    }"#;

    #[test]
    fn a_version_1_message_is_read_and_written_back_the_same() {
        let message: NoticeMessage = serde_json::from_str(VERSION_1).unwrap();
        let notice = message.clone().into_notice();
        assert_eq!(notice.kind, NoticeKind::Confirmed);
        assert_eq!(
            notice.at,
            "2026-11-24T08:00:00Z".parse::<Timestamp>().unwrap()
        );
        let booking = &notice.bookings[0];
        assert_eq!(
            (booking.slot.start.to_string(), booking.slot.end.to_string()),
            ("2026-11-24T09:00:00Z".into(), "2026-11-24T10:00:00Z".into())
        );
        assert_eq!(
            (booking.occurrence, &booking.invitees[..]),
            (Some(3), &["u2".to_owned()][..])
        );
        let written = serde_json::to_value(NoticeMessage::from(notice)).unwrap();
        let expected: serde_json::Value = serde_json::from_str(VERSION_1).unwrap();
        assert_eq!(written, expected);
    }

    #[test]
    fn a_message_of_an_unknown_version_is_refused() {
        let mut message: serde_json::Value = serde_json::from_str(VERSION_1).unwrap();
        for unknown in [json!("2"), json!(1), json!(null)] {
            message["version"] = unknown.clone();
            let refused = serde_json::from_value::<NoticeMessage>(message.clone()).unwrap_err();
            assert!(
                refused
                    .to_string()
                    .contains("a version this notifier reads"),
                "version {unknown}: {refused}"
            );
        }
    }

    /// As notices were sent before they had a version: the booking's table row, keys and all.
    #[test]
    fn a_message_sent_before_versions_is_read_as_version_1() {
        let mut message: serde_json::Value = serde_json::from_str(VERSION_1).unwrap();
        let versioned: NoticeMessage = serde_json::from_value(message.clone()).unwrap();
        message.as_object_mut().unwrap().remove("version");
        let row = &mut message["bookings"][0];
        row["pk"] = "T#t1".into();
        row["sk"] = "BOOKING#b1".into();
        let unversioned: NoticeMessage = serde_json::from_value(message).unwrap();
        assert_eq!(unversioned, versioned);
    }

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
