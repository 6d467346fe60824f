//! Bookings (SPEC §C): created, moved, resized, extended, ended early, cancelled, approved and
//! rejected on a room's calendar ([`crate::calendar`]) so that no two ever overlap, buffers
//! counted on both sides, whatever the concurrency; times in the room's zone unless an offset
//! is given; every refusal says which rule, booking or closure.

use std::collections::{BTreeSet, HashMap};

use http::{HeaderValue, StatusCode, header};
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Caller, Record, new_id};
use steward_authz::Permission;
use steward_calendar::{
    BookingRequest, Holder, Placement, Plan, RoomAt, Times, bookable, instant, waived,
};
use steward_domain::booking::days::{days_of, likely_days};
use steward_domain::booking::entity::Booking;
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::Slot;
use steward_domain::booking::status::{BookingStatus, Transition};
use steward_domain::text::{Reason, Title};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::bookings::Listing;

use crate::Rooms;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingInput {
    room_id: String,
    /// RFC 3339 with an offset, or a local time in the room's zone (`2026-06-01T09:00`).
    start: String,
    end: String,
    #[serde(default)]
    title: Title,
    /// Managers book past the room's rules (never past another booking) with a reason.
    #[serde(default)]
    override_reason: Option<Reason>,
    /// Members who may check in to it besides the organiser.
    #[serde(default)]
    invitees: Vec<String>,
    /// The member it is booked for, by someone with rooms:manage (the caller when absent): their
    /// quota and credentials count, and it is theirs to follow and cancel.
    #[serde(default)]
    organiser_id: Option<String>,
}

/// A move, resize or extension: what is left out stays.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeInput {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    title: Option<Title>,
    #[serde(default)]
    override_reason: Option<Reason>,
    /// The invitees, replaced whole.
    #[serde(default)]
    invitees: Option<Vec<String>>,
}

/// A booking's invitees at most.
const MAX_INVITEES: usize = 50;

/// Invitees as given: member ids, each once, the organiser left out.
pub(crate) fn invitees(given: &[String], organiser: &str) -> Result<Vec<String>, ApiError> {
    if given.len() > MAX_INVITEES {
        return Err(ApiError::validation(
            "invitees",
            format!("at most {MAX_INVITEES} members"),
        ));
    }
    let mut members: Vec<String> = Vec::new();
    for (i, id) in given.iter().enumerate() {
        let id = id.trim();
        let shaped = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !shaped {
            return Err(ApiError::validation(
                format!("invitees[{i}]"),
                "a member id, such as usr_0193…",
            ));
        }
        if id != organiser && !members.iter().any(|m| m == id) {
            members.push(id.to_owned());
        }
    }
    Ok(members)
}

/// Why, for cancelling, ending early, approving or rejecting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonInput {
    #[serde(default)]
    reason: Option<Reason>,
}

pub(crate) use steward_calendar::view::booking as view;

/// A reason as given: trimmed, and none when blank.
pub(crate) fn given(reason: Option<Reason>) -> Option<String> {
    reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
}

fn reason_of(request: &ApiRequest) -> Result<Option<String>, ApiError> {
    Ok(given(request.json_or_default::<ReasonInput>()?.reason))
}

fn created(record: &Booking, pin: Option<String>) -> Result<Response<Body>, ApiError> {
    let mut body = view(record);
    body["check_in_pin"] = json!(pin);
    let mut response = api::json(StatusCode::CREATED, &body)?;
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/bookings/{}", record.booking_id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(crate::with_etag(response, record.version))
}

fn answered(record: &Booking) -> Result<Response<Body>, ApiError> {
    Ok(crate::with_etag(
        api::json(StatusCode::OK, &view(record))?,
        record.version,
    ))
}

/// A booking as `caller` reads it: with its check-in PIN when they attend it (the PIN is no
/// part of the booking's history: audit entries and exports leave it out).
fn answered_to(
    record: &Booking,
    caller: &Caller,
    pin: impl Fn(&Booking) -> String,
) -> Result<Response<Body>, ApiError> {
    let mut body = view(record);
    body["check_in_pin"] = json!(record.attended_by(caller.user_id()).then(|| pin(record)));
    Ok(crate::with_etag(
        api::json(StatusCode::OK, &body)?,
        record.version,
    ))
}

