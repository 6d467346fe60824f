//! Availability (SPEC §C): which rooms are free for an interval (capacity and equipment
//! filters), and a room's free/busy over days, each unavailable slot with its reason: the
//! booking it meets (or only its buffers), the closure, the rule, or a credential the caller
//! lacks.

use std::collections::{HashMap, HashSet};

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_authz::Permission;
use steward_calendar::obstacle;
use steward_domain::booking::days::{closures_within, days_of, taken_on};
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::{Slot, Taken, breaches, conflicts};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::rooms::RoomRecord;

use crate::Rooms;

/// Rooms read a page at a time while looking for free ones.
const ROOM_PAGE: u32 = 200;
/// The longest free/busy window.
const MAX_WINDOW_DAYS: i64 = 31;

fn room_summary(room: &RoomRecord) -> Value {
    json!({
        "id": room.room_id,
        "name": room.room.name,
        "site": room.room.site,
        "building": room.room.building,
        "floor": room.room.floor,
        "capacity": room.room.capacity,
        "equipment": room.room.equipment,
        "time_zone": room.room.time_zone,
    })
}

/// What holds `room` during `slot`: bookings (from its days) and closures.
fn taken_in(room: &RoomRecord, days: &[steward_store::bookings::Day], slot: &Slot) -> Vec<Taken> {
    let mut taken = taken_on(days.iter().flat_map(|day| &day.entries), &HashSet::new());
    if let Ok(zone) = RoomZone::parse(&room.room.time_zone) {
        taken.extend(closures_within(&room.closures, &zone, slot));
    }
    taken
}

impl Rooms {
    /// `GET /v1/availability?start&end[&capacity][&equipment=a,b][&site]`: the rooms free for
    /// the whole interval, and each other matching room with why not.
    pub(crate) async fn availability(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        let slot = crate::query_window(request, ("start", "end"), MAX_WINDOW_DAYS)?;
        let capacity: u32 = match request.query.get("capacity") {
            None => 1,
            Some(text) => text
                .parse()
                .map_err(|_| ApiError::validation("capacity", "a whole number of people"))?,
        };
        let equipment: Vec<String> = request
            .query
            .get("equipment")
            .map(|list| {
                list.split(',')
                    .map(|item| item.trim().to_lowercase())
                    .filter(|item| !item.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let site = request.query.get("site");
        let tenant_id = caller.tenant_id();

        let mut rooms = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.store.page(tenant_id, ROOM_PAGE, start).await?;
            rooms.extend(page.into_iter().filter(|room| {
                room.room.bookable
                    && room.room.capacity >= capacity
                    && equipment
                        .iter()
                        .all(|item| room.room.equipment.contains(item))
                    && site.is_none_or(|site| &room.room.site == site)
            }));
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        // Buffers reach at most MAX_BUFFER beyond a slot: the days that could hold a meeting.
        let dates = days_of(&slot);
        let ids: Vec<&str> = rooms.iter().map(|room| room.room_id.as_str()).collect();
        let days = self.bookings.days_of_rooms(tenant_id, &ids, &dates).await?;
        let now = Timestamp::now();
        // The caller's credentials and the types' names, read only when a room requires one.
        let (holdings, type_names) = if rooms
            .iter()
            .any(|room| !room.room.required_credentials.is_empty())
        {
            let (types, holdings) = tokio::try_join!(
                self.credentials.types(tenant_id),
                self.calendar.holdings(tenant_id, caller.user_id()),
            )?;
            let names: HashMap<String, String> = types
                .into_iter()
                .map(|record| (record.type_id, record.kind.name))
                .collect();
            (Some(holdings), names)
        } else {
            (None, HashMap::new())
        };
        let (mut free, mut unavailable) = (Vec::new(), Vec::new());
        for room in &rooms {
            let room_days = days.get(&room.room_id).map(Vec::as_slice).unwrap_or(&[]);
            let met = conflicts(
                &room.room.rules,
                &slot,
                &taken_in(room, room_days, &slot),
                None,
            );
            let broken = breaches(&room.room.rules, &slot, now);
            let lacking = holdings
                .as_ref()
                .map(|held| held.lacking(room, slot.end))
                .unwrap_or_default();
            if met.is_empty() && broken.is_empty() && lacking.is_empty() {
                free.push(room_summary(room));
            } else {
                let mut reasons: Vec<Value> = met
                    .iter()
                    .map(|conflict| serde_json::to_value(obstacle(conflict)).unwrap_or_default())
                    .collect();
                reasons.extend(broken.iter().map(|breach| {
                    let mut rule = serde_json::to_value(breach).unwrap_or_default();
                    rule["kind"] = json!("rule");
                    rule["message"] = json!(breach.to_string());
                    rule
                }));
                reasons.extend(lacking.iter().map(|type_id| {
                    json!({
                        "kind": "credential",
                        "credential_type_id": type_id,
                        "credential_type": type_names.get(*type_id),
                    })
                }));
                unavailable.push(json!({ "room": room_summary(room), "reasons": reasons }));
            }
        }
        api::json(
            StatusCode::OK,
            &json!({
                "start": slot.start, "end": slot.end,
                "free": free, "unavailable": unavailable,
            }),
        )
    }

    /// `GET /v1/rooms/{roomId}/free-busy?from&to`: the room's busy intervals (bookings, their
    /// buffers, closures) over at most 31 days, each with its reason, in time order.
    pub(crate) async fn free_busy(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        let room = self.found(&caller, request).await?;
        let slot = crate::query_window(request, ("from", "to"), MAX_WINDOW_DAYS)?;
        let rules = room.room.rules;
        let dates = days_of(&slot);
        let days = self
            .bookings
            .days(caller.tenant_id(), &room.room_id, &dates)
            .await?;
        let mut busy: Vec<Value> = Vec::new();
        for taken in taken_in(&room, &days, &slot) {
            match taken {
                Taken::Booking {
                    booking_id,
                    slot: booked,
                } => {
                    let blocked = booked.blocked(&rules);
                    if !blocked.overlaps(&slot) {
                        continue;
                    }
                    if blocked.start < booked.start {
                        busy.push(json!({ "kind": "buffer", "booking_id": booking_id,
                            "start": blocked.start, "end": booked.start }));
                    }
                    busy.push(json!({ "kind": "booking", "booking_id": booking_id,
                        "start": booked.start, "end": booked.end }));
                    if booked.end < blocked.end {
                        busy.push(json!({ "kind": "buffer", "booking_id": booking_id,
                            "start": booked.end, "end": blocked.end }));
                    }
                }
                Taken::Closure {
                    closure_id,
                    slot: closed,
                    reason,
                } => busy.push(json!({ "kind": "closure", "closure_id": closure_id,
                    "start": closed.start, "end": closed.end, "reason": reason })),
            }
        }
        busy.sort_by(|a, b| {
            let key = |v: &Value| v["start"].as_str().unwrap_or_default().to_owned();
            key(a).cmp(&key(b))
        });
        Ok(crate::with_etag(
            api::json(
                StatusCode::OK,
                &json!({
                    "room": room_summary(&room),
                    "from": slot.start, "to": slot.end,
                    "rules": rules,
                    "busy": busy,
                }),
            )?,
            room.version,
        ))
    }
}
