//! Utilisation (SPEC §C): per room and per site over a window, booked hours over available
//! hours, the check-in and no-show rates, and the peak hours of the day on the room's clock.
//!
//! - Available: the window, less the room's closures (a room has no opening hours).
//! - Booked: the time bookings held the room (pending, confirmed, checked in, completed),
//!   clipped to the window; cancelled, rejected and released bookings gave it back.
//! - Check-in and no-show rates: of the bookings in rooms that need a check-in and that have
//!   started, those checked in (or completed) and those released as no-shows; `None` when
//!   there were none.
//! - Peak hours: the three hours of the day (local) holding the most booked time.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::rules::Slot;
use super::status::BookingStatus;

/// Peak hours listed per room and site.
const PEAKS: usize = 3;

/// A room as utilisation sees it.
#[derive(Debug, Clone)]
pub struct RoomFacts {
    pub room_id: String,
    pub name: String,
    pub site: String,
    pub zone: TimeZone,
    pub check_in_required: bool,
    /// Its closures' occurrences within the window.
    pub closed: Vec<Slot>,
}

/// A booking as utilisation sees it.
#[derive(Debug, Clone)]
pub struct BookingFacts {
    pub room_id: String,
    pub slot: Slot,
    pub status: BookingStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtilisationReport {
    pub from: Timestamp,
    pub to: Timestamp,
    pub rooms: Vec<Figures>,
    pub sites: Vec<Figures>,
}

/// One room's or site's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The room id, or the site's name.
    pub id: String,
    /// The room's name (its site for a room; empty for a site).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub site: String,
    pub booked_hours: f64,
    pub available_hours: f64,
    /// Booked over available (0 when nothing was available).
    pub utilisation: f64,
    pub check_ins: u32,
    pub no_shows: u32,
    pub check_in_rate: Option<f64>,
    pub no_show_rate: Option<f64>,
    pub peak_hours: Vec<PeakHour>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakHour {
    /// The hour of the day on the room's clock, 0–23.
    pub hour: i8,
    pub booked_hours: f64,
}

/// What one room or site adds up to before the ratios.
#[derive(Debug, Default)]
struct Tally {
    booked: SignedDuration,
    available: SignedDuration,
    check_ins: u32,
    no_shows: u32,
    by_hour: BTreeMap<i8, SignedDuration>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.booked += other.booked;
        self.available += other.available;
        self.check_ins += other.check_ins;
        self.no_shows += other.no_shows;
        for (hour, time) in &other.by_hour {
            *self.by_hour.entry(*hour).or_default() += *time;
        }
    }

    fn figures(&self, id: String, name: String, site: String) -> Figures {
        let hours = |d: SignedDuration| (d.as_secs_f64() / 3600.0 * 100.0).round() / 100.0;
        let rate = |part: u32| {
            let all = self.check_ins + self.no_shows;
            (all > 0).then(|| (f64::from(part) / f64::from(all) * 1000.0).round() / 1000.0)
        };
        let mut peaks: Vec<(i8, SignedDuration)> =
            self.by_hour.iter().map(|(h, d)| (*h, *d)).collect();
        // Most booked first; the earlier hour first among equals.
        peaks.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Figures {
            id,
            name,
            site,
            booked_hours: hours(self.booked),
            available_hours: hours(self.available),
            utilisation: if self.available.is_zero() {
                0.0
            } else {
                (self.booked.as_secs_f64() / self.available.as_secs_f64() * 1000.0).round() / 1000.0
            },
            check_ins: self.check_ins,
            no_shows: self.no_shows,
            check_in_rate: rate(self.check_ins),
            no_show_rate: rate(self.no_shows),
            peak_hours: peaks
                .into_iter()
                .take(PEAKS)
                .map(|(hour, time)| PeakHour {
                    hour,
                    booked_hours: hours(time),
                })
                .collect(),
        }
    }
}

