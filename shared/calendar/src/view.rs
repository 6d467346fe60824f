//! Bookings and series as the API answers them and the audit log records them: one shape for
//! every function that shows one.

use std::collections::HashMap;

use serde_json::{Value, json};
use steward_domain::booking::series::Outcome;
use steward_store::bookings::{BookingRecord, OccurrenceRecord, SeriesRecord};

/// A booking, without its check-in PIN (no part of its history: audit entries and exports
/// leave it out; an answer to someone attending it adds it).
pub fn booking(record: &BookingRecord) -> Value {
    json!({
        "id": record.booking_id,
        "room_id": record.room_id,
        "organiser": record.organiser,
        "title": record.title,
        "start": record.start,
        "end": record.end,
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

/// A series with each occurrence as its booking is now.
pub fn series(series: &SeriesRecord, bookings: &HashMap<String, BookingRecord>) -> Value {
    let occurrences: Vec<Value> = series
        .occurrences
        .iter()
        .map(|o| {
            let booking = o.booking_id.as_ref().and_then(|id| bookings.get(id));
            json!({
                "index": o.index,
                "local_start": o.local_start,
                "start": booking.map(|b| b.start.clone()).or_else(|| o.start.clone()),
                "end": booking.map(|b| b.end.clone()).or_else(|| o.end.clone()),
                "outcome": o.outcome,
                "booking_id": o.booking_id,
                "status": booking.map(|b| b.status),
                "reason": o.reason,
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
    series: &'a SeriesRecord,
    bookings: &'a HashMap<String, BookingRecord>,
    from_index: u32,
) -> impl Iterator<Item = (&'a OccurrenceRecord, &'a BookingRecord)> {
    series
        .occurrences
        .iter()
        .filter(move |o| o.index >= from_index)
        .filter_map(|o| Some((o, bookings.get(o.booking_id.as_deref()?)?)))
        .filter(|(_, booking)| booking.status.is_upcoming())
}
