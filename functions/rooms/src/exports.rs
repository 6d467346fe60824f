//! CSV exports (SPEC §C): the room catalogue and the bookings of a window, one row each, in
//! the columns the imports read back (a room export is a room import's template).

use http::{HeaderValue, StatusCode, header};
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use steward_authz::Permission;
use steward_domain::booking::room::{Room, RoomInput};
use steward_domain::booking::rules::RoomRules;
use steward_domain::text::neutralise_cell;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::bookings::Listing;
use steward_store::objects::Bucket;
use steward_store::rooms::RoomRecord;

use crate::Rooms;

/// The most rows one bookings export holds: narrower windows for more.
const MAX_EXPORT_ROWS: usize = 10_000;
/// The longest window one bookings export covers.
const MAX_EXPORT_DAYS: i64 = 366;

/// A room as one CSV row: its description flattened, the rules' defaults where a cell is blank.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct RoomRow {
    /// Exported; ignored on import (an imported room is a new room).
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub building: String,
    #[serde(default)]
    pub floor: String,
    pub time_zone: String,
    pub capacity: u32,
    /// Items separated by `;`.
    #[serde(default)]
    pub equipment: String,
    #[serde(default)]
    pub bookable: Option<bool>,
    #[serde(default)]
    pub min_duration_minutes: Option<u32>,
    #[serde(default)]
    pub max_duration_minutes: Option<u32>,
    #[serde(default)]
    pub horizon_days: Option<u32>,
    #[serde(default)]
    pub min_notice_minutes: Option<u32>,
    #[serde(default)]
    pub buffer_before_minutes: Option<u32>,
    #[serde(default)]
    pub buffer_after_minutes: Option<u32>,
    #[serde(default)]
    pub approval_required: Option<bool>,
    #[serde(default)]
    pub check_in_required: Option<bool>,
    #[serde(default)]
    pub release_minutes: Option<u32>,
}

impl RoomRow {
    fn of(record: &RoomRecord) -> Self {
        let room = &record.room;
        let rules = room.rules;
        Self {
            id: Some(record.room_id.clone()),
            name: room.name.clone(),
            site: room.site.clone(),
            building: room.building.clone(),
            floor: room.floor.clone(),
            time_zone: room.time_zone.clone(),
            capacity: room.capacity,
            equipment: room.equipment.iter().cloned().collect::<Vec<_>>().join(";"),
            bookable: Some(room.bookable),
            min_duration_minutes: Some(rules.min_duration_minutes),
            max_duration_minutes: Some(rules.max_duration_minutes),
            horizon_days: Some(rules.horizon_days),
            min_notice_minutes: Some(rules.min_notice_minutes),
            buffer_before_minutes: Some(rules.buffer_before_minutes),
            buffer_after_minutes: Some(rules.buffer_after_minutes),
            approval_required: Some(rules.approval_required),
            check_in_required: Some(rules.check_in_required),
            release_minutes: Some(rules.release_minutes),
        }
    }

    /// The room the row describes, validated as a `POST /v1/rooms` body is.
    pub(crate) fn parse(self) -> Result<Room, Vec<(String, String)>> {
        let defaults = RoomRules::default();
        let rules = RoomRules {
            min_duration_minutes: self
                .min_duration_minutes
                .unwrap_or(defaults.min_duration_minutes),
            max_duration_minutes: self
                .max_duration_minutes
                .unwrap_or(defaults.max_duration_minutes),
            horizon_days: self.horizon_days.unwrap_or(defaults.horizon_days),
            min_notice_minutes: self
                .min_notice_minutes
                .unwrap_or(defaults.min_notice_minutes),
            buffer_before_minutes: self
                .buffer_before_minutes
                .unwrap_or(defaults.buffer_before_minutes),
            buffer_after_minutes: self
                .buffer_after_minutes
                .unwrap_or(defaults.buffer_after_minutes),
            approval_required: self.approval_required.unwrap_or(defaults.approval_required),
            check_in_required: self.check_in_required.unwrap_or(defaults.check_in_required),
            release_minutes: self.release_minutes.unwrap_or(defaults.release_minutes),
        };
        RoomInput {
            name: self.name,
            site: self.site,
            building: self.building,
            floor: self.floor,
            time_zone: self.time_zone,
            capacity: self.capacity,
            equipment: self
                .equipment
                .split(';')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
            bookable: self.bookable.unwrap_or(true),
            rules,
            // Not a column of the CSV: required credentials are set on the room afterwards.
            required_credentials: Default::default(),
        }
        .parse()
    }
}

