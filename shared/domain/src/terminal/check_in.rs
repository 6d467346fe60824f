//! What a booking's check-in allows (SPEC §D): the tenant's check-in policy, a booking's
//! window (from a few minutes before its start until its release deadline), and whether the
//! release schedule may release it.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::booking::rules::{RoomRules, Slot};
use crate::booking::status::BookingStatus;

/// A tenant's check-in settings; what a request leaves out takes its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckInPolicy {
    /// How long before its start a booking can be checked in to.
    pub opens_minutes_before: u32,
    /// Wrong PINs a terminal takes within [`PIN_WINDOW`] before it refuses PINs.
    pub pin_attempts: u32,
    /// How long a terminal refuses PINs once they are used up.
    pub pin_lockout_minutes: u32,
    /// Bookings longer than this are never released (`None`: none exempt).
    pub exempt_longer_than_minutes: Option<u32>,
    /// Rooms for this many people or more never release (`None`: none exempt).
    pub exempt_capacity_from: Option<u32>,
    /// A series is cancelled after this many of its occurrences in a row were released.
    pub series_no_show_limit: u32,
}

/// The span wrong PINs are counted over.
pub const PIN_WINDOW: SignedDuration = SignedDuration::from_mins(15);

impl Default for CheckInPolicy {
    fn default() -> Self {
        Self {
            opens_minutes_before: 10,
            pin_attempts: 5,
            pin_lockout_minutes: 5,
            exempt_longer_than_minutes: None,
            exempt_capacity_from: None,
            series_no_show_limit: 3,
        }
    }
}

impl CheckInPolicy {
    /// Every field's problem, as `(field, message)` pairs; none for a valid policy.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bound = |field: &str, value: u32, range: std::ops::RangeInclusive<u32>| {
            if !range.contains(&value) {
                problems.push((
                    field.to_owned(),
                    format!("{} to {}", range.start(), range.end()),
                ));
            }
        };
        bound("opens_minutes_before", self.opens_minutes_before, 0..=60);
        bound("pin_attempts", self.pin_attempts, 1..=20);
        bound("pin_lockout_minutes", self.pin_lockout_minutes, 1..=1440);
        bound("series_no_show_limit", self.series_no_show_limit, 1..=50);
        if let Some(minutes) = self.exempt_longer_than_minutes {
            bound("exempt_longer_than_minutes", minutes, 1..=10_080);
        }
        if let Some(capacity) = self.exempt_capacity_from {
            bound("exempt_capacity_from", capacity, 1..=100_000);
        }
        problems
    }

    /// Whether bookings of `slot`'s length in a room for `capacity` people are never released.
    pub fn exempts(&self, slot: &Slot, capacity: u32) -> bool {
        let long = self
            .exempt_longer_than_minutes
            .is_some_and(|m| slot.duration() > SignedDuration::from_mins(i64::from(m)));
        let large = self.exempt_capacity_from.is_some_and(|c| capacity >= c);
        long || large
    }
}

/// When a booking can be checked in to: `[opens, closes)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub opens: Timestamp,
    pub closes: Timestamp,
}

impl Window {
    /// The window of a booking of `slot` in a room with `rules`: from the policy's minutes
    /// before the start to the release deadline (never after the end).
    pub fn of(slot: &Slot, rules: &RoomRules, policy: &CheckInPolicy) -> Self {
        let opens = slot.start - SignedDuration::from_mins(i64::from(policy.opens_minutes_before));
        let deadline = slot.start + SignedDuration::from_mins(i64::from(rules.release_minutes));
        Self {
            opens,
            closes: deadline.min(slot.end),
        }
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.opens <= at && at < self.closes
    }
}

/// Whether `at` the booking may be checked in to, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInRefusal {
    /// Outside its window.
    OutsideWindow(Window),
    /// It is not confirmed (pending, cancelled, released, already checked in...).
    NotConfirmed(BookingStatus),
}

/// Whether a booking of `status` and `slot` can be checked in to at `at`.
pub fn may_check_in(
    status: BookingStatus,
    slot: &Slot,
    rules: &RoomRules,
    policy: &CheckInPolicy,
    at: Timestamp,
) -> Result<Window, CheckInRefusal> {
    let window = Window::of(slot, rules, policy);
    if status != BookingStatus::Confirmed {
        return Err(CheckInRefusal::NotConfirmed(status));
    }
    if !window.contains(at) {
        return Err(CheckInRefusal::OutsideWindow(window));
    }
    Ok(window)
}

/// When the release schedule releases a booking of `status` and `slot`, if ever: only a
/// confirmed booking in a room needing a check-in, and not exempt.
pub fn release_deadline(
    status: BookingStatus,
    slot: &Slot,
    rules: &RoomRules,
    capacity: u32,
    policy: &CheckInPolicy,
) -> Option<Timestamp> {
    let needed = rules.check_in_required && status == BookingStatus::Confirmed;
    (needed && !policy.exempts(slot, capacity)).then(|| Window::of(slot, rules, policy).closes)
}

