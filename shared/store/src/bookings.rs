//! Bookings and the calendar that keeps them from overlapping (SPEC §C: no double booking,
//! ever).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | booking | `T#<tenant>` | `BOOKING#<id>` |
//! | a room's day | `T#<tenant>#ROOM#<room>` | `DAY#<UTC date>` |
//!
//! A booking is indexed by start time three ways: per room (`gsi1`), per organiser (`gsi2`)
//! and per tenant (`gsi3`).
//!
//! A day item lists what blocks the room that day (each booking with its buffered interval) and
//! has a version. A write reads the room and the days its intervals touch, checks them in the
//! domain, and commits with each day conditioned on the version it read and the room on its
//! version (its rules and closures are those checked): of concurrent writers on a day exactly
//! one commits, the others reload and see it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
pub use steward_domain::booking::days::DayEntry;
use steward_domain::booking::entity::Booking;
use steward_domain::booking::rules::Slot;
use steward_domain::booking::series::Series;

use crate::attributes::{Item, n};
use crate::audit::AuditEntry;
use crate::ledger::{Ledger, LedgerPut};
use crate::preconditions::Precondition;
use crate::table::{Index, PageKey, Query};
use crate::write::{TransactError, cancellation_codes, key, put, versioned_put};
use crate::{StoreError, Table};

/// A booking's item key.
pub fn booking_key(tenant_id: &str, booking_id: &str) -> (String, String) {
    (format!("T#{tenant_id}"), format!("BOOKING#{booking_id}"))
}

/// A booking as stored: the booking, its key and the index keys derived from it, so that no
/// item carries keys that disagree with its fields. Read back, the keys are left behind.
#[derive(Serialize)]
struct Stored<'a> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    booking: &'a Booking,
    gsi1pk: String,
    gsi1sk: String,
    gsi2pk: String,
    gsi2sk: String,
    gsi3pk: String,
    gsi3sk: String,
    /// Bookings awaiting release by their deadline (sparse: only while `release_at` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi4pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi4sk: Option<String>,
}

impl<'a> Stored<'a> {
    fn new(booking: &'a Booking) -> Self {
        let t = &booking.tenant_id;
        let (pk, sk) = booking_key(t, &booking.booking_id);
        let by_start = format!("{}#{}", booking.slot.start, booking.booking_id);
        Self {
            pk,
            sk,
            booking,
            gsi1pk: room_bookings(t, &booking.room_id),
            gsi1sk: by_start.clone(),
            gsi2pk: organiser_bookings(t, &booking.organiser),
            gsi2sk: by_start.clone(),
            gsi3pk: tenant_bookings(t),
            gsi3sk: by_start,
            gsi4pk: booking
                .release_at
                .map(|_| release_partition(&booking.booking_id)),
            gsi4sk: booking
                .release_at
                .map(|at| format!("{at}#{t}#{}", booking.booking_id)),
        }
    }
}

fn room_bookings(tenant_id: &str, room_id: &str) -> String {
    format!("T#{tenant_id}#ROOM#{room_id}#BOOKINGS")
}

fn organiser_bookings(tenant_id: &str, user_id: &str) -> String {
    format!("T#{tenant_id}#USER#{user_id}#BOOKINGS")
}

/// Bookings due for release are spread over this many `gsi4` partitions, so that no one of
/// them takes every booking write of the platform.
pub const RELEASE_SHARDS: u32 = 8;

fn release_partition(booking_id: &str) -> String {
    format!(
        "RELEASE#{}",
        crate::write::spread(booking_id, RELEASE_SHARDS)
    )
}

fn tenant_bookings(tenant_id: &str) -> String {
    format!("T#{tenant_id}#BOOKINGS")
}

/// Whose bookings a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing<'a> {
    Room(&'a str),
    Organiser(&'a str),
    Tenant,
}

impl Listing<'_> {
    /// The index and partition that list these bookings by start.
    fn index(self, tenant_id: &str) -> (Index, String) {
        match self {
            Listing::Room(room_id) => (Index::Gsi1, room_bookings(tenant_id, room_id)),
            Listing::Organiser(user_id) => (Index::Gsi2, organiser_bookings(tenant_id, user_id)),
            Listing::Tenant => (Index::Gsi3, tenant_bookings(tenant_id)),
        }
    }
}

fn series_key(tenant_id: &str, series_id: &str) -> (String, String) {
    (format!("T#{tenant_id}"), format!("SERIES#{series_id}"))
}