/// A booking as one CSV row; times in UTC and on the room's wall clock.
#[derive(Debug, Serialize)]
struct BookingRow<'a> {
    id: &'a str,
    room_id: &'a str,
    room_name: &'a str,
    organiser: &'a str,
    title: &'a str,
    start: Timestamp,
    end: Timestamp,
    local_start: String,
    local_end: String,
    time_zone: &'a str,
    status: &'a str,
    version: u64,
    series_id: &'a str,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// The columns of [`RoomRow`], in order (checked against serde's in a test).
pub(crate) const ROOM_COLUMNS: &[&str] = &[
    "id",
    "name",
    "site",
    "building",
    "floor",
    "time_zone",
    "capacity",
    "equipment",
    "bookable",
    "min_duration_minutes",
    "max_duration_minutes",
    "horizon_days",
    "min_notice_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "approval_required",
    "check_in_required",
    "release_minutes",
];

/// The columns of [`BookingRow`], in order.
const BOOKING_COLUMNS: &[&str] = &[
    "id",
    "room_id",
    "room_name",
    "organiser",
    "title",
    "start",
    "end",
    "local_start",
    "local_end",
    "time_zone",
    "status",
    "version",
    "series_id",
    "created_at",
    "updated_at",
];

/// `rows` under `columns` as CSV: even an empty export names its columns, so that it can be
/// filled in and imported. Every cell is written as text a spreadsheet does not run
/// ([`neutralise_cell`]): rooms and titles are the members' own words.
fn csv_bytes<T: Serialize>(
    columns: &[&str],
    rows: impl IntoIterator<Item = T>,
) -> Result<Vec<u8>, ApiError> {
    // csv turns a struct into cells only as it writes it: the rows are written as they are,
    // read back as cells, and written again neutralised.
    let mut plain = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for row in rows {
        plain.serialize(row).map_err(ApiError::internal)?;
    }
    let plain = plain.into_inner().map_err(ApiError::internal)?;
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(columns).map_err(ApiError::internal)?;
    let mut cells = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(plain.as_slice());
    for record in cells.records() {
        let record = record.map_err(ApiError::internal)?;
        writer
            .write_record(record.iter().map(|cell| neutralise_cell(cell).into_owned()))
            .map_err(ApiError::internal)?;
    }
    writer.into_inner().map_err(ApiError::internal)
}

/// Where exports larger than `inline_max` bytes are written, to be fetched through a link.
pub(crate) struct LargeExports {
    bucket: Bucket,
    inline_max: usize,
}

/// EXPORT_BUCKET and EXPORT_INLINE_MAX_BYTES (template.yaml).
#[derive(Debug, Deserialize)]
pub(crate) struct LargeExportsConfig {
    #[serde(default)]
    export_bucket: Option<String>,
    #[serde(default = "four_megabytes")]
    export_inline_max_bytes: usize,
}

fn four_megabytes() -> usize {
    4_000_000
}

impl LargeExportsConfig {
    pub(crate) fn build(self, aws: &steward_store::SdkConfig) -> Option<LargeExports> {
        Some(LargeExports {
            bucket: Bucket::new(aws, self.export_bucket?),
            inline_max: self.export_inline_max_bytes,
        })
    }
}

/// How long the link to a large export can be used.
const LINK_VALID: std::time::Duration = std::time::Duration::from_secs(5 * 60);

impl Rooms {
    /// CSV `bytes` as a file named `name`: inline while it is small, else written to the bucket
    /// and answered 303 with a short-lived link (Lambda answers at most 6 MB, and a JSON-encoded
    /// CSV grows on the way).
    async fn export(
        &self,
        tenant_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Response<Body>, ApiError> {
        let large = self
            .exports
            .as_ref()
            .ok_or_else(|| ApiError::internal("an export from a function with no export bucket"))?;
        if bytes.len() <= large.inline_max {
            return csv_file(name, bytes);
        }
        let key = format!(
            "exports/{tenant_id}/{}/{name}",
            uuid::Uuid::now_v7().simple()
        );
        large
            .bucket
            .put(&key, bytes, "text/csv; charset=utf-8")
            .await?;
        let link = large
            .bucket
            .presign_download(&key, name, LINK_VALID)
            .await?;
        let expires_at = jiff::Timestamp::now()
            + jiff::SignedDuration::try_from(LINK_VALID).map_err(ApiError::internal)?;
        let location = HeaderValue::from_str(&link.url).map_err(ApiError::internal)?;
        let mut answer = api::json(
            StatusCode::SEE_OTHER,
            &serde_json::json!({ "url": link.url, "expires_at": expires_at.to_string() }),
        )?;
        answer.headers_mut().insert(header::LOCATION, location);
        Ok(answer)
    }
}

/// CSV `bytes` as a file named `name`.
fn csv_file(name: &str, bytes: Vec<u8>) -> Result<Response<Body>, ApiError> {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(ApiError::internal)?;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(bytes))
        .map_err(ApiError::internal)
}