/// The figures of `rooms` over `window` from `bookings`; `now` decides which have started.
pub fn utilisation(
    window: Slot,
    rooms: &[RoomFacts],
    bookings: &[BookingFacts],
    now: Timestamp,
) -> UtilisationReport {
    let mut per_room: Vec<(&RoomFacts, Tally)> = rooms
        .iter()
        .map(|room| {
            let tally = Tally {
                available: window.duration() - closed_within(&room.closed, &window),
                ..Tally::default()
            };
            (room, tally)
        })
        .collect();
    for booking in bookings {
        let Some((room, tally)) = per_room
            .iter_mut()
            .find(|(room, _)| room.room_id == booking.room_id)
        else {
            continue;
        };
        if matches!(
            booking.status,
            BookingStatus::Pending
                | BookingStatus::Confirmed
                | BookingStatus::CheckedIn
                | BookingStatus::Completed
        ) && let Some(held) = overlap(&booking.slot, &window)
        {
            tally.booked += held.duration();
            spread_by_hour(&held, &room.zone, &mut tally.by_hour);
        }
        if room.check_in_required && booking.slot.start <= now {
            match booking.status {
                BookingStatus::CheckedIn | BookingStatus::Completed => tally.check_ins += 1,
                BookingStatus::Released => tally.no_shows += 1,
                _ => {}
            }
        }
    }
    let mut sites: BTreeMap<&str, Tally> = BTreeMap::new();
    for (room, tally) in &per_room {
        sites.entry(room.site.as_str()).or_default().add(tally);
    }
    UtilisationReport {
        from: window.start,
        to: window.end,
        rooms: per_room
            .iter()
            .map(|(room, tally)| {
                tally.figures(room.room_id.clone(), room.name.clone(), room.site.clone())
            })
            .collect(),
        sites: sites
            .into_iter()
            .map(|(site, tally)| tally.figures(site.to_owned(), String::new(), String::new()))
            .collect(),
    }
}

fn overlap(a: &Slot, b: &Slot) -> Option<Slot> {
    Slot::new(a.start.max(b.start), a.end.min(b.end)).ok()
}

/// The time `closed` covers within `window`, overlapping closures counted once.
fn closed_within(closed: &[Slot], window: &Slot) -> SignedDuration {
    let mut parts: Vec<Slot> = closed.iter().filter_map(|c| overlap(c, window)).collect();
    parts.sort_by_key(|slot| slot.start);
    let mut total = SignedDuration::ZERO;
    let mut reach: Option<Timestamp> = None;
    for part in parts {
        let start = reach.map_or(part.start, |r| part.start.max(r));
        if part.end > start {
            total += part.end.duration_since(start);
        }
        reach = Some(reach.map_or(part.end, |r| r.max(part.end)));
    }
    total
}

