//! The rooms function (SPEC §C): the room catalogue. Creating a room counts it against the
//! licence's room limit in the same transaction (402 past it when the licence is enforced);
//! changes carry the room's version as ETag and need it back in `If-Match`; archiving keeps
//! the room for its bookings' history and gives its place back.

mod availability;
mod bookings;
mod closures;
mod exports;
mod feeds;
mod imports;
mod quota;
pub mod release;
mod reports;
mod requirements;
mod series;
pub mod terminal;
mod terminals;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_access::{Auditor, Caller, Guard, Record, new_id};
use steward_authz::Permission;
use steward_domain::booking::room::RoomInput;
use steward_domain::booking::rules::Slot;
use steward_kit::ApiError;
use steward_kit::api::{self, Api, ApiRequest, HttpFunction, Replayable};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::idempotency::Idempotency;
use steward_kit::pagination::Cursors;
use steward_store::idempotency::IdempotencyStore;
use steward_store::notices::NoticeQueue;
use steward_store::rooms::{RoomRecord, RoomStore, RoomWriteError};
use steward_store::{SdkConfig, Table};

pub struct Rooms {
    guard: Guard,
    store: RoomStore,
    bookings: steward_store::bookings::BookingStore,
    feeds: steward_store::feeds::FeedStore,
    auditor: Auditor,
    cursors: Cursors,
    calendar: steward_calendar::Calendar,
    identity: steward_store::identity::IdentityStore,
    reports: steward_store::reports::ReportStore,
    terminals: steward_store::terminals::TerminalStore,
    credentials: steward_store::credentials::CredentialStore,
    /// The key booking PINs are derived under.
    pins: [u8; 32],
    /// Where exports too large to answer inline go (the rooms API's; `None` in the terminal
    /// and release functions, which export nothing).
    exports: Option<exports::LargeExports>,
    /// The API's public base URL (PUBLIC_API_URL), what handed-out links start with; never
    /// taken from a request. `None`: links are given as paths.
    public_url: Option<String>,
}

/// PUBLIC_API_URL (template.yaml); empty where it is not set.
#[derive(Debug, Clone, serde::Deserialize)]
struct LinksConfig {
    #[serde(default)]
    public_api_url: String,
}

/// Where booking notices go (template.yaml).
#[derive(Debug, Clone, serde::Deserialize)]
struct NoticeConfig {
    notifications_queue_url: String,
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Rooms>, ConfigError> {
    let common: Common = env.parse()?;
    let table = Table::new(aws, &common.table);
    let rooms = rooms(env, aws, &common, &table)?;
    let idempotency = Idempotency::new(
        IdempotencyStore::new(table.clone()),
        Duration::from_secs(10),
    );
    HttpFunction::new(common.function_name, rooms, common.cors_allowed_origins)
        .with_idempotency(idempotency)
        .with_request_counts(env)?
        .with_recorded_latencies(&table, env)
}

/// The rooms and their calendars, as every binary of this crate builds them at init.
pub(crate) fn rooms(
    env: &Env,
    aws: &SdkConfig,
    common: &Common,
    table: &Table,
) -> Result<Rooms, ConfigError> {
    let notices: NoticeConfig = env.parse()?;
    let large: exports::LargeExportsConfig = env.parse()?;
    let links: LinksConfig = env.parse()?;
    Ok(Rooms {
        public_url: Some(links.public_api_url.trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty()),
        exports: large.build(aws),
        calendar: steward_calendar::Calendar::new(
            table,
            NoticeQueue::new(aws, notices.notifications_queue_url),
        ),
        identity: steward_store::identity::IdentityStore::new(table.clone()),
        reports: steward_store::reports::ReportStore::new(table.clone()),
        terminals: steward_store::terminals::TerminalStore::new(table.clone()),
        credentials: steward_store::credentials::CredentialStore::new(table.clone()),
        pins: common.signing_secret.derive("booking-pin"),
        guard: Guard::from_env(env, table)?,
        store: RoomStore::new(table.clone()),
        bookings: steward_store::bookings::BookingStore::new(table.clone()),
        feeds: steward_store::feeds::FeedStore::new(table.clone()),
        auditor: Auditor::new(&common.signing_secret),
        cursors: Cursors::new(&common.signing_secret),
    })
}

fn view(record: &RoomRecord) -> Value {
    let mut room = json!(record.room);
    room["id"] = json!(record.room_id);
    room["version"] = json!(record.version);
    room["created_at"] = json!(record.created_at);
    room["updated_at"] = json!(record.updated_at);
    room
}

fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a number is a header value")
}

