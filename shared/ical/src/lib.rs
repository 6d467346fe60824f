//! Bookings as an iCalendar feed (RFC 5545): each booking one `VEVENT` whose UID is its id (so a
//! calendar client updates it in place), whose `SEQUENCE` grows with every change and whose
//! `STATUS` is `CANCELLED` once it no longer holds the room; times on the room's wall clock with
//! a `VTIMEZONE` per zone, built from the time zone database for the span the events cover.
//!
//! The `ics` crate writes the content lines (escaping, folding at 75 octets); the time zones are
//! ours, since no crate builds a `VTIMEZONE` from `jiff`'s database.

use std::collections::BTreeMap;

use ics::parameters::TzIDParam;
use ics::properties::{
    Created, Description, DtEnd, DtStart, LastModified, Location, Method, Name, Sequence, Status,
    Summary, TzName,
};
use ics::{Daylight, Event, ICalendar, Standard, TimeZone as VTimeZone, escape_text};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use steward_domain::booking::entity::Booking;
use steward_domain::booking::room::Room;
use steward_domain::booking::rules::Slot;
use steward_domain::booking::status::BookingStatus;

/// The most characters of a booking's title, or of a calendar's name, a feed writes; a room's
/// place is four fields of at most 100. What the API takes is shorter (a title is 200); these
/// bound what was stored before it checked, so that a feed of at most 1,000 events stays
/// far under Lambda's 6 MB answer limit.
const MAX_TEXT: usize = 200;
const MAX_PLACE: usize = 4 * 100 + 6;

/// `value` as iCalendar text: no control character (RFC 5545 §3.3.11 forbids them), at most
/// `max` characters, escaped.
fn text(value: &str, max: usize) -> String {
    let printable = steward_domain::text::printable(value, false);
    escape_text(printable.chars().take(max).collect::<String>()).into_owned()
}

/// One booking and the room it is in (its name and time zone).
pub struct FeedEvent<'a> {
    pub booking: &'a Booking,
    pub room: &'a Room,
}

