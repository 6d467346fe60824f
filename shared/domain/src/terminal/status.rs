//! A room's state as its terminal shows it (SPEC §D): the booking under way and the next one,
//! whether the room is free, busy or awaiting a check-in, and the check-in window.

use jiff::Timestamp;
use serde::Serialize;

use super::check_in::{CheckInPolicy, Window};
use crate::booking::rules::{RoomRules, Slot};
use crate::booking::status::BookingStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomState {
    Free,
    Busy,
    AwaitingCheckIn,
}

/// One booking of the room, as the state is worked out from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupant {
    pub slot: Slot,
    pub status: BookingStatus,
}

/// The room's state at a time: indexes into the bookings it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub state: RoomState,
    /// The booking holding the room now.
    pub current: Option<usize>,
    /// The next booking holding the room after now.
    pub next: Option<usize>,
    /// The window of the booking awaiting its check-in (the current one, or the next when its
    /// window is already open).
    pub window: Option<Window>,
    /// How long the room stays free from now (`None`: nothing booked after).
    pub free_until: Option<Timestamp>,
}

/// The state of a room with `rules` at `now`, of its `bookings` in any order.
pub fn status_at(
    bookings: &[Occupant],
    rules: &RoomRules,
    policy: &CheckInPolicy,
    now: Timestamp,
) -> Status {
    let holding = |i: &usize| bookings[*i].status.holds_room();
    let current = (0..bookings.len())
        .filter(holding)
        .find(|i| bookings[*i].slot.start <= now && now < bookings[*i].slot.end);
    let next = (0..bookings.len())
        .filter(holding)
        .filter(|i| bookings[*i].slot.start > now)
        .min_by_key(|i| bookings[*i].slot.start);
    let awaiting = |i: usize| {
        let booking = &bookings[i];
        let window = Window::of(&booking.slot, rules, policy);
        (rules.check_in_required
            && booking.status == BookingStatus::Confirmed
            && window.contains(now))
        .then_some(window)
    };
    let window = current
        .and_then(awaiting)
        .or_else(|| next.and_then(awaiting));
    let state = match (window, current) {
        (Some(_), _) => RoomState::AwaitingCheckIn,
        (None, Some(_)) => RoomState::Busy,
        (None, None) => RoomState::Free,
    };
    Status {
        state,
        current,
        next,
        window,
        free_until: match current {
            Some(_) => None,
            None => next.map(|i| bookings[i].slot.start),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        format!("2026-06-01T{text}:00Z").parse().unwrap()
    }

    fn occupant(start: &str, end: &str, status: BookingStatus) -> Occupant {
        Occupant {
            slot: Slot::new(at(start), at(end)).unwrap(),
            status,
        }
    }

    #[test]
    fn free_busy_and_awaiting_check_in() {
        let rules = RoomRules {
            check_in_required: true,
            ..RoomRules::default()
        };
        let policy = CheckInPolicy::default();
        let bookings = [
            occupant("10:00", "11:00", BookingStatus::Confirmed),
            occupant("08:00", "09:00", BookingStatus::CheckedIn),
            occupant("09:00", "09:30", BookingStatus::Cancelled),
        ];
        let free = status_at(&bookings, &rules, &policy, at("09:10"));
        assert_eq!(free.state, RoomState::Free);
        assert_eq!((free.current, free.next), (None, Some(0)));
        assert_eq!(free.free_until, Some(at("10:00")));
        let busy = status_at(&bookings, &rules, &policy, at("08:30"));
        assert_eq!(
            (busy.state, busy.current, busy.next),
            (RoomState::Busy, Some(1), Some(0))
        );
        let soon = status_at(&bookings, &rules, &policy, at("09:55"));
        assert_eq!(
            soon.state,
            RoomState::AwaitingCheckIn,
            "the next one's window is open"
        );
        assert_eq!(soon.window.map(|w| w.opens), Some(at("09:50")));
        let late = status_at(&bookings, &rules, &policy, at("10:20"));
        assert_eq!(
            (late.state, late.current),
            (RoomState::Busy, Some(0)),
            "past its deadline"
        );
        let no_check_in = status_at(&bookings, &RoomRules::default(), &policy, at("10:05"));
        assert_eq!(no_check_in.state, RoomState::Busy);
    }
}
