//! Bookings (SPEC §C): created on a room's calendar so that no two ever overlap, buffers
//! counted on both sides, whatever the concurrency; times in the room's zone unless an offset
//! is given; every refusal says which rule, booking or closure.

use http::{HeaderValue, StatusCode, header};
use jiff::Timestamp;
use jiff::civil::DateTime;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Record, new_id};
use steward_authz::Permission;
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::{Conflict, Slot, Taken, breaches, conflicts};
use steward_kit::api::{self, ApiRequest};
use steward_kit::{ApiError, FieldError};
use steward_store::bookings::{BookingRecord, BookingWriteError, DayEntry, dates_between};

use crate::Rooms;

/// Concurrent writers on one room's day: the loser rereads; a second round sees the winner.
const ATTEMPTS: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingInput {
    room_id: String,
    /// RFC 3339 with an offset, or a local time in the room's zone (`2026-06-01T09:00`).
    start: String,
    end: String,
    #[serde(default)]
    title: String,
    /// Managers book past the room's rules (never past another booking) with a reason.
    #[serde(default)]
    override_reason: Option<String>,
}

/// An instant from RFC 3339, or from a local time on the room's wall clock.
fn instant(zone: &RoomZone, text: &str, field: &str) -> Result<Timestamp, ApiError> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let local: DateTime = text.parse().map_err(|_| {
        ApiError::validation(
            field,
            "an RFC 3339 time, or a local time such as 2026-06-01T09:00",
        )
    })?;
    zone.resolve(local)
        .map_err(|error| ApiError::validation(field, error.to_string()))
}

fn view(record: &BookingRecord) -> Value {
    json!({
        "id": record.booking_id,
        "room_id": record.room_id,
        "organiser": record.organiser,
        "title": record.title,
        "start": record.start,
        "end": record.end,
        "status": record.status,
        "version": record.version,
        "override_reason": record.override_reason,
        "created_at": record.created_at,
    })
}

fn conflict_problem(met: &[Conflict]) -> ApiError {
    let named: Vec<String> = met
        .iter()
        .map(|conflict| match conflict {
            Conflict::Booking {
                booking_id,
                start,
                end,
                buffer_only,
            } => format!(
                "booking {booking_id} ({start} to {end}){}",
                if *buffer_only {
                    ", counting the room's buffers"
                } else {
                    ""
                }
            ),
            Conflict::Closure {
                closure_id,
                start,
                end,
                reason,
            } => format!("closure {closure_id} ({start} to {end}): {reason}"),
        })
        .collect();
    ApiError::Conflict(format!("the room is taken: {}", named.join("; ")))
}

impl Rooms {
    pub(crate) async fn create_booking(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsCreate)
            .await?;
        let input: BookingInput = request.json()?;
        let tenant_id = caller.tenant_id();
        let room = self
            .store
            .get(tenant_id, &input.room_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("room {}", input.room_id)))?;
        if !room.room.bookable {
            return Err(ApiError::Conflict(format!(
                "room {} is not bookable",
                room.room_id
            )));
        }
        let zone = RoomZone::parse(&room.room.time_zone).map_err(ApiError::internal)?;
        let start = instant(&zone, &input.start, "start")?;
        let end = instant(&zone, &input.end, "end")?;
        let slot = Slot::new(start, end).map_err(|e| ApiError::validation("end", e.to_string()))?;
        let rules = room.room.rules;
        let now = Timestamp::now();
        let broken = breaches(&rules, &slot, now);
        let override_reason = match (broken.is_empty(), input.override_reason) {
            (true, _) => None,
            (false, Some(reason)) if !reason.trim().is_empty() => {
                // Only those who manage rooms may book past their rules.
                self.guard.allow(request, Permission::RoomsManage).await?;
                Some(reason.trim().to_owned())
            }
            (false, _) => {
                return Err(ApiError::Validation(
                    broken
                        .iter()
                        .map(|breach| {
                            let rule = serde_json::to_value(breach).unwrap_or_default();
                            FieldError::new(
                                format!("rules.{}", rule["rule"].as_str().unwrap_or("rule")),
                                breach.to_string(),
                            )
                        })
                        .collect(),
                ));
            }
        };
        let booking_id = new_id("bkg");
        let now_text = now.to_string();
        let record = BookingRecord {
            pk: BookingRecord::key(tenant_id, &booking_id).0,
            sk: BookingRecord::key(tenant_id, &booking_id).1,
            booking_id: booking_id.clone(),
            tenant_id: tenant_id.to_owned(),
            room_id: room.room_id.clone(),
            organiser: caller.user_id().to_owned(),
            title: input.title.trim().to_owned(),
            start: slot.start.to_string(),
            end: slot.end.to_string(),
            status: if rules.approval_required {
                "pending"
            } else {
                "confirmed"
            }
            .into(),
            version: 1,
            created_at: now_text.clone(),
            updated_at: now_text,
            override_reason,
        };
        let blocked = slot.blocked(&rules);
        let dates = dates_between(blocked.start, blocked.end);
        for _ in 0..ATTEMPTS {
            let mut days = self.bookings.days(tenant_id, &room.room_id, &dates).await?;
            let mut taken: Vec<Taken> = Vec::new();
            for entry in days.iter().flat_map(|d| &d.entries) {
                if taken.iter().any(|t| matches!(t, Taken::Booking { booking_id, .. } if *booking_id == entry.booking_id)) {
                    continue;
                }
                if let (Ok(start), Ok(end)) = (entry.start.parse(), entry.end.parse())
                    && let Ok(slot) = Slot::new(start, end)
                {
                    taken.push(Taken::Booking {
                        booking_id: entry.booking_id.clone(),
                        slot,
                    });
                }
            }
            let met = conflicts(&rules, &slot, &taken, None);
            if !met.is_empty() {
                return Err(conflict_problem(&met));
            }
            for day in &mut days {
                day.entries.push(DayEntry {
                    booking_id: booking_id.clone(),
                    start: record.start.clone(),
                    end: record.end.clone(),
                });
            }
            let audit = self.auditor.entry(
                request,
                Record {
                    tenant_id,
                    actor: caller.user_id(),
                    action: "booking.create",
                    target: &format!("booking:{booking_id}"),
                    before: json!(null),
                    after: view(&record),
                },
            );
            match self.bookings.create(&record, &days, &audit).await {
                Ok(()) => {
                    let mut response = api::json(StatusCode::CREATED, &view(&record))?;
                    if let Ok(location) =
                        HeaderValue::from_str(&format!("/v1/bookings/{booking_id}"))
                    {
                        response.headers_mut().insert(header::LOCATION, location);
                    }
                    return Ok(crate::with_etag(response, record.version));
                }
                Err(BookingWriteError::Moved) => continue,
                Err(BookingWriteError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::Unavailable {
            retry_after: std::time::Duration::from_secs(1),
            source: None,
        })
    }

    pub(crate) async fn booking(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::BookingsRead).await?;
        let id = request.path_param("bookingId")?;
        let record = self
            .bookings
            .get(caller.tenant_id(), id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("booking {id}")))?;
        Ok(crate::with_etag(
            api::json(StatusCode::OK, &view(&record))?,
            record.version,
        ))
    }
}
