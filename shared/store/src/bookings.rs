//! Bookings and the calendar that keeps them from overlapping (SPEC §C: no double booking,
//! ever).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | booking | `T#<tenant>` | `BOOKING#<id>` |
//! | a room's day | `T#<tenant>#ROOM#<room>` | `DAY#<UTC date>` |
//!
//! A day item lists what blocks the room that day (each booking with its buffered interval) and
//! has a version. A write reads the days its buffered interval touches, checks them in the
//! domain, and commits with each day conditioned on the version it read: of concurrent writers
//! on a day exactly one commits, the others reload and see it.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::attributes::{Item, n};
use crate::audit::AuditEntry;
use crate::write::{TransactError, failed_condition, put};
use crate::{StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRecord {
    pub pk: String,
    pub sk: String,
    pub booking_id: String,
    pub tenant_id: String,
    pub room_id: String,
    pub organiser: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    /// `pending`, `confirmed`, `checked_in`, `completed`, `cancelled`, `released`, `rejected`.
    pub status: String,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

impl BookingRecord {
    pub fn key(tenant_id: &str, booking_id: &str) -> (String, String) {
        (format!("T#{tenant_id}"), format!("BOOKING#{booking_id}"))
    }
}

/// One booking as a day of its room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayEntry {
    pub booking_id: String,
    /// The booking's own interval, RFC 3339 UTC; buffers are applied from the room's rules.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRecord {
    pub pk: String,
    pub sk: String,
    pub version: u64,
    pub entries: Vec<DayEntry>,
}

/// A day as read: its entries and the version a write must find again (0: no item yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    pub version: u64,
    pub entries: Vec<DayEntry>,
}

fn day_pk(tenant_id: &str, room_id: &str) -> String {
    format!("T#{tenant_id}#ROOM#{room_id}")
}

fn day_sk(date: Date) -> String {
    format!("DAY#{date}")
}

/// Why a booking write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BookingWriteError {
    /// A day changed since it was read: read again and retry.
    #[error("the room's calendar moved on")]
    Moved,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct BookingStore {
    table: Table,
}

impl BookingStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The room's days, consistent reads.
    pub async fn days(
        &self,
        tenant_id: &str,
        room_id: &str,
        dates: &[Date],
    ) -> Result<Vec<Day>, StoreError> {
        let pk = day_pk(tenant_id, room_id);
        let mut days = Vec::with_capacity(dates.len());
        for &date in dates {
            let record: Option<DayRecord> = self.table.get(pk.clone(), day_sk(date), true).await?;
            days.push(match record {
                Some(record) => Day {
                    date,
                    version: record.version,
                    entries: record.entries,
                },
                None => Day {
                    date,
                    version: 0,
                    entries: Vec::new(),
                },
            });
        }
        Ok(days)
    }

    /// Writes a new booking and the days it now appears in, each day conditioned on the
    /// version it was read at.
    pub async fn create(
        &self,
        booking: &BookingRecord,
        days: &[Day],
        audit: &AuditEntry,
    ) -> Result<(), BookingWriteError> {
        let table = self.table.name();
        let mut items = vec![put(booking, table, Some("attribute_not_exists(pk)"))?];
        for day in days {
            items.push(self.day_write(&booking.tenant_id, &booking.room_id, day)?);
        }
        items.push(put(audit, table, None)?);
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if moved(&error) => Err(BookingWriteError::Moved),
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        booking_id: &str,
    ) -> Result<Option<BookingRecord>, StoreError> {
        let (pk, sk) = BookingRecord::key(tenant_id, booking_id);
        self.table.get(pk, sk, true).await
    }

    /// A day's new state, written only over the version it was read at.
    fn day_write(
        &self,
        tenant_id: &str,
        room_id: &str,
        day: &Day,
    ) -> Result<TransactWriteItem, StoreError> {
        let record = DayRecord {
            pk: day_pk(tenant_id, room_id),
            sk: day_sk(day.date),
            version: day.version + 1,
            entries: day.entries.clone(),
        };
        let item: Item =
            serde_dynamo::to_item(&record).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let mut write = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(item));
        write = if day.version == 0 {
            write.condition_expression("attribute_not_exists(pk)")
        } else {
            write
                .condition_expression("version = :read")
                .expression_attribute_values(":read", n(day.version))
        };
        let write = write.build().map_err(|e| StoreError::Failed(Box::new(e)))?;
        Ok(TransactWriteItem::builder().put(write).build())
    }
}

/// Whether a transaction failed on a day's version (any condition but the booking's own).
fn moved(error: &TransactError) -> bool {
    failed_condition(error).is_some()
}

/// The UTC dates an interval touches.
pub fn dates_between(start: jiff::Timestamp, end: jiff::Timestamp) -> Vec<Date> {
    let utc = jiff::tz::TimeZone::UTC;
    let first = start.to_zoned(utc.clone()).date();
    // `end` is exclusive: an interval ending at midnight does not touch the next day.
    let last = (end - jiff::SignedDuration::from_nanos(1))
        .to_zoned(utc)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_touches_the_utc_days_it_overlaps() {
        let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(
            dates_between(at("2026-06-01T22:00:00Z"), at("2026-06-02T00:00:00Z")),
            [jiff::civil::date(2026, 6, 1)]
        );
        assert_eq!(
            dates_between(at("2026-06-01T23:30:00Z"), at("2026-06-02T00:30:00Z")),
            [jiff::civil::date(2026, 6, 1), jiff::civil::date(2026, 6, 2)]
        );
    }
}
