//! A booking (SPEC §C): who holds which room for which slot, and where its lifecycle stands.
//! Times are instants, never text: a booking is read once, checked and written as itself.
//! How it is stored (keys, indexes) is the store's; how it travels to the notifier is the
//! notice's.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::rules::Slot;
use super::status::{BookingStatus, NotAllowed, Transition};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub booking_id: String,
    pub tenant_id: String,
    pub room_id: String,
    pub organiser: String,
    pub title: String,
    /// Held as `start` and `end`, side by side with the other fields.
    #[serde(flatten)]
    pub slot: Slot,
    pub status: BookingStatus,
    /// One at creation, one more per change: what an `If-Match` names.
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    /// Why it was cancelled, rejected or ended early, when someone said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Who approved or rejected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The series this booking is an occurrence of, and which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
    /// Members invited besides the organiser: each may check in to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invitees: Vec<String>,
    /// When the release schedule releases it without a check-in: set on every calendar write
    /// from its room's rules and the tenant's check-in policy, for a confirmed booking that
    /// needs a check-in and is not exempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_at: Option<Timestamp>,
}

/// What a new booking is made of.
#[derive(Debug, Clone, Copy)]
pub struct NewBooking<'a> {
    pub tenant_id: &'a str,
    pub booking_id: &'a str,
    pub room_id: &'a str,
    pub organiser: &'a str,
    pub title: &'a str,
    pub slot: Slot,
    /// Whether the room needs approval: the booking is pending until an approver decides.
    pub approval_required: bool,
    pub at: Timestamp,
}

impl Booking {
    /// A booking at version 1: pending when its room needs approval, else confirmed.
    pub fn new(new: NewBooking<'_>) -> Self {
        Self {
            booking_id: new.booking_id.to_owned(),
            tenant_id: new.tenant_id.to_owned(),
            room_id: new.room_id.to_owned(),
            organiser: new.organiser.to_owned(),
            title: new.title.trim().to_owned(),
            slot: new.slot,
            status: BookingStatus::initial(new.approval_required),
            version: 1,
            created_at: new.at,
            updated_at: new.at,
            override_reason: None,
            status_reason: None,
            decided_by: None,
            series_id: None,
            occurrence: None,
            invitees: Vec::new(),
            release_at: None,
        }
    }

    /// Its next version, as a change made `at` starts from.
    pub fn revised(&self, at: Timestamp) -> Self {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = at;
        next
    }

    /// Its next version after `transition`, made `at`, if its status allows it.
    pub fn after(&self, transition: Transition, at: Timestamp) -> Result<Self, NotAllowed> {
        let status = self.status.after(transition)?;
        let mut next = self.revised(at);
        next.status = status;
        Ok(next)
    }

    /// Whether `member` may act on it at a terminal: its organiser or an invitee.
    pub fn attended_by(&self, member: &str) -> bool {
        self.organiser == member || self.invitees.iter().any(|i| i == member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(approval_required: bool) -> Booking {
        let at: Timestamp = "2026-11-24T08:00:00Z".parse().unwrap();
        Booking::new(NewBooking {
            tenant_id: "t1",
            booking_id: "b1",
            room_id: "r1",
            organiser: "u1",
            title: "  Stand-up ",
            slot: Slot::new(
                "2026-11-24T09:00:00Z".parse().unwrap(),
                "2026-11-24T10:00:00Z".parse().unwrap(),
            )
            .unwrap(),
            approval_required,
            at,
        })
    }

    #[test]
    fn a_new_booking_is_version_one_trimmed_and_pending_only_where_approval_is_needed() {
        let confirmed = booking(false);
        assert_eq!(confirmed.version, 1);
        assert_eq!(confirmed.title, "Stand-up");
        assert_eq!(confirmed.status, BookingStatus::Confirmed);
        assert_eq!(booking(true).status, BookingStatus::Pending);
    }

    #[test]
    fn a_transition_is_a_new_version_and_a_refused_one_changes_nothing() {
        let pending = booking(true);
        let at: Timestamp = "2026-11-24T08:30:00Z".parse().unwrap();
        let approved = pending.after(Transition::Approve, at).unwrap();
        assert_eq!(
            (approved.status, approved.version, approved.updated_at),
            (BookingStatus::Confirmed, 2, at)
        );
        assert_eq!(approved.created_at, pending.created_at);
        let refused = approved.after(Transition::Approve, at).unwrap_err();
        assert_eq!(refused.from, BookingStatus::Confirmed);
    }

    #[test]
    fn it_serializes_its_times_as_rfc_3339_and_refuses_a_slot_that_ends_first() {
        let value = serde_json::to_value(booking(false)).unwrap();
        assert_eq!(value["start"], "2026-11-24T09:00:00Z");
        assert_eq!(value["end"], "2026-11-24T10:00:00Z");
        assert!(value.get("release_at").is_none());
        let back: Booking = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(back, booking(false));
        let mut backwards = value;
        backwards["end"] = "2026-11-24T08:00:00Z".into();
        assert!(serde_json::from_value::<Booking>(backwards).is_err());
    }
}