impl Rooms {
    /// `GET /v1/exports/rooms`: every room of the tenant (archived ones left out).
    pub(crate) async fn export_rooms(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        let rooms = self.store.all(caller.tenant_id()).await?;
        let bytes = csv_bytes(ROOM_COLUMNS, rooms.iter().map(RoomRow::of))?;
        self.export(caller.tenant_id(), "rooms.csv", bytes).await
    }

    /// `GET /v1/exports/bookings?from&to[&room_id]`: the bookings starting in the window (at
    /// most 366 days, 10,000 rows), every status.
    pub(crate) async fn export_bookings(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsExport)
            .await?;
        let window = crate::query_window(request, ("from", "to"), MAX_EXPORT_DAYS)?;
        let tenant_id = caller.tenant_id();
        let listing = match request.query.get("room_id") {
            Some(room_id) => Listing::Room(room_id),
            None => Listing::Tenant,
        };
        let (bookings, more) = self
            .bookings
            .all(tenant_id, listing, window, MAX_EXPORT_ROWS)
            .await?;
        if more {
            return Err(ApiError::validation(
                "to",
                format!(
                    "more than {MAX_EXPORT_ROWS} bookings start in this window: export a narrower one"
                ),
            ));
        }
        let rooms = self.store.of_bookings(tenant_id, &bookings).await?;
        let rows = bookings.iter().map(|booking| {
            let room = rooms.iter().find(|room| room.room_id == booking.room_id);
            let zone = room
                .and_then(|room| jiff::tz::TimeZone::get(&room.room.time_zone).ok())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let local = |at: Timestamp| at.to_zoned(zone.clone()).datetime().to_string();
            BookingRow {
                id: &booking.booking_id,
                room_id: &booking.room_id,
                room_name: room.map(|room| room.room.name.as_str()).unwrap_or(""),
                organiser: &booking.organiser,
                title: &booking.title,
                start: booking.slot.start,
                end: booking.slot.end,
                local_start: local(booking.slot.start),
                local_end: local(booking.slot.end),
                time_zone: room
                    .map(|room| room.room.time_zone.as_str())
                    .unwrap_or("UTC"),
                status: booking.status.as_str(),
                version: booking.version,
                series_id: booking.series_id.as_deref().unwrap_or(""),
                created_at: booking.created_at,
                updated_at: booking.updated_at,
            }
        });
        let bytes = csv_bytes(BOOKING_COLUMNS, rows)?;
        self.export(tenant_id, "bookings.csv", bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of<T: Serialize>(row: T) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(row).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_owned()
    }

    #[test]
    fn the_columns_written_are_the_rows_fields() {
        assert_eq!(header_of(RoomRow::default()), ROOM_COLUMNS.join(","));
        let row = BookingRow {
            id: "",
            room_id: "",
            room_name: "",
            organiser: "",
            title: "",
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::UNIX_EPOCH,
            local_start: String::new(),
            local_end: String::new(),
            time_zone: "",
            status: "",
            version: 1,
            series_id: "",
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(header_of(row), BOOKING_COLUMNS.join(","));
    }

    #[test]
    fn blank_rule_cells_take_the_defaults() {
        let row = RoomRow {
            name: "Atlas".into(),
            time_zone: "Europe/London".into(),
            capacity: 4,
            equipment: "screen; ;whiteboard".into(),
            ..RoomRow::default()
        };
        let room = row.parse().unwrap();
        assert_eq!(room.rules, RoomRules::default());
        assert!(room.bookable);
        assert_eq!(room.equipment.len(), 2);
    }
}
