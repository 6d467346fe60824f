//! A room's calendar is kept by UTC day: each day lists the bookings holding part of it, and a
//! write conditions on every day it reads. These are the parts of that bookkeeping that need no
//! storage: which days a slot touches, what a day holds against a new slot, and how a day is
//! rewritten when bookings move.

use std::collections::HashSet;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::closure::Closure;
use super::local_time::RoomZone;
use super::rules::{MAX_BUFFER, RoomRules, Slot, Taken};

/// One booking as a day of its room sees it: its own interval (buffers are applied from the
/// room's rules when it is checked against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayEntry {
    pub booking_id: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl DayEntry {
    pub fn new(booking_id: &str, slot: Slot) -> Self {
        Self {
            booking_id: booking_id.to_owned(),
            start: slot.start,
            end: slot.end,
        }
    }

    /// The slot it holds (`None` for an entry that ends before it starts, which no write makes).
    pub fn slot(&self) -> Option<Slot> {
        Slot::new(self.start, self.end).ok()
    }
}

/// The UTC dates an interval touches; `end` is exclusive.
pub fn dates_between(start: Timestamp, end: Timestamp) -> Vec<Date> {
    let first = start.to_zoned(TimeZone::UTC).date();
    // An interval ending at midnight does not touch the next day.
    let last = (end - SignedDuration::from_nanos(1))
        .to_zoned(TimeZone::UTC)
        .date();
    let mut dates = Vec::new();
    let mut date = first;
    while date <= last {
        dates.push(date);
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    dates
}

/// The days a booking's slot is listed on, with the margin any room's buffers may reach: what
/// a write reads before it knows the room's rules.
pub fn days_of(slot: &Slot) -> Vec<Date> {
    dates_between(slot.start - MAX_BUFFER, slot.end + MAX_BUFFER)
}

/// The days `slot` is listed on in a room with `rules`: its buffers counted.
pub fn days_blocked(slot: &Slot, rules: &RoomRules) -> Vec<Date> {
    let blocked = slot.blocked(rules);
    dates_between(blocked.start, blocked.end)
}

/// How many days [`likely_days`] guesses at most: a longer booking's days are read once it is
/// known to be valid.
const MOST_LIKELY_DAYS: usize = 4;

/// The UTC days a slot given in `start`/`end` text probably touches, before the room (and so
/// its zone and buffers) is known: an RFC 3339 time is exact, a local time is within 14 hours of
/// the same wall time in UTC; buffers reach [`MAX_BUFFER`] further. Text that is no time
/// guesses nothing (the write that reads it refuses it).
pub fn likely_days(start: &str, end: &str) -> Vec<Date> {
    let around = |text: &str| -> Option<(Timestamp, Timestamp)> {
        let (at, slack) = match text.parse::<Timestamp>() {
            Ok(at) => (at, MAX_BUFFER),
            Err(_) => (
                text.parse::<DateTime>()
                    .ok()?
                    .to_zoned(TimeZone::UTC)
                    .ok()?
                    .timestamp(),
                SignedDuration::from_hours(14) + MAX_BUFFER,
            ),
        };
        Some((at.checked_sub(slack).ok()?, at.checked_add(slack).ok()?))
    };
    match (around(start), around(end)) {
        (Some((first, _)), Some((_, last))) if first < last => {
            let dates = dates_between(first, last);
            if dates.len() <= MOST_LIKELY_DAYS {
                dates
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// The bookings `entries` hold besides those in `moving`, each once (a booking over midnight
/// is listed on each of its days).
pub fn taken_on<'a>(
    entries: impl IntoIterator<Item = &'a DayEntry>,
    moving: &HashSet<String>,
) -> Vec<Taken> {
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .filter(|entry| !moving.contains(entry.booking_id.as_str()))
        .filter(|entry| seen.insert(entry.booking_id.as_str()))
        .filter_map(|entry| {
            Some(Taken::Booking {
                booking_id: entry.booking_id.clone(),
                slot: entry.slot()?,
            })
        })
        .collect()
}

/// Rewrites the entries of day `date` of a room with `rules`: the bookings in `moving` taken off,
/// and each of `placed` (a booking and the slot it moves to) put back where its slot, buffers
/// counted, touches the day. Answers whether the day changed.
pub fn rewrite_day(
    date: Date,
    entries: &mut Vec<DayEntry>,
    moving: &HashSet<String>,
    placed: &[(&str, Slot)],
    rules: &RoomRules,
) -> bool {
    let before = entries.clone();
    entries.retain(|entry| !moving.contains(entry.booking_id.as_str()));
    for (booking_id, to) in placed {
        if days_blocked(to, rules).contains(&date) {
            entries.push(DayEntry::new(booking_id, *to));
        }
    }
    *entries != before
}

/// The occurrences of `closures` overlapping `window`, in a room on `zone`'s clock.
pub fn closures_within(closures: &[Closure], zone: &RoomZone, window: &Slot) -> Vec<Taken> {
    closures
        .iter()
        .flat_map(|closure| {
            closure
                .within(zone, window)
                .into_iter()
                .map(|slot| Taken::Closure {
                    closure_id: closure.id.clone(),
                    slot,
                    reason: closure.reason.clone(),
                })
        })
        .collect()
}

/// The one slot spanning all of `slots` (`None` for none): what a write expands closures over,
/// once, however many slots it places.
pub fn span(slots: impl IntoIterator<Item = Slot>) -> Option<Slot> {
    slots.into_iter().reduce(|a, b| Slot {
        start: a.start.min(b.start),
        end: a.end.max(b.end),
    })
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn slot(start: &str, end: &str) -> Slot {
        Slot::new(at(start), at(end)).unwrap()
    }

    fn rules(before: u32, after: u32) -> RoomRules {
        RoomRules {
            buffer_before_minutes: before,
            buffer_after_minutes: after,
            ..RoomRules::default()
        }
    }

    #[test]
    fn an_interval_touches_the_utc_days_it_overlaps() {
        assert_eq!(
            dates_between(at("2026-06-01T22:00:00Z"), at("2026-06-02T00:00:00Z")),
            [date(2026, 6, 1)]
        );
        assert_eq!(
            dates_between(at("2026-06-01T23:30:00Z"), at("2026-06-02T00:30:00Z")),
            [date(2026, 6, 1), date(2026, 6, 2)]
        );
    }

    #[test]
    fn a_slot_near_midnight_is_listed_on_the_next_day_only_when_its_buffer_reaches_it() {
        let late = slot("2026-06-01T22:00:00Z", "2026-06-01T23:30:00Z");
        assert_eq!(days_blocked(&late, &rules(0, 0)), [date(2026, 6, 1)]);
        assert_eq!(
            days_blocked(&late, &rules(0, 45)),
            [date(2026, 6, 1), date(2026, 6, 2)]
        );
        // Before the room is known, any room's buffers are allowed for.
        assert_eq!(
            days_of(&late),
            [date(2026, 6, 1), date(2026, 6, 2)],
            "MAX_BUFFER reaches past midnight"
        );
    }

    #[test]
    fn likely_days_are_exact_for_offsets_wider_for_local_times_and_none_for_what_is_no_time() {
        let exact = likely_days("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
        assert_eq!(exact, [date(2026, 6, 1)]);
        let local = likely_days("2026-06-01T09:00", "2026-06-01T10:00");
        assert!(local.contains(&date(2026, 5, 31)) && local.contains(&date(2026, 6, 1)));
        assert!(likely_days("tomorrow", "2026-06-01T10:00").is_empty());
        // A week-long guess is no guess: those days are read once the slot is valid.
        assert!(likely_days("2026-06-01T09:00:00Z", "2026-06-08T09:00:00Z").is_empty());
    }

    #[test]
    fn a_booking_listed_on_two_days_is_taken_once_and_a_moving_one_not_at_all() {
        let overnight = DayEntry::new(
            "bkg_a",
            slot("2026-06-01T23:00:00Z", "2026-06-02T01:00:00Z"),
        );
        let other = DayEntry::new(
            "bkg_b",
            slot("2026-06-02T09:00:00Z", "2026-06-02T10:00:00Z"),
        );
        let days = [overnight.clone(), overnight, other];
        assert_eq!(taken_on(&days, &HashSet::new()).len(), 2);
        let moving: HashSet<String> = ["bkg_b".to_owned()].into();
        assert_eq!(
            taken_on(&days, &moving),
            [Taken::Booking {
                booking_id: "bkg_a".into(),
                slot: slot("2026-06-01T23:00:00Z", "2026-06-02T01:00:00Z"),
            }]
        );
    }

    #[test]
    fn a_day_left_by_its_booking_changes_and_one_it_does_not_touch_does_not() {
        let moving: HashSet<String> = ["bkg_a".to_owned()].into();
        let from = slot("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
        let to = slot("2026-06-03T09:00:00Z", "2026-06-03T10:00:00Z");
        let mut left = vec![DayEntry::new("bkg_a", from)];
        assert!(rewrite_day(
            date(2026, 6, 1),
            &mut left,
            &moving,
            &[("bkg_a", to)],
            &rules(0, 0)
        ));
        assert!(left.is_empty());
        let mut joined = Vec::new();
        assert!(rewrite_day(
            date(2026, 6, 3),
            &mut joined,
            &moving,
            &[("bkg_a", to)],
            &rules(0, 0)
        ));
        assert_eq!(joined, [DayEntry::new("bkg_a", to)]);
        let mut untouched = vec![DayEntry::new("bkg_z", to)];
        assert!(!rewrite_day(
            date(2026, 6, 3),
            &mut untouched,
            &moving,
            &[],
            &rules(0, 0)
        ));
    }

    #[test]
    fn the_span_of_slots_covers_each_and_of_none_is_none() {
        let a = slot("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
        let b = slot("2026-06-03T08:00:00Z", "2026-06-03T09:00:00Z");
        assert_eq!(
            span([a, b]),
            Some(slot("2026-06-01T09:00:00Z", "2026-06-03T09:00:00Z"))
        );
        assert_eq!(span([]), None);
    }

    fn any_slot() -> impl Strategy<Value = Slot> {
        // Within about three years, up to a week long, to the second.
        (1_780_000_000i64..1_880_000_000, 1i64..7 * 24 * 3600).prop_map(|(start, length)| {
            let start = Timestamp::from_second(start).unwrap();
            Slot::new(start, start + SignedDuration::from_secs(length)).unwrap()
        })
    }

    proptest! {
        /// The days of an interval are consecutive, start on its first day and end on the day of
        /// its last instant: no day it touches is missed, none it does not is read.
        #[test]
        fn the_days_of_an_interval_are_exactly_those_it_touches(slot in any_slot()) {
            let days = dates_between(slot.start, slot.end);
            let day = |t: Timestamp| t.to_zoned(TimeZone::UTC).date();
            prop_assert_eq!(days.first().copied(), Some(day(slot.start)));
            prop_assert_eq!(days.last().copied(), Some(day(slot.end - SignedDuration::from_nanos(1))));
            for pair in days.windows(2) {
                prop_assert_eq!(pair[0].tomorrow().unwrap(), pair[1]);
            }
        }

        /// Whatever the buffers, the days a slot is listed on are among those read for it
        /// before the room is known.
        #[test]
        fn the_days_read_before_the_room_is_known_cover_those_it_is_listed_on(
            slot in any_slot(), before in 0u32..=240, after in 0u32..=240,
        ) {
            let read = days_of(&slot);
            for listed in days_blocked(&slot, &rules(before, after)) {
                prop_assert!(read.contains(&listed));
            }
        }

        /// Rewriting every day a booking moves across leaves it listed on exactly the days its
        /// new slot touches, once each.
        #[test]
        fn a_moved_booking_is_listed_on_the_days_of_its_new_slot_only(
            from in any_slot(), to in any_slot(), after in 0u32..=240,
        ) {
            let rules = rules(0, after);
            let mut dates: Vec<Date> = days_blocked(&from, &rules);
            dates.extend(days_blocked(&to, &rules));
            dates.sort();
            dates.dedup();
            let moving: HashSet<String> = ["bkg_m".to_owned()].into();
            let listed: Vec<Date> = dates.into_iter().filter(|date| {
                let mut entries: Vec<DayEntry> = days_blocked(&from, &rules)
                    .contains(date)
                    .then(|| DayEntry::new("bkg_m", from))
                    .into_iter()
                    .collect();
                rewrite_day(*date, &mut entries, &moving, &[("bkg_m", to)], &rules);
                entries.iter().filter(|e| e.booking_id == "bkg_m").count() == 1
            }).collect();
            prop_assert_eq!(listed, days_blocked(&to, &rules));
        }
    }
}