impl Rooms {
    /// The booking `bookingId`, if the caller may change it: its organiser, or someone who
    /// manages rooms; and the version `If-Match` names, which must be the current one.
    async fn changeable(&self, caller: &Caller, request: &ApiRequest) -> Result<Booking, ApiError> {
        let id = request.path_param("bookingId")?;
        let current = self
            .bookings
            .get(caller.tenant_id(), id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("booking {id}")))?;
        if current.organiser != caller.user_id() {
            self.guard.also(caller, Permission::RoomsManage)?;
        }
        // After the lookup: another tenant's id is a 404 whatever the headers.
        let version = crate::if_match(request, "booking")?;
        if current.version != version {
            return Err(ApiError::PreconditionFailed("booking".into()));
        }
        Ok(current)
    }

    /// A refusal because the slot is taken, with each booking in the way named by its
    /// organiser's name (`held_by`): who to ask for the room. Best effort: a name that cannot be
    /// read leaves its obstacle unnamed rather than failing the answer.
    async fn holders_named<T>(
        &self,
        tenant_id: &str,
        answer: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let Err(ApiError::SlotTaken {
            detail,
            mut obstacles,
        }) = answer
        else {
            return answer;
        };
        let holders = self
            .organisers(
                tenant_id,
                obstacles
                    .iter()
                    .filter_map(|o| o.booking_id.clone())
                    .collect(),
            )
            .await;
        for obstacle in &mut obstacles {
            obstacle.held_by = obstacle
                .booking_id
                .as_ref()
                .and_then(|id| holders.get(id))
                .cloned();
        }
        Err(ApiError::SlotTaken { detail, obstacles })
    }

    /// The organisers of `booking_ids` by name (booking id to name): one batched read of the
    /// bookings and one of their organisers, however many there are. Names are a courtesy: a
    /// read that fails leaves them unnamed rather than failing the answer.
    pub(crate) async fn organisers(
        &self,
        tenant_id: &str,
        booking_ids: Vec<String>,
    ) -> HashMap<String, String> {
        let ids: BTreeSet<&str> = booking_ids.iter().map(String::as_str).collect();
        if ids.is_empty() {
            return HashMap::new();
        }
        let ids: Vec<&str> = ids.into_iter().collect();
        let Ok(bookings) = self.bookings.many(tenant_id, &ids).await else {
            return HashMap::new();
        };
        let organisers: BTreeSet<&str> = bookings.iter().map(|b| b.organiser.as_str()).collect();
        let organisers: Vec<&str> = organisers.into_iter().collect();
        let Ok(users) = self.identity.users(tenant_id, &organisers).await else {
            return HashMap::new();
        };
        let names: HashMap<&str, &str> = users
            .iter()
            .map(|user| (user.user_id.as_str(), user.name.as_str()))
            .collect();
        bookings
            .iter()
            .filter_map(|booking| {
                let name = names.get(booking.organiser.as_str())?;
                Some((booking.booking_id.clone(), (*name).to_owned()))
            })
            .collect()
    }

    fn audit(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        action: &str,
        before: Option<&Booking>,
        after: &Booking,
    ) -> steward_store::audit::AuditEntry {
        self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action,
                target: &format!("booking:{}", after.booking_id),
                before: before.map(view).unwrap_or(Value::Null),
                after: view(after),
            },
        )
    }

    /// `POST /v1/bookings`.
    pub(crate) async fn create_booking(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsCreate)
            .await?;
        let input: BookingInput = request.json()?;
        let organiser = self
            .organiser(&caller, input.organiser_id.as_deref())
            .await?;
        let invited = invitees(&input.invitees, &organiser)?;
        let tenant_id = caller.tenant_id();
        // A keyed create names the booking after its run, so that a retry taking over a run
        // whose answer was lost finds the booking that run made instead of conflicting with it.
        let booking_id = match &request.idempotent_run {
            Some(run) => format!("bkg_{}", run.id.simple()),
            None => new_id("bkg"),
        };
        if request
            .idempotent_run
            .as_ref()
            .is_some_and(|run| run.taken_over)
            && let Some(made) = self.bookings.get(tenant_id, &booking_id).await?
        {
            return created(&made, Some(self.pin(&made)));
        }
        let authority = self.authority(&caller, input.override_reason.as_deref());
        let asked = BookingRequest {
            tenant_id,
            booking_id: &booking_id,
            room_id: &input.room_id,
            organiser: &organiser,
            title: &input.title,
            times: Times::Given {
                start: &input.start,
                end: &input.end,
            },
            override_reason: input.override_reason.as_deref(),
            started: false,
        };
        let at = RoomAt::Read {
            tenant_id,
            room_id: &input.room_id,
            likely: &likely_days(&input.start, &input.end),
        };
        let plan = self
            .calendar
            .place(at, Holder::of(&caller, &organiser), |room| {
                let (mut record, slot) = asked.build(room, &authority, Timestamp::now())?;
                record.invitees = invited.clone();
                let audit = self.audit(request, &caller, "booking.create", None, &record);
                Ok::<_, ApiError>(Plan::single(Placement::new(record, slot), audit))
            })
            .await;
        let plan = self.holders_named(tenant_id, plan).await?;
        let record = plan.placed()?;
        created(&record, Some(self.pin(&record)))
    }

    /// Whom a new booking is for: the caller, or the active member `asked` names when the caller
    /// may manage rooms (a manager booking for someone; 403 otherwise). A member of another
    /// tenant is no member here.
    async fn organiser(&self, caller: &Caller, asked: Option<&str>) -> Result<String, ApiError> {
        let Some(member) = asked.filter(|id| *id != caller.user_id()) else {
            return Ok(caller.user_id().to_owned());
        };
        self.guard
            .decision(caller, Permission::RoomsManage)
            .map_err(|denied| steward_access::deny_to_problem(&denied))?;
        match self.identity.user(caller.tenant_id(), member).await? {
            Some(user) if user.status == "active" => Ok(user.user_id),
            _ => Err(ApiError::validation(
                "organiser_id",
                format!("{member} is not an active member of this organisation"),
            )),
        }
    }

    /// `GET /v1/bookings/{bookingId}`.
    pub(crate) async fn booking(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::BookingsRead).await?;
        let id = request.path_param("bookingId")?;
        let record = self
            .bookings
            .get(caller.tenant_id(), id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("booking {id}")))?;
        answered_to(&record, &caller, |b| self.pin(b))
    }

    /// `PATCH /v1/bookings/{bookingId}`: moves, resizes, extends or renames a booking at the
    /// version `If-Match` names. A booking under way keeps its start; only its end moves.
    pub(crate) async fn change_booking(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsCreate)
            .await?;
        let input: ChangeInput = request.json()?;
        let current = self.changeable(&caller, request).await?;
        let invited = match &input.invitees {
            Some(given) => Some(invitees(given, &current.organiser)?),
            None => None,
        };
        if !current.status.holds_room() {
            return Err(ApiError::Conflict(format!(
                "booking {} is {} and cannot change",
                current.booking_id, current.status
            )));
        }
        let from = current.slot;
        let mut likely = days_of(&from);
        if let (Some(start), Some(end)) = (&input.start, &input.end) {
            likely.extend(likely_days(start, end));
            likely.sort();
            likely.dedup();
        }
        let authority = self.authority(&caller, input.override_reason.as_deref());
        // Decided before the write, and only for a move: a manager's needs no approval again.
        let moves = input.start.is_some() || input.end.is_some();
        let approves = moves
            && (self.guard)
                .decision(&caller, Permission::BookingsApprove)
                .is_ok();
        let at = RoomAt::Read {
            tenant_id: caller.tenant_id(),
            room_id: &current.room_id,
            likely: &likely,
        };
        let plan = self
            .calendar
            .place(at, Holder::of(&caller, &current.organiser), |room| {
                let room = bookable(room, &current.room_id)?;
                let zone = RoomZone::parse(&room.room.time_zone).map_err(ApiError::internal)?;
                let start = match &input.start {
                    Some(text) => instant(&zone, text, "start")?,
                    None => from.start,
                };
                let end = match &input.end {
                    Some(text) => instant(&zone, text, "end")?,
                    None => from.end,
                };
                let now = Timestamp::now();
                let started = from.start <= now;
                if started && start != from.start {
                    return Err(ApiError::Conflict(format!(
                        "booking {} has started; only its end can move",
                        current.booking_id
                    )));
                }
                let to = Slot::new(start, end)
                    .map_err(|e| ApiError::validation("end", e.to_string()))?;
                let rules = room.room.rules;
                let override_reason = if to == from {
                    current.override_reason.clone()
                } else {
                    let reason = input.override_reason.as_deref();
                    waived(&rules, &to, started, reason, &authority, now)?
                };
                let mut next = current.revised(now);
                next.slot = to;
                if let Some(title) = &input.title {
                    next.title = title.trim().to_owned();
                }
                if let Some(invited) = &invited {
                    next.invitees = invited.clone();
                }
                next.override_reason = override_reason;
                // A new time in a room needing approval is approved again, unless a manager
                // (who could approve it) moved it.
                if rules.approval_required
                    && to != from
                    && next.status == BookingStatus::Confirmed
                    && !approves
                {
                    next.status = BookingStatus::Pending;
                    next.decided_by = None;
                }
                let audit = self.audit(request, &caller, "booking.update", Some(&current), &next);
                Ok::<_, ApiError>(Plan::single(
                    Placement::change(&current, next, Some(from), Some(to)),
                    audit,
                ))
            })
            .await;
        let plan = self.holders_named(caller.tenant_id(), plan).await?;
        answered(&plan.placed()?)
    }

    /// A change of status that lets go of the room (`to: None`) or keeps the slot held.
    async fn settle(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        current: Booking,
        action: &str,
        change: impl Fn(&mut Booking) -> Option<Slot>,
    ) -> Result<Response<Body>, ApiError> {
        let from = current.slot;
        let held = current.status.holds_room().then_some(from);
        let mut next = current.revised(Timestamp::now());
        let to = change(&mut next);
        let audit = self.audit(request, caller, action, Some(&current), &next);
        let at = RoomAt::Read {
            tenant_id: caller.tenant_id(),
            room_id: &current.room_id,
            likely: &days_of(&from),
        };
        let plan = self
            .calendar
            .place(at, Holder::of(caller, &current.organiser), |_| {
                Ok::<_, ApiError>(Plan::single(
                    Placement::change(&current, next.clone(), held, to),
                    audit.clone(),
                ))
            })
            .await?;
        answered(&plan.placed()?)
    }

    /// `POST /v1/bookings/{bookingId}/cancel`: kept, as history; its slot freed.
    pub(crate) async fn cancel_booking(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsCreate)
            .await?;
        let reason = reason_of(request)?;
        let current = self.changeable(&caller, request).await?;
        let cancelled = current.status.after(Transition::Cancel).map_err(|_| {
            ApiError::Conflict(format!(
                "booking {} is {} and cannot be cancelled",
                current.booking_id, current.status
            ))
        })?;
        self.settle(request, &caller, current, "booking.cancel", |next| {
            next.status = cancelled;
            next.status_reason = reason.clone();
            None
        })
        .await
    }

    /// `POST /v1/bookings/{bookingId}/end`: ends a booking under way now, freeing the rest.
    pub(crate) async fn end_booking(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsCreate)
            .await?;
        let reason = reason_of(request)?;
        let current = self.changeable(&caller, request).await?;
        let slot = current.slot;
        let now = Timestamp::now();
        let in_slot = slot.start <= now && now < slot.end;
        let completed = (current.status.after(Transition::End).ok())
            .filter(|_| in_slot)
            .ok_or_else(|| {
                ApiError::Conflict(format!(
                    "booking {} is not under way ({}, {} to {}); cancel it instead",
                    current.booking_id, current.status, slot.start, slot.end
                ))
            })?;
        // Whole seconds: the end is shown and compared as RFC 3339.
        let ended = slot.cut_at(Timestamp::from_second(now.as_second()).unwrap_or(now));
        self.settle(request, &caller, current, "booking.end", |next| {
            next.slot = ended;
            next.status = completed;
            next.status_reason = reason.clone();
            // A booking that ends the second it started holds nothing.
            Some(ended).filter(|ended| !ended.is_empty())
        })
        .await
    }

    /// `POST /v1/bookings/{bookingId}/approve`.
    pub(crate) async fn approve_booking(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.decide_booking(request, true).await
    }

    /// `POST /v1/bookings/{bookingId}/reject`.
    pub(crate) async fn reject_booking(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.decide_booking(request, false).await
    }

    /// An approver decides a pending booking; it held its slot while pending, so approval
    /// keeps it and rejection frees it.
    async fn decide_booking(
        &self,
        request: &ApiRequest,
        approve: bool,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsApprove)
            .await?;
        let reason = reason_of(request)?;
        let current = self.changeable(&caller, request).await?;
        let transition = if approve {
            Transition::Approve
        } else {
            Transition::Reject
        };
        let decided = current.status.after(transition).map_err(|_| {
            ApiError::Conflict(format!(
                "booking {} is {}, not pending",
                current.booking_id, current.status
            ))
        })?;
        // Approval is a second person's look at the booking, as a change request's and a
        // credential's review are (docs/reliability.md): never the organiser's own.
        if approve && current.organiser == caller.user_id() {
            return Err(ApiError::Forbidden {
                detail: "a booking is approved by someone other than its organiser".into(),
                permission: None,
                feature: None,
            });
        }
        let slot = current.slot;
        let decider = caller.user_id().to_owned();
        let action = if approve {
            "booking.approve"
        } else {
            "booking.reject"
        };
        self.settle(request, &caller, current, action, |next| {
            next.status = decided;
            next.status_reason = reason.clone();
            next.decided_by = Some(decider.clone());
            approve.then_some(slot)
        })
        .await
    }

    /// `GET /v1/bookings`: bookings starting in `[from, to)`, by start time: the caller's
    /// (`mine=true`), a room's (`room_id`), or the tenant's (a day view; at most 31 days).
    pub(crate) async fn list_bookings(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::BookingsRead).await?;
        let query = &request.query;
        let window = crate::query_window(request, ("from", "to"), 31)?;
        let mine = match query.get("mine").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(ApiError::validation("mine", "true or false")),
        };
        let listing = match (mine, query.get("room_id")) {
            (true, Some(_)) => {
                return Err(ApiError::validation(
                    "mine",
                    "either mine=true or room_id, not both",
                ));
            }
            (true, None) => Listing::Organiser(caller.user_id()),
            (false, Some(room_id)) => Listing::Room(room_id),
            (false, None) => Listing::Tenant,
        };
        // Only bookings in this status (a manager's queue: `pending`); a page may then hold
        // fewer than its limit, and its cursor goes on from where the page's reading stopped.
        let status: Option<BookingStatus> = query
            .get("status")
            .map(|text| {
                serde_json::from_value(Value::String(text.clone())).map_err(|_| {
                    ApiError::validation(
                        "status",
                        "one of pending, confirmed, checked_in, completed, cancelled, released, rejected",
                    )
                })
            })
            .transpose()?;
        let (from, to) = (window.start.to_string(), window.end.to_string());
        // The cursor is sealed to this very query: it cannot be replayed against another.
        let scope = format!(
            "{}#bookings#{listing:?}#{from}#{to}#{status:?}",
            request.scope
        );
        let page = self.cursors.page_request(&scope, query)?;
        let (records, next) = self
            .bookings
            .page(caller.tenant_id(), listing, window, page.limit, page.start)
            .await?;
        let items: Vec<Value> = records
            .iter()
            .filter(|record| status.is_none_or(|wanted| record.status == wanted))
            .map(view)
            .collect();
        api::json(StatusCode::OK, &self.cursors.page(&scope, items, next))
    }
}