/// Adds `held` to the hours of the day it spans, on `zone`'s clock.
fn spread_by_hour(held: &Slot, zone: &TimeZone, by_hour: &mut BTreeMap<i8, SignedDuration>) {
    let mut at = held.start;
    while at < held.end {
        let local = at.to_zoned(zone.clone());
        // The start of this local hour, then an hour on: across a clock change the next local
        // hour begins an hour later in time too.
        let next_hour = local
            .with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .map(|hour| hour.timestamp() + SignedDuration::from_hours(1))
            .ok()
            .filter(|next| *next > at)
            .unwrap_or(at + SignedDuration::from_hours(1));
        let until = next_hour.min(held.end);
        *by_hour.entry(local.hour()).or_default() += until.duration_since(at);
        at = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(start: &str, end: &str) -> Slot {
        Slot::new(start.parse().unwrap(), end.parse().unwrap()).unwrap()
    }

    fn room(id: &str, site: &str, check_in_required: bool, closed: Vec<Slot>) -> RoomFacts {
        RoomFacts {
            room_id: id.into(),
            name: id.to_uppercase(),
            site: site.into(),
            zone: TimeZone::get("Europe/London").unwrap(),
            check_in_required,
            closed,
        }
    }

    fn booking(room: &str, slot: Slot, status: BookingStatus) -> BookingFacts {
        BookingFacts {
            room_id: room.into(),
            slot,
            status,
        }
    }

    #[test]
    fn booked_over_available_with_rates_and_peaks() {
        // Two days in June (London is UTC+1): 48 hours, 4 of them closed in room a.
        let window = slot("2027-06-01T00:00:00Z", "2027-06-03T00:00:00Z");
        let rooms = [
            room(
                "a",
                "north",
                true,
                vec![
                    slot("2027-06-01T10:00:00Z", "2027-06-01T13:00:00Z"),
                    slot("2027-06-01T12:00:00Z", "2027-06-01T14:00:00Z"),
                ],
            ),
            room("b", "north", false, vec![]),
        ];
        let bookings = [
            // 09:00–10:30 local, checked in.
            booking(
                "a",
                slot("2027-06-01T08:00:00Z", "2027-06-01T09:30:00Z"),
                BookingStatus::Completed,
            ),
            // 09:00–10:00 local the next day, released: no time booked, a no-show.
            booking(
                "a",
                slot("2027-06-02T08:00:00Z", "2027-06-02T09:00:00Z"),
                BookingStatus::Released,
            ),
            // Starting before the window: only its part inside counts (00:00–01:00 UTC).
            booking(
                "b",
                slot("2027-05-31T23:00:00Z", "2027-06-01T01:00:00Z"),
                BookingStatus::Confirmed,
            ),
            // Cancelled: nothing.
            booking(
                "b",
                slot("2027-06-02T08:00:00Z", "2027-06-02T12:00:00Z"),
                BookingStatus::Cancelled,
            ),
        ];
        let now = "2027-06-03T00:00:00Z".parse().unwrap();
        let report = utilisation(window, &rooms, &bookings, now);
        let a = &report.rooms[0];
        assert_eq!(a.available_hours, 44.0);
        assert_eq!(a.booked_hours, 1.5);
        assert_eq!(a.utilisation, 0.034);
        assert_eq!((a.check_ins, a.no_shows), (1, 1));
        assert_eq!(a.check_in_rate, Some(0.5));
        assert_eq!(a.no_show_rate, Some(0.5));
        assert_eq!(
            a.peak_hours,
            [
                PeakHour {
                    hour: 9,
                    booked_hours: 1.0
                },
                PeakHour {
                    hour: 10,
                    booked_hours: 0.5
                }
            ]
        );
        let b = &report.rooms[1];
        assert_eq!((b.booked_hours, b.available_hours), (1.0, 48.0));
        assert_eq!(b.check_in_rate, None, "b needs no check-in");
        assert_eq!(b.peak_hours[0].hour, 1, "00:00 UTC is 01:00 in London");
        let north = &report.sites[0];
        assert_eq!(north.id, "north");
        assert_eq!((north.booked_hours, north.available_hours), (2.5, 92.0));
        assert_eq!(north.check_in_rate, Some(0.5));
    }

    #[test]
    fn hours_follow_the_rooms_clock_across_a_change() {
        // 00:30–03:30 UTC on London's spring-forward day: local 00:30–01:00, then 02:00–04:30.
        let held = slot("2027-03-28T00:30:00Z", "2027-03-28T03:30:00Z");
        let mut by_hour = BTreeMap::new();
        spread_by_hour(
            &held,
            &TimeZone::get("Europe/London").unwrap(),
            &mut by_hour,
        );
        let total: SignedDuration = by_hour.values().copied().sum();
        assert_eq!(total, SignedDuration::from_hours(3));
        assert_eq!(by_hour[&0], SignedDuration::from_mins(30));
        assert!(
            !by_hour.contains_key(&1),
            "01:00 local does not exist that day"
        );
        assert_eq!(by_hour[&2], SignedDuration::from_hours(1));
        assert_eq!(by_hour[&4], SignedDuration::from_mins(30));
    }
}