/// The calendar called `name` holding `events`: a feed, or the .ics of a confirmation
/// (`PUBLISH` either way: the booking is already made, nobody is asked to accept it).
pub fn calendar(name: &str, events: &[FeedEvent<'_>]) -> String {
    let mut calendar = ICalendar::new("2.0", "-//Steward//Bookings//EN");
    calendar.push(Method::new("PUBLISH"));
    calendar.push(Name::new(text(name, MAX_TEXT)));
    // What most clients read for the calendar's name (NAME is RFC 7986's, newer).
    calendar.push(ics::components::Property::new(
        "X-WR-CALNAME",
        text(name, MAX_TEXT),
    ));
    calendar.push(ics::properties::RefreshInterval::new("PT15M"));
    // The span each zone must describe: from its earliest start to its latest end.
    let mut spans: BTreeMap<&str, (Timestamp, Timestamp)> = BTreeMap::new();
    let mut written = Vec::with_capacity(events.len());
    for event in events {
        let Ok(zone) = TimeZone::get(&event.room.time_zone) else {
            tracing::warn!(booking = %event.booking.booking_id, "booking left out of a feed: its room's time zone is unknown");
            continue;
        };
        let Slot { start, end } = event.booking.slot;
        let span = spans
            .entry(event.room.time_zone.as_str())
            .or_insert((start, end));
        *span = (span.0.min(start), span.1.max(end));
        written.push(vevent(event, &zone, start, end));
    }
    for (name, span) in spans {
        if let Ok(zone) = TimeZone::get(name) {
            calendar.add_timezone(vtimezone(name, &zone, span));
        }
    }
    for event in written {
        calendar.add_event(event);
    }
    calendar.to_string()
}

fn vevent(
    event: &FeedEvent<'_>,
    zone: &TimeZone,
    start: Timestamp,
    end: Timestamp,
) -> Event<'static> {
    let booking = event.booking;
    let room = event.room;
    let tzid = room.time_zone.clone();
    let stamp = utc(booking.updated_at);
    let mut vevent = Event::new(format!("{}@steward", booking.booking_id), stamp.clone());
    let mut dtstart = DtStart::new(local(zone, start));
    dtstart.add(TzIDParam::new(tzid.clone()));
    vevent.push(dtstart);
    let mut dtend = DtEnd::new(local(zone, end));
    dtend.add(TzIDParam::new(tzid));
    vevent.push(dtend);
    vevent.push(Summary::new(text(&booking.title, MAX_TEXT)));
    let place = [&room.name, &room.building, &room.floor, &room.site]
        .into_iter()
        .filter(|part| !part.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    vevent.push(Location::new(text(&place, MAX_PLACE)));
    vevent.push(Description::new(escape_text(format!(
        "Steward booking {} ({})",
        booking.booking_id, booking.status
    ))));
    // Version 1 is the booking as first written: SEQUENCE 0, then one more per change.
    vevent.push(Sequence::new(booking.version.saturating_sub(1).to_string()));
    vevent.push(match booking.status {
        BookingStatus::Pending => Status::tentative(),
        BookingStatus::Confirmed | BookingStatus::CheckedIn | BookingStatus::Completed => {
            Status::confirmed()
        }
        BookingStatus::Cancelled | BookingStatus::Released | BookingStatus::Rejected => {
            Status::cancelled()
        }
    });
    vevent.push(Created::new(utc(booking.created_at)));
    vevent.push(LastModified::new(stamp));
    vevent
}

/// The zone's observances over `(from, to)`: the one in force at `from`, then each transition
/// up to `to`, as one-off `STANDARD`/`DAYLIGHT` onsets (no RRULE to get wrong: the database
/// knows each change).
fn vtimezone(
    name: &str,
    zone: &TimeZone,
    (from, to): (Timestamp, Timestamp),
) -> VTimeZone<'static> {
    let mut onsets = zone
        .preceding(from)
        .take(1)
        .chain(zone.following(from).take_while(|t| t.timestamp() <= to))
        .map(|transition| {
            let at = transition.timestamp();
            let before = zone.to_offset(at - SignedDuration::from_secs(1));
            let after = transition.offset();
            let start = before.to_datetime(at).strftime("%Y%m%dT%H%M%S").to_string();
            let (from, to) = (offset(before), offset(after));
            let name = TzName::new(transition.abbreviation().to_owned());
            if transition.dst().is_dst() {
                let mut daylight = Daylight::new(start, from, to);
                daylight.push(name);
                Onset::Daylight(daylight)
            } else {
                let mut standard = Standard::new(start, from, to);
                standard.push(name);
                Onset::Standard(standard)
            }
        })
        .collect::<Vec<_>>()
        .into_iter();
    // A zone that has never changed: one standard observance, from the epoch.
    let first = onsets.next().unwrap_or_else(|| {
        let info = zone.to_offset_info(from);
        let fixed = offset(info.offset());
        let mut standard = Standard::new("19700101T000000", fixed.clone(), fixed);
        standard.push(TzName::new(info.abbreviation().to_owned()));
        Onset::Standard(standard)
    });
    let mut vtimezone = match first {
        Onset::Standard(standard) => VTimeZone::standard(name.to_owned(), standard),
        Onset::Daylight(daylight) => VTimeZone::daylight(name.to_owned(), daylight),
    };
    for onset in onsets {
        match onset {
            Onset::Standard(standard) => vtimezone.add_standard(standard),
            Onset::Daylight(daylight) => vtimezone.add_daylight(daylight),
        }
    }
    vtimezone
}