/// A series as stored: the series and its key.
#[derive(Serialize)]
struct StoredSeries<'a> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    series: &'a Series,
}

impl<'a> StoredSeries<'a> {
    fn new(series: &'a Series) -> Self {
        let (pk, sk) = series_key(&series.tenant_id, &series.series_id);
        Self { pk, sk, series }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DayRecord {
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

impl Day {
    /// The day as stored, or empty at version 0 when no item exists yet.
    fn read(date: Date, record: Option<DayRecord>) -> Self {
        match record {
            Some(record) => Self {
                date,
                version: record.version,
                entries: record.entries,
            },
            None => Self {
                date,
                version: 0,
                entries: Vec::new(),
            },
        }
    }
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
    /// A day or the room changed since it was read (or another transaction held one): read
    /// again and retry.
    #[error("the room's calendar moved on")]
    Moved,
    /// A booking itself changed since it was read (its ETag is stale).
    #[error("the booking changed")]
    Stale,
    /// The write's precondition of this index does not hold (the first, when several).
    #[error("precondition {0} of the write does not hold")]
    Unmet(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One booking a calendar write puts, and the version it must still be at (`None`: it is new).
#[derive(Debug, Clone, Copy)]
pub struct BookingPut<'a> {
    pub record: &'a Booking,
    pub expected: Option<u64>,
}

/// A series a calendar write puts, and the version it must still be at (`None`: it is new).
#[derive(Debug, Clone, Copy)]
pub struct SeriesPut<'a> {
    pub record: &'a Series,
    pub expected: Option<u64>,
}

/// A DynamoDB transaction holds at most this many items.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// Everything one calendar write commits, all or nothing.
#[derive(Debug, Clone, Copy)]
pub struct CalendarWrite<'a> {
    pub tenant_id: &'a str,
    pub room_id: &'a str,
    /// The room's version its rules and closures were read at (`None`: the room is archived
    /// and the write frees its calendar only).
    pub room_version: Option<u64>,
    pub bookings: &'a [BookingPut<'a>],
    pub series: Option<SeriesPut<'a>>,
    /// Only the days whose entries changed.
    pub days: &'a [Day],
    pub audit: &'a [AuditEntry],
    /// What the change tells people, kept in the outbox until the notifier has it.
    pub notices: &'a [steward_domain::booking::notice::Notice],
    /// The organiser's ledger, while the tenant has a quota.
    pub ledger: Option<LedgerPut<'a>>,
    /// What the write also requires of items it does not change.
    pub preconditions: &'a [Precondition],
}

/// What a booking write reads first.
#[derive(Debug)]
pub struct RoomAndDays {
    pub room: Option<crate::rooms::RoomRecord>,
    pub days: Vec<Day>,
    /// The member's ledger, when asked for.
    pub ledger: Option<Ledger>,
}

/// An item read in a batch, as serde shapes it.
fn parse<T: serde::de::DeserializeOwned>(item: Item, tenant_id: &str) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt {
        key: format!("a booking item of {tenant_id}"),
        problem: e.to_string(),
    })
}

#[derive(Clone, Debug)]
pub struct BookingStore {
    table: Table,
}