/// Whether a series' latest occurrences that have started, newest last, end with `limit`
/// released in a row: the series is then cancelled.
pub fn series_no_shows_reached(started: &[BookingStatus], limit: u32) -> bool {
    let in_a_row = started
        .iter()
        .rev()
        .take_while(|s| **s == BookingStatus::Released)
        .count();
    limit > 0 && in_a_row >= limit as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn slot(start: &str, end: &str) -> Slot {
        Slot::new(at(start), at(end)).unwrap()
    }

    fn rules() -> RoomRules {
        RoomRules {
            check_in_required: true,
            release_minutes: 15,
            ..RoomRules::default()
        }
    }

    #[test]
    fn the_window_opens_before_the_start_and_closes_at_the_deadline() {
        let booking = slot("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
        let policy = CheckInPolicy::default();
        let ok = |t| may_check_in(BookingStatus::Confirmed, &booking, &rules(), &policy, at(t));
        assert!(ok("2026-06-01T08:50:00Z").is_ok());
        assert!(ok("2026-06-01T09:14:59Z").is_ok());
        let window = Window {
            opens: at("2026-06-01T08:50:00Z"),
            closes: at("2026-06-01T09:15:00Z"),
        };
        assert_eq!(
            ok("2026-06-01T08:49:59Z"),
            Err(CheckInRefusal::OutsideWindow(window))
        );
        assert_eq!(
            ok("2026-06-01T09:15:00Z"),
            Err(CheckInRefusal::OutsideWindow(window))
        );
        assert_eq!(
            may_check_in(
                BookingStatus::Released,
                &booking,
                &rules(),
                &policy,
                at("2026-06-01T09:00:00Z")
            ),
            Err(CheckInRefusal::NotConfirmed(BookingStatus::Released))
        );
        // A booking shorter than the release delay closes its window at its end.
        let short = slot("2026-06-01T09:00:00Z", "2026-06-01T09:10:00Z");
        assert_eq!(
            Window::of(&short, &rules(), &policy).closes,
            at("2026-06-01T09:10:00Z")
        );
    }

    #[test]
    fn only_confirmed_bookings_needing_check_in_and_not_exempt_are_released() {
        let booking = slot("2026-06-01T09:00:00Z", "2026-06-01T13:00:00Z");
        let mut policy = CheckInPolicy::default();
        let deadline = Some(at("2026-06-01T09:15:00Z"));
        let due = |status, rules: &RoomRules, capacity, policy: &CheckInPolicy| {
            release_deadline(status, &booking, rules, capacity, policy)
        };
        assert_eq!(
            due(BookingStatus::Confirmed, &rules(), 8, &policy),
            deadline
        );
        assert_eq!(due(BookingStatus::CheckedIn, &rules(), 8, &policy), None);
        assert_eq!(due(BookingStatus::Pending, &rules(), 8, &policy), None);
        assert_eq!(
            due(BookingStatus::Confirmed, &RoomRules::default(), 8, &policy),
            None
        );
        policy.exempt_longer_than_minutes = Some(240);
        assert_eq!(
            due(BookingStatus::Confirmed, &rules(), 8, &policy),
            deadline,
            "4 h is not longer"
        );
        policy.exempt_longer_than_minutes = Some(239);
        assert_eq!(due(BookingStatus::Confirmed, &rules(), 8, &policy), None);
        policy.exempt_longer_than_minutes = None;
        policy.exempt_capacity_from = Some(20);
        assert_eq!(
            due(BookingStatus::Confirmed, &rules(), 19, &policy),
            deadline
        );
        assert_eq!(due(BookingStatus::Confirmed, &rules(), 20, &policy), None);
    }

    #[test]
    fn a_series_is_cancelled_after_its_limit_of_no_shows_in_a_row() {
        use BookingStatus::*;
        assert!(series_no_shows_reached(
            &[Completed, Released, Released, Released],
            3
        ));
        assert!(!series_no_shows_reached(
            &[Released, Released, CheckedIn, Released],
            3
        ));
        assert!(!series_no_shows_reached(&[Released, Released], 3));
    }

    #[test]
    fn a_policy_names_each_bad_field() {
        let policy = CheckInPolicy {
            opens_minutes_before: 61,
            pin_attempts: 0,
            exempt_capacity_from: Some(0),
            ..CheckInPolicy::default()
        };
        let fields: Vec<String> = policy.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "opens_minutes_before",
                "pin_attempts",
                "exempt_capacity_from"
            ]
        );
        assert!(CheckInPolicy::default().problems().is_empty());
    }
}