/// The version a client names in `If-Match: "<version>"` for a `what` (room, booking).
pub(crate) fn if_match(request: &ApiRequest, what: &str) -> Result<u64, ApiError> {
    let value = request
        .headers
        .get(header::IF_MATCH)
        .ok_or_else(|| ApiError::PreconditionRequired(what.into()))?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::validation("If-Match", format!("the {what}'s ETag, such as \"3\""))
        })
}

pub(crate) fn with_etag(mut response: Response<Body>, version: u64) -> Response<Body> {
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}

/// The instant a query parameter names (RFC 3339 with an offset).
fn query_instant(request: &ApiRequest, field: &str) -> Result<Timestamp, ApiError> {
    request
        .query
        .get(field)
        .ok_or_else(|| ApiError::validation(field, "required: an RFC 3339 time"))?
        .parse()
        .map_err(|_| ApiError::validation(field, "an RFC 3339 time with an offset"))
}

/// The window the query parameters `from` and `to` name: `to` after `from`, by at most
/// `max_days`.
pub(crate) fn query_window(
    request: &ApiRequest,
    (from, to): (&str, &str),
    max_days: i64,
) -> Result<Slot, ApiError> {
    let (start, end) = (query_instant(request, from)?, query_instant(request, to)?);
    let slot = Slot::new(start, end).map_err(|_| ApiError::validation(to, "after the start"))?;
    if slot.duration() > jiff::SignedDuration::from_hours(24 * max_days) {
        return Err(ApiError::validation(
            to,
            format!("at most {max_days} days after the start"),
        ));
    }
    Ok(slot)
}

fn parse_room(request: &ApiRequest) -> Result<steward_domain::booking::room::Room, ApiError> {
    request
        .json::<RoomInput>()?
        .parse()
        .map_err(ApiError::invalid)
}

impl Rooms {
    /// What `caller` may do past a room's rules, decided once before a write's retries.
    pub(crate) fn authority(&self, caller: &Caller) -> steward_calendar::Authority {
        steward_calendar::Authority::new(self.guard.decision(caller, Permission::RoomsManage))
    }

    /// A booking's check-in PIN.
    pub(crate) fn pin(&self, record: &steward_store::bookings::BookingRecord) -> String {
        steward_domain::terminal::pin::booking_pin(
            &self.pins,
            &record.tenant_id,
            &record.booking_id,
        )
    }
}

fn write_problem(error: RoomWriteError, caller: &Caller) -> ApiError {
    match error {
        RoomWriteError::LimitReached => ApiError::LicenceLimit {
            limit: "rooms".into(),
            allowed: caller.tenant.licence.limits.rooms,
        },
        RoomWriteError::NotFound => ApiError::NotFound("room".into()),
        RoomWriteError::VersionMismatch(_) => ApiError::PreconditionFailed("room".into()),
        RoomWriteError::Store(error) => error.into(),
    }
}