impl CalendarWrite<'_> {
    /// The transaction items this write takes.
    pub fn items(&self) -> usize {
        self.bookings.len()
            + usize::from(self.series.is_some())
            + self.days.len()
            + usize::from(self.room_version.is_some())
            + self.audit.len()
            + self.notices.len()
            + usize::from(self.ledger.is_some())
    }
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
        let rooms = [room_id];
        let mut read = self.days_of_rooms(tenant_id, &rooms, dates).await?;
        Ok(read.remove(room_id).unwrap_or_default())
    }

    /// The room, its days and (when `member` is given) that member's ledger, in one batch of
    /// consistent reads: a booking write's reads cost one request when the days it needs were
    /// guessed right. A member without a ledger gets an empty one (version 0).
    pub async fn room_and_days(
        &self,
        tenant_id: &str,
        room_id: &str,
        dates: &[Date],
        member: Option<&str>,
    ) -> Result<RoomAndDays, StoreError> {
        let (room_pk, room_sk) = crate::rooms::RoomRecord::key(tenant_id, room_id);
        let mut keys = vec![key(room_pk, room_sk.clone())];
        keys.extend(
            dates
                .iter()
                .map(|date| key(day_pk(tenant_id, room_id), day_sk(*date))),
        );
        if let Some(member) = member {
            keys.push(crate::ledger::ledger_key(tenant_id, member));
        }
        let mut room = None;
        let mut ledger = member.map(|_| Ledger::default());
        let mut found: HashMap<String, DayRecord> = HashMap::new();
        for item in self.table.batch_get(keys).await? {
            let is_room = item
                .get("sk")
                .and_then(|sk| sk.as_s().ok())
                .is_some_and(|sk| *sk == room_sk);
            if is_room {
                room = Some(parse(item, tenant_id)?);
            } else if crate::ledger::is_ledger(&item) {
                ledger = Some(Ledger::from_item(item)?);
            } else {
                let record: DayRecord = parse(item, tenant_id)?;
                found.insert(record.sk.clone(), record);
            }
        }
        let days = dates
            .iter()
            .map(|&date| Day::read(date, found.remove(&day_sk(date))))
            .collect();
        Ok(RoomAndDays { room, days, ledger })
    }

    /// The days of many rooms, consistent reads, batched: what availability across rooms reads.
    pub async fn days_of_rooms(
        &self,
        tenant_id: &str,
        room_ids: &[&str],
        dates: &[Date],
    ) -> Result<HashMap<String, Vec<Day>>, StoreError> {
        let wanted: Vec<(&str, Date)> = room_ids
            .iter()
            .flat_map(|room| dates.iter().map(move |date| (*room, *date)))
            .collect();
        let keys = wanted
            .iter()
            .map(|(room, date)| key(day_pk(tenant_id, room), day_sk(*date)))
            .collect();
        let mut found: HashMap<(String, String), DayRecord> = HashMap::new();
        for item in self.table.batch_get(keys).await? {
            let record: DayRecord = parse(item, tenant_id)?;
            found.insert((record.pk.clone(), record.sk.clone()), record);
        }
        let mut days: HashMap<String, Vec<Day>> = HashMap::new();
        for (room, date) in wanted {
            let record = found.remove(&(day_pk(tenant_id, room), day_sk(date)));
            days.entry(room.to_owned())
                .or_default()
                .push(Day::read(date, record));
        }
        Ok(days)
    }

    /// Commits one calendar write: each booking over the version it must still be at, each
    /// day over the version it was read at, the room over the version its rules were read at.
    pub async fn write(&self, write: CalendarWrite<'_>) -> Result<(), BookingWriteError> {
        let table = self.table.name();
        let mut items = Vec::new();
        for booking in write.bookings {
            items.push(versioned_put(
                &Stored::new(booking.record),
                table,
                booking.expected,
            )?);
        }
        if let Some(series) = write.series {
            items.push(versioned_put(
                &StoredSeries::new(series.record),
                table,
                series.expected,
            )?);
        }
        for day in write.days {
            items.push(self.day_write(write.tenant_id, write.room_id, day)?);
        }
        if let Some(version) = write.room_version {
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some({
                    let (pk, sk) = crate::rooms::RoomRecord::key(write.tenant_id, write.room_id);
                    key(pk, sk)
                }))
                .condition_expression("version = :version")
                .expression_attribute_values(":version", n(version))
                .build()
                .map_err(|e| StoreError::Failed(Box::new(e)))?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        for audit in write.audit {
            items.push(put(audit, table, None)?);
        }
        for notice in write.notices {
            items.push(crate::notices::outbox_put(notice, table)?);
        }
        if let Some(ledger) = &write.ledger {
            items.push(ledger.item(write.tenant_id, table)?);
        }
        let first_precondition = items.len();
        for precondition in write.preconditions {
            items.push(precondition.item(table)?);
        }
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) => Err(classify(&error, &write, first_precondition)
                .unwrap_or_else(|| BookingWriteError::Store(StoreError::from_sdk(error)))),
        }
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        booking_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        let (pk, sk) = booking_key(tenant_id, booking_id);
        self.table.get(pk, sk, true).await
    }

    pub async fn series(
        &self,
        tenant_id: &str,
        series_id: &str,
    ) -> Result<Option<Series>, StoreError> {
        let (pk, sk) = series_key(tenant_id, series_id);
        self.table.get(pk, sk, true).await
    }

    /// Bookings by id, consistent reads (at most 100 a call, batched).
    pub async fn many(
        &self,
        tenant_id: &str,
        booking_ids: &[&str],
    ) -> Result<Vec<Booking>, StoreError> {
        let keys = booking_ids.iter().map(|id| booking_key(tenant_id, id));
        self.table
            .get_many(keys, &format!("a booking of {tenant_id}"))
            .await
    }

    /// One page of bookings starting in `window`, by start time.
    pub async fn page(
        &self,
        tenant_id: &str,
        listing: Listing<'_>,
        window: Slot,
        limit: u32,
        start: Option<PageKey>,
    ) -> Result<(Vec<Booking>, Option<PageKey>), StoreError> {
        let (index, partition) = listing.index(tenant_id);
        let (from, to) = bounds(window);
        let query = Query::partition(&partition).on(index).between(&from, &to);
        let (bookings, next): (Vec<Booking>, _) =
            self.table.query_page(query, limit, start).await?;
        Ok((within(bookings, window), next))
    }

    /// Every booking of `listing` starting in `window`, in start order, at most `cap`; and
    /// whether more were left (feeds and exports, which read whole windows).
    pub async fn all(
        &self,
        tenant_id: &str,
        listing: Listing<'_>,
        window: Slot,
        cap: usize,
    ) -> Result<(Vec<Booking>, bool), StoreError> {
        let (index, partition) = listing.index(tenant_id);
        let (from, to) = bounds(window);
        let query = Query::partition(&partition).on(index).between(&from, &to);
        let (bookings, more): (Vec<Booking>, _) = self.table.query_up_to(query, cap).await?;
        Ok((within(bookings, window), more))
    }

    /// Bookings whose release deadline is at or before `at`, of every tenant, at most `cap` per
    /// shard: what the release schedule releases (eventually consistent, as an index is; the
    /// write that releases one is conditioned on its version).
    pub async fn due_for_release(
        &self,
        at: jiff::Timestamp,
        cap: usize,
    ) -> Result<Vec<Booking>, StoreError> {
        // `<deadline>#<tenant>#<id>` sort keys: every deadline at or before `at` sorts below
        // `at` followed by `$` ('#' < '$').
        let last = format!("{at}$");
        let mut due = Vec::new();
        for shard in 0..RELEASE_SHARDS {
            let partition = format!("RELEASE#{shard}");
            let query = Query::partition(&partition)
                .on(Index::Gsi4)
                .between("0", &last);
            let (bookings, _): (Vec<Booking>, _) = self.table.query_up_to(query, cap).await?;
            due.extend(bookings);
        }
        Ok(due)
    }

    /// Takes a booking off the release index without changing it (its room no longer needs a
    /// check-in, or the tenant's policy now exempts it); nothing when it changed meanwhile.
    pub async fn clear_release(
        &self,
        tenant_id: &str,
        booking_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = booking_key(tenant_id, booking_id);
        let cleared = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(pk, sk)))
            .update_expression("REMOVE release_at, gsi4pk, gsi4sk")
            .condition_expression("version = :version")
            .expression_attribute_values(":version", n(version))
            .send()
            .await;
        match cleared {
            Ok(_) => Ok(()),
            Err(error) if crate::error::is_condition_failure(&error) => Ok(()),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
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

/// What a cancelled calendar write means: a booking that was not at its expected version is
/// stale; any other failed condition, or another transaction holding an item, is a calendar
/// that moved on. `None`: not a cancellation.
fn classify(
    error: &TransactError,
    write: &CalendarWrite<'_>,
    first_precondition: usize,
) -> Option<BookingWriteError> {
    let codes = cancellation_codes(error)?;
    let failed = |code: &Option<String>| code.as_deref() == Some("ConditionalCheckFailed");
    // The preconditions come last.
    if let Some(unmet) = codes.iter().skip(first_precondition).position(failed) {
        return Some(BookingWriteError::Unmet(unmet));
    }
    // The bookings come first in the transaction, then the series.
    let expected = write
        .bookings
        .iter()
        .map(|booking| booking.expected)
        .chain(write.series.map(|series| series.expected));
    let stale = codes
        .iter()
        .zip(expected)
        .any(|(code, expected)| expected.is_some() && failed(code));
    if stale {
        return Some(BookingWriteError::Stale);
    }
    codes
        .iter()
        .any(|code| failed(code) || code.as_deref() == Some("TransactionConflict"))
        .then_some(BookingWriteError::Moved)
}

/// The sort key bounds of the bookings starting in `window`: `<start>#<id>` keys, so every key
/// of a start before `window.end` sorts below the end itself.
fn bounds(window: Slot) -> (String, String) {
    (window.start.to_string(), window.end.to_string())
}

/// The bookings that start in `window`: a sort key of a start with more fractional digits than
/// the window's end can sort below it while starting after it.
fn within(bookings: Vec<Booking>, window: Slot) -> Vec<Booking> {
    bookings
        .into_iter()
        .filter(|booking| booking.slot.start < window.end)
        .collect()
}
