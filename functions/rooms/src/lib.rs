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
mod reports;
mod requirements;
mod series;

use http::{HeaderValue, StatusCode, header};
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_access::{Auditor, Caller, Guard, Instance, Record, new_id};
use steward_authz::Permission;
use steward_calendar::Calendar;
use steward_domain::booking::room::RoomInput;
use steward_domain::booking::rules::Slot;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, HttpFunction, Replayable};
use steward_kit::config::{ConfigError, Env};
use steward_kit::pagination::Cursors;
use steward_store::SdkConfig;
use steward_store::bookings::BookingStore;
use steward_store::credentials::CredentialStore;
use steward_store::feeds::FeedStore;
use steward_store::identity::IdentityStore;
use steward_store::reports::ReportStore;
use steward_store::rooms::{RoomRecord, RoomStore, RoomWriteError};

pub struct Rooms {
    guard: Guard,
    store: RoomStore,
    bookings: BookingStore,
    feeds: FeedStore,
    auditor: Auditor,
    cursors: Cursors,
    calendar: Calendar,
    identity: IdentityStore,
    reports: ReportStore,
    credentials: CredentialStore,
    /// The key booking PINs are derived under.
    pins: [u8; 32],
    /// Where exports too large to answer inline go (`None`: no bucket is configured).
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

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Rooms>, ConfigError> {
    let instance = Instance::new(env, aws)?;
    let large: exports::LargeExportsConfig = instance.parse()?;
    let links: LinksConfig = instance.parse()?;
    let table = instance.table();
    let rooms = Rooms {
        public_url: Some(links.public_api_url.trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty()),
        exports: large.build(aws),
        calendar: Calendar::of(&instance)?,
        identity: IdentityStore::new(table.clone()),
        reports: ReportStore::new(table.clone()),
        credentials: CredentialStore::new(table.clone()),
        pins: instance.derive("booking-pin"),
        guard: instance.guard()?,
        store: RoomStore::new(table.clone()),
        bookings: BookingStore::new(table.clone()),
        feeds: FeedStore::new(table),
        auditor: instance.auditor(),
        cursors: instance.cursors(),
    };
    instance.keyed_http(rooms)
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
    /// What `caller` may do past a room's rules, decided once before a write's retries, and
    /// only when they give a `reason` to: without one no rule is waived, so most writes take no
    /// decision at all.
    pub(crate) fn authority(
        &self,
        caller: &Caller,
        reason: Option<&str>,
    ) -> steward_calendar::Authority {
        if reason.is_none_or(|reason| reason.trim().is_empty()) {
            return steward_calendar::Authority::none();
        }
        steward_calendar::Authority::new(self.guard.decision(caller, Permission::RoomsManage))
    }

    /// A booking's check-in PIN.
    pub(crate) fn pin(&self, record: &steward_domain::booking::entity::Booking) -> String {
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

steward_kit::routes! {
    /// The rooms API's routes: rooms, bookings, series, closures, availability, feeds, imports,
    /// exports, the booking quota and utilisation.
    pub const ROUTES for Rooms, fn route(request) {
        "POST /v1/rooms" => create,
        "GET /v1/rooms" => list,
        "GET /v1/rooms/{roomId}" => read,
        "PUT /v1/rooms/{roomId}" => update,
        "DELETE /v1/rooms/{roomId}" => archive,
        "POST /v1/bookings" => create_booking,
        "GET /v1/bookings/{bookingId}" => booking,
        "GET /v1/bookings" => list_bookings,
        "PATCH /v1/bookings/{bookingId}" => change_booking,
        "POST /v1/bookings/{bookingId}/cancel" => cancel_booking,
        "POST /v1/bookings/{bookingId}/end" => end_booking,
        "POST /v1/bookings/{bookingId}/approve" => approve_booking,
        "POST /v1/bookings/{bookingId}/reject" => reject_booking,
        "GET /v1/rooms/{roomId}/closures" => closures,
        "GET /v1/rooms/{roomId}/free-busy" => free_busy,
        "GET /v1/availability" => availability,
        "POST /v1/series" => create_series,
        "GET /v1/series/{seriesId}" => series,
        "PATCH /v1/series/{seriesId}" => change_series,
        "POST /v1/series/{seriesId}/cancel" => cancel_series,
        "POST /v1/rooms/{roomId}/closures" => close,
        "DELETE /v1/rooms/{roomId}/closures/{closureId}" => reopen,
        "POST /v1/feeds" => create_feed,
        "GET /v1/feeds" => feeds,
        "DELETE /v1/feeds/{feedId}" => revoke_feed,
        "GET /v1/ical/{token}" => ical,
        "GET /v1/exports/rooms" => export_rooms,
        "GET /v1/exports/bookings" => export_bookings,
        "POST /v1/imports/rooms" => import_rooms,
        "POST /v1/imports/bookings" => import_bookings,
        "GET /v1/settings/booking-quota" => booking_quota,
        "PUT /v1/settings/booking-quota" => set_booking_quota,
        "GET /v1/reports/utilisation" => utilisation,
    }
}

steward_kit::routed_api!(Rooms, route);

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
];

impl Replayable for Rooms {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}

steward_kit::binaries! {
    "rooms" => init,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_route_table_is_what_the_template_deploys_to_the_rooms_function() {
        steward_template::Template::assert_routes("RoomsFunction", super::ROUTES);
    }
}