impl Rooms {
    async fn create(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsManage).await?;
        let room = parse_room(request)?;
        let tenant_id = caller.tenant_id();
        self.known_credential_types(tenant_id, &room).await?;
        let now = Timestamp::now().to_string();
        let record = RoomRecord::new(tenant_id, &new_id("rm"), room, &now);
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "room.create",
                target: &format!("room:{}", record.room_id),
                before: json!(null),
                after: view(&record),
            },
        );
        let limit = caller
            .licence_enforced
            .then_some(caller.tenant.licence.limits.rooms);
        self.store
            .create(&record, limit, &audit)
            .await
            .map_err(|e| write_problem(e, &caller))?;
        let mut response = api::json(StatusCode::CREATED, &view(&record))?;
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/rooms/{}", record.room_id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(with_etag(response, record.version))
    }

    async fn list(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        let scope = format!("{}#rooms", request.scope);
        let page = self.cursors.page_request(&scope, &request.query)?;
        let (records, next) = self
            .store
            .page(caller.tenant_id(), page.limit, page.start)
            .await?;
        let items: Vec<Value> = records.iter().map(view).collect();
        api::json(StatusCode::OK, &self.cursors.page(&scope, items, next))
    }

    async fn found(&self, caller: &Caller, request: &ApiRequest) -> Result<RoomRecord, ApiError> {
        let room_id = request.path_param("roomId")?;
        self.store
            .get(caller.tenant_id(), room_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("room {room_id}")))
    }

    async fn read(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        let record = self.found(&caller, request).await?;
        Ok(with_etag(
            api::json(StatusCode::OK, &view(&record))?,
            record.version,
        ))
    }

    async fn update(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsManage).await?;
        let current = self.found(&caller, request).await?;
        let version = if_match(request, "room")?;
        let room = parse_room(request)?;
        if version != current.version {
            return Err(ApiError::PreconditionFailed("room".into()));
        }
        self.known_credential_types(caller.tenant_id(), &room)
            .await?;
        let mut next = current.revised();
        next.room = room;
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "room.update",
                target: &format!("room:{}", current.room_id),
                before: view(&current),
                after: view(&next),
            },
        );
        self.store
            .update(&next, version, &audit)
            .await
            .map_err(|e| write_problem(e, &caller))?;
        Ok(with_etag(
            api::json(StatusCode::OK, &view(&next))?,
            next.version,
        ))
    }

    async fn archive(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsManage).await?;
        let current = self.found(&caller, request).await?;
        let version = if_match(request, "room")?;
        if version != current.version {
            return Err(ApiError::PreconditionFailed("room".into()));
        }
        let mut archived = current.clone();
        archived.archived_at = Some(Timestamp::now().to_string());
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "room.archive",
                target: &format!("room:{}", current.room_id),
                before: view(&current),
                after: json!({ "archived_at": archived.archived_at }),
            },
        );
        self.store
            .archive(&archived, version, &audit)
            .await
            .map_err(|e| write_problem(e, &caller))?;
        api::no_content()
    }
}

/// A route's answer, still to come.
type Answer<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;

