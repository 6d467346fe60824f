//! Closures (SPEC §C): times a room cannot be booked, kept on the room so that a closure's
//! creation and a booking's check are ordered by the room's version. A new closure does not
//! cancel the bookings it meets: it names them, for whoever closes the room to settle.

use http::{HeaderValue, StatusCode, header};
use jiff::{SignedDuration, Timestamp};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_access::{Caller, Record, new_id};
use steward_authz::Permission;
use steward_domain::booking::closure::{Closure, ClosureInput, MAX_CLOSURES};
use steward_domain::booking::days::{dates_between, taken_on};
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::{Slot, Taken};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_kit::retry::Optimistic;
use steward_store::rooms::{RoomRecord, RoomWriteError};

use crate::Rooms;

fn view(closure: &Closure) -> Value {
    json!(closure)
}

impl Rooms {
    /// `POST /v1/rooms/{roomId}/closures`: adds a closure, answering with the bookings within
    /// the room's horizon that it meets.
    pub(crate) async fn close(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsManage).await?;
        let input: ClosureInput = request.json()?;
        let room_id = request.path_param("roomId")?;
        let (next, closure) = self
            .change_closures(request, &caller, "room.closure.create", |current| {
                let zone = RoomZone::parse(&current.room.time_zone).map_err(ApiError::internal)?;
                let closure = input
                    .clone()
                    .parse(new_id("cl"), &zone)
                    .map_err(ApiError::invalid)?;
                if current.closures.len() >= MAX_CLOSURES {
                    return Err(ApiError::Conflict(format!(
                        "room {room_id} has {MAX_CLOSURES} closures, the most a room keeps"
                    )));
                }
                let mut closures = current.closures.clone();
                closures.push(closure.clone());
                Ok((closures, json!(null), view(&closure), closure))
            })
            .await?;
        let zone = RoomZone::parse(&next.room.time_zone).map_err(ApiError::internal)?;
        let met = self.bookings_met(&next, &zone, &closure).await?;
        let mut response = api::json(
            StatusCode::CREATED,
            &json!({ "closure": view(&closure), "bookings_affected": met }),
        )?;
        if let Ok(location) =
            HeaderValue::from_str(&format!("/v1/rooms/{room_id}/closures/{}", closure.id))
        {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(crate::with_etag(response, next.version))
    }

    /// `DELETE /v1/rooms/{roomId}/closures/{closureId}`.
    pub(crate) async fn reopen(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsManage).await?;
        let closure_id = request.path_param("closureId")?;
        self.change_closures(request, &caller, "room.closure.delete", |current| {
            let closure = current
                .closures
                .iter()
                .find(|c| c.id == closure_id)
                .ok_or_else(|| ApiError::NotFound(format!("closure {closure_id}")))?;
            let mut closures = current.closures.clone();
            closures.retain(|c| c.id != closure_id);
            Ok((closures, view(closure), json!(null), ()))
        })
        .await?;
        api::no_content()
    }

    /// Rewrites the closures of room `roomId` as `change` makes them of the room as it is
    /// (answering the new closures, the audit's before and after, and a value to keep), over
    /// the room's version; a room changed meanwhile is read and changed again.
    async fn change_closures<T>(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        action: &str,
        mut change: impl FnMut(&RoomRecord) -> Result<(Vec<Closure>, Value, Value, T), ApiError>,
    ) -> Result<(RoomRecord, T), ApiError> {
        let tenant_id = caller.tenant_id();
        let room_id = request.path_param("roomId")?;
        let not_found = || ApiError::NotFound(format!("room {room_id}"));
        let mut tries = Optimistic::new();
        while tries.next().await {
            let current = self
                .store
                .get(tenant_id, room_id)
                .await?
                .ok_or_else(not_found)?;
            let (closures, before, after, kept) = change(&current)?;
            let mut next = current.revised();
            next.closures = closures;
            let audit = self.auditor.entry(
                request,
                Record {
                    tenant_id,
                    actor: caller.user_id(),
                    action,
                    target: &format!("room:{room_id}"),
                    before,
                    after,
                },
            );
            match self.store.update(&next, current.version, &audit).await {
                Ok(()) => return Ok((next, kept)),
                // Someone else changed the room: change what they left.
                Err(RoomWriteError::VersionMismatch(_)) => continue,
                Err(RoomWriteError::NotFound) => return Err(not_found()),
                Err(error) => return Err(ApiError::internal(error)),
            }
        }
        Err(tries.spent())
    }

    /// `GET /v1/rooms/{roomId}/closures`.
    pub(crate) async fn closures(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        let room = self.found(&caller, request).await?;
        let items: Vec<Value> = room.closures.iter().map(view).collect();
        Ok(crate::with_etag(
            api::json(StatusCode::OK, &json!({ "items": items }))?,
            room.version,
        ))
    }

    /// The room's bookings from now to its horizon that a closure meets.
    async fn bookings_met(
        &self,
        room: &RoomRecord,
        zone: &RoomZone,
        closure: &Closure,
    ) -> Result<Vec<Value>, ApiError> {
        let now = Timestamp::now();
        let horizon =
            now + SignedDuration::from_hours(24 * i64::from(room.room.rules.horizon_days.max(1)));
        let Ok(window) = Slot::new(now, horizon) else {
            return Ok(Vec::new());
        };
        let closed = closure.within(zone, &window);
        let mut dates: Vec<_> = closed
            .iter()
            .flat_map(|slot| dates_between(slot.start, slot.end))
            .collect();
        dates.dedup();
        if dates.is_empty() {
            return Ok(Vec::new());
        }
        let days = self
            .bookings
            .days(&room.tenant_id, &room.room_id, &dates)
            .await?;
        let mut met: Vec<Value> = taken_on(
            days.iter().flat_map(|day| &day.entries),
            &Default::default(),
        )
        .into_iter()
        .filter_map(|taken| match taken {
            Taken::Booking { booking_id, slot } => closed
                .iter()
                .any(|c| c.overlaps(&slot))
                .then(|| json!({ "id": booking_id, "start": slot.start, "end": slot.end })),
            Taken::Closure { .. } => None,
        })
        .collect();
        met.sort_by(|a, b| a["start"].as_str().cmp(&b["start"].as_str()));
        // Named as a 409 names who holds a slot: whom to tell the room is closed.
        let ids = met
            .iter()
            .filter_map(|booking| booking["id"].as_str().map(str::to_owned))
            .collect();
        let names = self.organisers(&room.tenant_id, ids).await;
        for booking in &mut met {
            let name = booking["id"].as_str().and_then(|id| names.get(id)).cloned();
            booking["organiser_name"] = json!(name);
        }
        Ok(met)
    }
}
