//! Bookings and series as the API answers them and the audit log records them: one shape for
//! every function that shows one.

use std::collections::HashMap;

use serde_json::{Value, json};
use steward_domain::booking::entity::Booking;
use steward_domain::booking::series::{Occurrence, Outcome, Series};

use crate::obstacle;

/// A booking, without its check-in PIN (no part of its history: audit entries and exports
/// leave it out; an answer to someone attending it adds it).
pub fn booking(record: &Booking) -> Value {
    json!({
        "id": record.booking_id,
        "room_id": record.room_id,
        "organiser": record.organiser,
        "title": record.title,
        "start": record.slot.start,
        "end": record.slot.end,
        "status": record.status,
        "status_reason": record.status_reason,
        "decided_by": record.decided_by,
        "series_id": record.series_id,
        "occurrence": record.occurrence,
        "invitees": record.invitees,
        "version": record.version,
        "override_reason": record.override_reason,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    })
}

/// A series with each occurrence as its booking is now, as the audit log records it.
pub fn series(series: &Series, bookings: &HashMap<String, Booking>) -> Value {
    series_named(series, bookings, &HashMap::new())
}

/// A series as answered: a skipped occurrence's obstacles name the organisers `holders` knows
/// (booking id to name).
pub fn series_named(
    series: &Series,
    bookings: &HashMap<String, Booking>,
    holders: &HashMap<String, String>,
) -> Value {
    let occurrences: Vec<Value> = series
        .occurrences
        .iter()
        .map(|o| {
            let booking = o.booking_id.as_ref().and_then(|id| bookings.get(id));
            let obstacles: Vec<_> = o
                .met
                .iter()
                .map(|conflict| {
                    let mut named = obstacle(conflict);
                    named.held_by = named
                        .booking_id
                        .as_ref()
                        .and_then(|id| holders.get(id))
                        .cloned();
                    named
                })
                .collect();
            json!({
                "index": o.index,
                "local_start": o.local_start,
                "start": booking.map(|b| b.slot.start).or(o.start),
                "end": booking.map(|b| b.slot.end).or(o.end),
                "outcome": o.outcome,
                "booking_id": o.booking_id,
                "status": booking.map(|b| b.status),
                "reason": o.reason,
                "obstacles": obstacles,
            })
        })
        .collect();
    json!({
        "id": series.series_id,
        "room_id": series.room_id,
        "organiser": series.organiser,
        "title": series.title,
        "recurrence": series.recurrence,
        "time_zone": series.time_zone,
        "local_start": series.local_start,
        "local_end": series.local_end,
        "on_conflict": series.on_conflict,
        "version": series.version,
        "booked": series.occurrences.iter().filter(|o| o.outcome == Outcome::Booked).count(),
        "skipped": series.occurrences.iter().filter(|o| o.outcome == Outcome::Skipped).count(),
        "occurrences": occurrences,
        "created_at": series.created_at,
    })
}

/// The occurrences from `from_index` on whose bookings are still pending or confirmed: what a
/// change or cancellation "from this one on" touches.
pub fn open_from<'a>(
    series: &'a Series,
    bookings: &'a HashMap<String, Booking>,
    from_index: u32,
) -> impl Iterator<Item = (&'a Occurrence, &'a Booking)> {
    series
        .occurrences
        .iter()
        .filter(move |o| o.index >= from_index)
        .filter_map(|o| Some((o, bookings.get(o.booking_id.as_deref()?)?)))
        .filter(|(_, booking)| booking.status.is_upcoming())
}