impl Rooms {
    /// The handler of `request`'s route, boxed: one plain function picks it, so that polling
    /// it does not carry every route's future in one stack frame (over a megabyte in a debug
    /// build, which overflowed a test thread's stack).
    fn route<'a>(&'a self, request: &'a ApiRequest) -> Answer<'a> {
        match request.route.as_str() {
            "POST /v1/rooms" => Box::pin(self.create(request)),
            "GET /v1/rooms" => Box::pin(self.list(request)),
            "GET /v1/rooms/{roomId}" => Box::pin(self.read(request)),
            "PUT /v1/rooms/{roomId}" => Box::pin(self.update(request)),
            "DELETE /v1/rooms/{roomId}" => Box::pin(self.archive(request)),
            "POST /v1/bookings" => Box::pin(self.create_booking(request)),
            "GET /v1/bookings/{bookingId}" => Box::pin(self.booking(request)),
            "GET /v1/bookings" => Box::pin(self.list_bookings(request)),
            "PATCH /v1/bookings/{bookingId}" => Box::pin(self.change_booking(request)),
            "POST /v1/bookings/{bookingId}/cancel" => Box::pin(self.cancel_booking(request)),
            "POST /v1/bookings/{bookingId}/end" => Box::pin(self.end_booking(request)),
            "POST /v1/bookings/{bookingId}/approve" => Box::pin(self.decide_booking(request, true)),
            "POST /v1/bookings/{bookingId}/reject" => Box::pin(self.decide_booking(request, false)),
            "GET /v1/rooms/{roomId}/closures" => Box::pin(self.closures(request)),
            "GET /v1/rooms/{roomId}/free-busy" => Box::pin(self.free_busy(request)),
            "GET /v1/availability" => Box::pin(self.availability(request)),
            "POST /v1/series" => Box::pin(self.create_series(request)),
            "GET /v1/series/{seriesId}" => Box::pin(self.series(request)),
            "PATCH /v1/series/{seriesId}" => Box::pin(self.change_series(request)),
            "POST /v1/series/{seriesId}/cancel" => Box::pin(self.cancel_series(request)),
            "POST /v1/rooms/{roomId}/closures" => Box::pin(self.close(request)),
            "DELETE /v1/rooms/{roomId}/closures/{closureId}" => Box::pin(self.reopen(request)),
            "POST /v1/feeds" => Box::pin(self.create_feed(request)),
            "GET /v1/feeds" => Box::pin(self.feeds(request)),
            "DELETE /v1/feeds/{feedId}" => Box::pin(self.revoke_feed(request)),
            "GET /v1/ical/{token}" => Box::pin(self.ical(request)),
            "GET /v1/exports/rooms" => Box::pin(self.export_rooms(request)),
            "GET /v1/exports/bookings" => Box::pin(self.export_bookings(request)),
            "POST /v1/imports/rooms" => Box::pin(self.import_rooms(request)),
            "POST /v1/imports/bookings" => Box::pin(self.import_bookings(request)),
            "GET /v1/settings/booking-quota" => Box::pin(self.booking_quota(request)),
            "PUT /v1/settings/booking-quota" => Box::pin(self.set_booking_quota(request)),
            "GET /v1/reports/utilisation" => Box::pin(self.utilisation(request)),
            "POST /v1/terminals" => Box::pin(self.register_terminal(request)),
            "GET /v1/terminals" => Box::pin(self.list_terminals(request)),
            "DELETE /v1/terminals/{terminalId}" => Box::pin(self.revoke_terminal(request)),
            "GET /v1/badges" => Box::pin(self.list_badges(request)),
            "PUT /v1/badges/{badgeId}" => Box::pin(self.put_badge(request)),
            "DELETE /v1/badges/{badgeId}" => Box::pin(self.remove_badge(request)),
            "GET /v1/settings/check-in" => Box::pin(self.check_in_policy(request)),
            "PUT /v1/settings/check-in" => Box::pin(self.set_check_in_policy(request)),
            other => {
                let other = other.to_owned();
                Box::pin(async move { Err(ApiError::NotFound(format!("route {other}"))) })
            }
        }
    }
}

impl Api for Rooms {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.route(request).await
    }
}

/// The routes that take an `Idempotency-Key`, with the permission each one's handler checks
/// first: what a replay is allowed on.
pub const KEYED_ROUTES: &[(&str, Permission)] = &[
    ("POST /v1/rooms", Permission::RoomsManage),
    ("POST /v1/bookings", Permission::BookingsCreate),
    (
        "POST /v1/bookings/{bookingId}/cancel",
        Permission::BookingsCreate,
    ),
    (
        "POST /v1/bookings/{bookingId}/end",
        Permission::BookingsCreate,
    ),
    (
        "POST /v1/bookings/{bookingId}/approve",
        Permission::BookingsApprove,
    ),
    (
        "POST /v1/bookings/{bookingId}/reject",
        Permission::BookingsApprove,
    ),
    ("POST /v1/series", Permission::SeriesCreate),
    (
        "POST /v1/series/{seriesId}/cancel",
        Permission::BookingsCreate,
    ),
    ("POST /v1/rooms/{roomId}/closures", Permission::RoomsManage),
    ("POST /v1/feeds", Permission::FeedsManage),
    ("POST /v1/imports/rooms", Permission::RoomsImport),
    ("POST /v1/imports/bookings", Permission::BookingsImport),
    ("POST /v1/terminals", Permission::TerminalsManage),
];

impl Replayable for Rooms {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}
