//! `POST /v1/terminal/sync`: what a terminal captured while it could not reach the API (SPEC
//! §D). Items are applied in the order they happened on the device (times corrected by the
//! request's own clock skew, [`steward_domain::terminal::offline`]), each with its outcome,
//! and remembered by id so that an upload sent again changes nothing twice. A check-in made in
//! time for a booking released meanwhile reinstates it when its slot is still free, and is a
//! conflict when it is not.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_domain::booking::status::{BookingStatus, Transition};
use steward_domain::terminal::check_in::{CheckInRefusal, may_check_in};
use steward_domain::terminal::offline::{corrected, in_device_order};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::terminals::AppliedItem;

use super::actions::Presented;
use super::{Device, Terminals};

/// Items per upload at most.
const MAX_ITEMS: usize = 100;

/// How long an applied item's id is remembered.
const REMEMBERED_SECONDS: i64 = 7 * 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncInput {
    items: Vec<ItemInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemInput {
    id: String,
    kind: String,
    device_time: Timestamp,
    // Not `#[serde(flatten)]`: serde's flatten does not go with `deny_unknown_fields`.
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    badge: Option<String>,
}

/// What came of one item.
#[derive(Debug, Clone)]
struct Outcome {
    outcome: &'static str,
    booking_id: Option<String>,
    detail: Option<String>,
}

impl Outcome {
    fn rejected(detail: impl Into<String>) -> Self {
        Self {
            outcome: "rejected",
            booking_id: None,
            detail: Some(detail.into()),
        }
    }
}

fn valid_id(id: &str) -> bool {
    id.len() <= 64 && steward_domain::digest::is_token_part(id)
}

impl Terminals {
    pub(super) async fn sync(
        &self,
        request: &ApiRequest,
        device: Device,
    ) -> Result<Response<Body>, ApiError> {
        let input: SyncInput = request.json()?;
        if input.items.is_empty() || input.items.len() > MAX_ITEMS {
            return Err(ApiError::validation(
                "items",
                format!("1 to {MAX_ITEMS} items"),
            ));
        }
        for (i, item) in input.items.iter().enumerate() {
            if !valid_id(&item.id) {
                return Err(ApiError::validation(
                    format!("items[{i}].id"),
                    "1 to 64 characters of A-Z a-z 0-9 - _",
                ));
            }
            if item.kind != "check_in" {
                return Err(ApiError::validation(format!("items[{i}].kind"), "check_in"));
            }
        }
        let now = Timestamp::now();
        let terminal = &device.terminal;
        let ids: Vec<String> = input.items.iter().map(|i| i.id.clone()).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let applied = self
            .terminals
            .applied(&terminal.tenant_id, &terminal.terminal_id, &id_refs)
            .await?;
        let mut ordered: Vec<(Timestamp, usize, ItemInput)> = Vec::new();
        let mut results = vec![None; input.items.len()];
        for (position, item) in input.items.into_iter().enumerate() {
            if let Some(before) = applied.iter().find(|a| a.item_id == item.id) {
                results[position] = Some(Outcome {
                    outcome: "already_applied",
                    booking_id: before.booking_id.clone(),
                    detail: Some(format!("applied before: {}", before.outcome)),
                });
                continue;
            }
            match corrected(item.device_time, device.signed_at, now) {
                Ok(at) => ordered.push((at, position, item)),
                Err(refusal) => results[position] = Some(Outcome::rejected(refusal.to_string())),
            }
        }
        in_device_order(&mut ordered);
        let mut order = Vec::new();
        for (at, position, item) in ordered {
            let outcome = self.apply(request, &device, &item, at).await?;
            let (pk, sk) = AppliedItem::key(&terminal.tenant_id, &terminal.terminal_id, &item.id);
            self.terminals
                .record_applied(&AppliedItem {
                    pk,
                    sk,
                    item_id: item.id.clone(),
                    outcome: outcome.outcome.to_owned(),
                    booking_id: outcome.booking_id.clone(),
                    detail: outcome.detail.clone(),
                    expires_at: now.as_second() + REMEMBERED_SECONDS,
                })
                .await?;
            order.push(position);
            results[position] = Some(outcome);
        }
        // Applied items in the order they were applied, then those refused before it.
        let mut positions = order;
        positions.extend(
            (0..results.len())
                .filter(|p| !positions.contains(p))
                .collect::<Vec<_>>(),
        );
        let body: Vec<serde_json::Value> = positions
            .into_iter()
            .filter_map(|p| {
                let outcome = results[p].clone()?;
                Some(json!({
                    "id": ids[p],
                    "outcome": outcome.outcome,
                    "booking_id": outcome.booking_id,
                    "detail": outcome.detail,
                }))
            })
            .collect();
        api::json(StatusCode::OK, &json!({ "results": body }))
    }

    /// One check-in captured at `at` (server time): its outcome. Only a failure to reach
    /// storage is an error (the upload is then retried whole; applied items stay applied).
    async fn apply(
        &self,
        request: &ApiRequest,
        device: &Device,
        item: &ItemInput,
        at: Timestamp,
    ) -> Result<Outcome, ApiError> {
        let presented = Presented {
            pin: item.pin.clone(),
            badge: item.badge.clone(),
        };
        let presented = match presented.parse() {
            Ok(presented) => presented,
            Err(error) => return Ok(Outcome::rejected(error.to_string())),
        };
        let door = self.door(device, at).await?;
        let found = self
            .presented_booking(
                device,
                &presented,
                &door.bookings,
                |b| {
                    matches!(
                        b.status,
                        BookingStatus::Confirmed
                            | BookingStatus::CheckedIn
                            | BookingStatus::Released
                    )
                },
                at,
                true,
            )
            .await;
        let (booking, member) = match found {
            Ok(found) => found,
            Err(error) if error.status().is_server_error() => return Err(error),
            Err(error) => return Ok(Outcome::rejected(problem_text(&error))),
        };
        let booking_id = Some(booking.booking_id.clone());
        let reject = |detail: String| Outcome {
            outcome: "rejected",
            booking_id: booking_id.clone(),
            detail: Some(detail),
        };
        if booking.status == BookingStatus::CheckedIn {
            // Checked in meanwhile (the answer to an online check-in lost on its way back):
            // what the terminal wanted holds.
            return Ok(Outcome {
                outcome: "checked_in",
                booking_id,
                detail: Some("already checked in".into()),
            });
        }
        if booking.status == BookingStatus::Confirmed {
            return Ok(
                match self
                    .check_in_booking(
                        request,
                        device,
                        (&presented, &member),
                        booking,
                        at,
                        &door.room,
                    )
                    .await
                {
                    Ok(_) => Outcome {
                        outcome: "checked_in",
                        booking_id,
                        detail: None,
                    },
                    Err(error) if error.status().is_server_error() => return Err(error),
                    Err(error) => reject(problem_text(&error)),
                },
            );
        }
        // Released meanwhile: the check-in reinstates it if it was in time and the slot is free.
        self.member(device, &member, steward_authz::Permission::BookingsCheckIn)
            .await?;
        let policy = Self::policy(device);
        if let Err(CheckInRefusal::OutsideWindow(window)) = may_check_in(
            BookingStatus::Confirmed,
            &booking.slot,
            &door.room.room.rules,
            &policy,
            at,
        ) {
            return Ok(reject(format!(
                "check-in is open from {} until {}",
                window.opens, window.closes
            )));
        }
        let mut next = booking
            .after(Transition::Reinstate, Timestamp::now())
            .map_err(ApiError::internal)?;
        next.status_reason = Some(format!("reinstated: checked in offline at {at}"));
        let audit = self.audit(
            request,
            device,
            &member,
            "booking.reinstate",
            Some(booking),
            &next,
        );
        match self
            .commit(
                device,
                &presented,
                booking,
                next,
                (None, Some(booking.slot)),
                audit,
            )
            .await
        {
            Ok(_) => Ok(Outcome {
                outcome: "reinstated",
                booking_id,
                detail: None,
            }),
            Err(ApiError::Conflict(detail) | ApiError::SlotTaken { detail, .. }) => Ok(Outcome {
                outcome: "conflict",
                booking_id,
                detail: Some(detail),
            }),
            Err(error) if error.status().is_server_error() => Err(error),
            Err(error) => Ok(reject(problem_text(&error))),
        }
    }
}

/// A refusal as an item's detail.
fn problem_text(error: &ApiError) -> String {
    error
        .problem("", "")
        .detail
        .unwrap_or_else(|| error.to_string())
}