enum Onset {
    Standard(Standard<'static>),
    Daylight(Daylight<'static>),
}

/// `±HHMM` (RFC 5545 3.3.14), seconds dropped (no zone in use has them).
fn offset(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
}

/// A wall-clock time in `zone`, the form `DTSTART;TZID=…:` takes.
fn local(zone: &TimeZone, at: Timestamp) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y%m%dT%H%M%S")
        .to_string()
}

/// An instant as an iCalendar UTC date-time (`20261123T090000Z`).
fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_domain::booking::entity::NewBooking;

    #[test]
    fn offsets_are_written_as_rfc_5545_wants() {
        assert_eq!(offset(Offset::from_seconds(-5 * 3600).unwrap()), "-0500");
        assert_eq!(
            offset(Offset::from_seconds(5 * 3600 + 1800).unwrap()),
            "+0530"
        );
        assert_eq!(offset(Offset::UTC), "+0000");
    }

    #[test]
    fn a_zone_describes_each_change_within_the_span() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let from: Timestamp = "2027-01-10T12:00:00Z".parse().unwrap();
        let to: Timestamp = "2027-12-10T12:00:00Z".parse().unwrap();
        let text = vtimezone("America/New_York", &zone, (from, to)).to_string();
        // In force at `from` (the November 2026 fall-back), then March and November 2027.
        assert!(text.contains("DTSTART:20261101T020000"), "{text}");
        assert!(text.contains("DTSTART:20270314T020000"), "{text}");
        assert!(text.contains("DTSTART:20271107T020000"), "{text}");
        assert_eq!(text.matches("BEGIN:DAYLIGHT").count(), 1, "{text}");
        assert_eq!(text.matches("BEGIN:STANDARD").count(), 2, "{text}");
        assert!(
            text.contains("TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400"),
            "{text}"
        );
    }

    /// The largest feed: 1,000 events (what a feed holds at most), each with the longest
    /// title and place of four-byte characters, stored before lengths were checked.
    #[test]
    fn a_feed_stays_under_lambdas_answer_limit_and_holds_no_control_character() {
        let room = Room {
            name: "\u{1F3E2}".repeat(5_000),
            building: "\u{1F3E2}".repeat(5_000),
            floor: "\u{1F3E2}".repeat(5_000),
            site: "\u{1F3E2}".repeat(5_000),
            time_zone: "Europe/London".into(),
            capacity: 4,
            equipment: Default::default(),
            bookable: true,
            rules: Default::default(),
            required_credentials: Default::default(),
        };
        let start: Timestamp = "2027-03-01T09:00:00Z".parse().unwrap();
        let bookings: Vec<Booking> = (0..1_000)
            .map(|i| {
                Booking::new(NewBooking {
                    tenant_id: "t_1",
                    booking_id: &format!("bkg_{i:060}"),
                    room_id: "rm_1",
                    organiser: "usr_1",
                    title: &format!("\u{7}\u{0}{}", "\u{1F4C5}".repeat(60_000)),
                    slot: Slot::new(start, start + SignedDuration::from_hours(1)).unwrap(),
                    approval_required: false,
                    at: start,
                })
            })
            .collect();
        let events: Vec<FeedEvent<'_>> = bookings
            .iter()
            .map(|booking| FeedEvent {
                booking,
                room: &room,
            })
            .collect();
        let feed = calendar(&"\u{1F4C5}".repeat(60_000), &events);
        assert!(feed.len() < 4_000_000, "{} bytes", feed.len());
        assert!(
            !feed
                .chars()
                .any(|c| c.is_control() && c != '\r' && c != '\n'),
            "no control character but the line breaks"
        );
    }

    #[test]
    fn a_zone_without_changes_has_one_observance() {
        let zone = TimeZone::get("Asia/Kolkata").unwrap();
        let from: Timestamp = "2027-01-10T12:00:00Z".parse().unwrap();
        let text = vtimezone("Asia/Kolkata", &zone, (from, from)).to_string();
        assert_eq!(text.matches("BEGIN:STANDARD").count(), 1, "{text}");
        assert!(text.contains("TZOFFSETTO:+0530"), "{text}");
    }
}
