//! Recurring series (SPEC §C): an RRULE expanded on the room's wall clock (a weekly 09:00
//! stays at 09:00 local across clock changes), each occurrence a booking of its own, written
//! with the series in one all-or-nothing transaction through the calendar; under the `skip`
//! policy, occurrences that meet something are left out and say why. A series is edited or
//! cancelled from one occurrence on ("this and following") or whole; one occurrence alone is
//! edited or cancelled as the booking it is.

use std::collections::HashMap;

use http::{HeaderValue, StatusCode, header};
use jiff::Timestamp;
use jiff::civil::{DateTime, Time};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::Value;
use steward_access::{Caller, Record, new_id};
use steward_authz::Permission;
use steward_calendar::{
    BookingRequest, CalendarError, Holder, OnConflict, Placement, Plan, RoomAt, Settled, Skipped,
    Times, bookable, taken_detail,
};
use steward_domain::booking::entity::Booking;
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::recurrence::{Caps, RecurrenceRule, expand};
use steward_domain::booking::rules::{Conflict, Slot};
use steward_domain::booking::series::{Occurrence, Outcome, Series, SeriesPolicy};
use steward_domain::booking::status::Transition;
use steward_domain::text::{Line, Reason, Title};
use steward_kit::api::{self, ApiRequest};
use steward_kit::{ApiError, FieldError};
use steward_store::audit::AuditEntry;

use crate::Rooms;
use steward_calendar::view::{open_from, series as view, series_named};

/// The most occurrences one series holds: each is a booking and a day of the room, and the
/// series is written in one transaction of at most 100 items.
pub(crate) const MAX_OCCURRENCES: u32 = 48;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesInput {
    room_id: String,
    /// The first occurrence, as local times on the room's wall clock (`2027-03-01T09:00`).
    start: String,
    end: String,
    #[serde(default)]
    title: Title,
    /// RRULE: FREQ (DAILY, WEEKLY, MONTHLY), INTERVAL, BYDAY, COUNT or UNTIL.
    recurrence: Line<200>,
    #[serde(default)]
    on_conflict: SeriesPolicy,
    #[serde(default)]
    override_reason: Option<Reason>,
}

/// A change from one occurrence on: new wall-clock times and/or title.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesChange {
    #[serde(default)]
    from_index: u32,
    /// `HH:MM` on the room's wall clock.
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
    #[serde(default)]
    title: Option<Title>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesCancel {
    #[serde(default)]
    from_index: u32,
    #[serde(default)]
    reason: Option<Reason>,
}

fn local(text: &str, field: &str) -> Result<DateTime, ApiError> {
    text.parse().map_err(|_| {
        ApiError::validation(
            field,
            "a local time on the room's wall clock, such as 2027-03-01T09:00",
        )
    })
}

/// What a change or a cancellation does to a series: its bookings' next states, and its own
/// title when every occurrence is renamed.
struct Rewrite {
    placements: Vec<Placement>,
    title: Option<String>,
    action: &'static str,
}

/// The series as its placements leave it: each placed booking by id.
fn placed(plan: &Plan) -> HashMap<String, Booking> {
    plan.placements
        .iter()
        .map(|p| (p.record.booking_id.clone(), p.record.clone()))
        .collect()
}

impl Rooms {
    fn series_audit(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        action: &str,
        before: Value,
        after: Value,
        series_id: &str,
    ) -> AuditEntry {
        self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action,
                target: &format!("series:{series_id}"),
                before,
                after,
            },
        )
    }

    /// The series as answered: its skipped occurrences' obstacles with their organisers named.
    async fn answered(
        &self,
        tenant_id: &str,
        series: &Series,
        bookings: &HashMap<String, Booking>,
    ) -> Value {
        let held: Vec<String> = series
            .occurrences
            .iter()
            .flat_map(|o| &o.met)
            .filter_map(|conflict| match conflict {
                Conflict::Booking { booking_id, .. } => Some(booking_id.clone()),
                Conflict::Closure { .. } => None,
            })
            .collect();
        let holders = self.organisers(tenant_id, held).await;
        series_named(series, bookings, &holders)
    }

    /// `POST /v1/series`.
    pub(crate) async fn create_series(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::SeriesCreate).await?;
        let input: SeriesInput = request.json()?;
        let tenant_id = caller.tenant_id();
        let series_id = new_id("ser");
        let rule: RecurrenceRule = input.recurrence.parse().map_err(
            |e: steward_domain::booking::recurrence::RecurrenceError| {
                ApiError::validation("recurrence", e.to_string())
            },
        )?;
        let (first, last) = (local(&input.start, "start")?, local(&input.end, "end")?);
        if last <= first {
            return Err(ApiError::validation("end", "after start"));
        }
        let duration = last.duration_since(first);
        let authority = self.authority(&caller, input.override_reason.as_deref());
        let at = RoomAt::Read {
            tenant_id,
            room_id: &input.room_id,
            likely: &[],
        };
        let plan = self
            .calendar
            .write(
                at,
                Holder::of(&caller, caller.user_id()),
                |room| {
                    let room = bookable(room, &input.room_id)?;
                    let zone = RoomZone::parse(&room.room.time_zone).map_err(ApiError::internal)?;
                    let rules = room.room.rules;
                    let caps = Caps {
                        max_occurrences: MAX_OCCURRENCES,
                        horizon_days: rules.horizon_days,
                    };
                    let occurrences = expand(&rule, &zone, first, duration, caps)
                        .map_err(|e| ApiError::validation("recurrence", e.to_string()))?;
                    let now = Timestamp::now();
                    let override_reason = input
                        .override_reason
                        .as_deref()
                        .map(str::trim)
                        .filter(|r| !r.is_empty());
                    let mut placements = Vec::new();
                    let mut records = Vec::new();
                    let mut problems = Vec::new();
                    let mut overridden = false;
                    let mut denied = None;
                    for occurrence in &occurrences {
                        let index = occurrence.index;
                        let booking_id =
                            format!("{}_{index:02}", series_id.replacen("ser", "bkg", 1));
                        let mut refuse = |reason: String, records: &mut Vec<Occurrence>| match input
                            .on_conflict
                        {
                            SeriesPolicy::AllOrNothing => problems
                                .push(FieldError::new(format!("occurrences[{index}]"), reason)),
                            SeriesPolicy::Skip => records.push(Occurrence {
                                index,
                                local_start: occurrence.local_start,
                                start: None,
                                end: None,
                                outcome: Outcome::Skipped,
                                booking_id: None,
                                reason: Some(reason),
                                met: Vec::new(),
                            }),
                        };
                        let slot = match &occurrence.slot {
                            Ok((start, end)) => {
                                Slot::new(*start, *end).map_err(ApiError::internal)?
                            }
                            Err(gap) => {
                                refuse(gap.to_string(), &mut records);
                                continue;
                            }
                        };
                        let asked = BookingRequest {
                            tenant_id,
                            booking_id: &booking_id,
                            room_id: &room.room_id,
                            organiser: caller.user_id(),
                            title: &input.title,
                            times: Times::Exact(slot),
                            override_reason,
                            started: false,
                        };
                        let mut record = match asked.build(Some(room), &authority, now) {
                            Ok((record, _)) => record,
                            Err(CalendarError::RulesBroken(broken)) => {
                                let why: Vec<String> =
                                    broken.iter().map(ToString::to_string).collect();
                                refuse(why.join("; "), &mut records);
                                continue;
                            }
                            // Refused once every occurrence is known (a gap is told first).
                            Err(CalendarError::OverrideDenied(reason)) => {
                                denied = Some(reason);
                                continue;
                            }
                            Err(other) => return Err(other.into()),
                        };
                        overridden |= record.override_reason.is_some();
                        record.series_id = Some(series_id.clone());
                        record.occurrence = Some(index);
                        records.push(Occurrence {
                            index,
                            local_start: occurrence.local_start,
                            start: Some(record.slot.start),
                            end: Some(record.slot.end),
                            outcome: Outcome::Booked,
                            booking_id: Some(booking_id),
                            reason: None,
                            met: Vec::new(),
                        });
                        placements.push(Placement::new(record, slot));
                    }
                    if !problems.is_empty() {
                        return Err(ApiError::Validation(problems));
                    }
                    if let Some(reason) = denied {
                        return Err(CalendarError::OverrideDenied(reason).into());
                    }
                    if overridden {
                        // The whole series was booked on the reason, as one decision.
                        for placement in &mut placements {
                            placement.record.override_reason = override_reason.map(str::to_owned);
                        }
                    }
                    let series = Series {
                        series_id: series_id.clone(),
                        tenant_id: tenant_id.to_owned(),
                        room_id: room.room_id.clone(),
                        organiser: caller.user_id().to_owned(),
                        title: input.title.trim().to_owned(),
                        recurrence: rule.to_string(),
                        local_start: first,
                        local_end: last,
                        time_zone: zone.name().to_owned(),
                        on_conflict: input.on_conflict,
                        occurrences: records,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    Ok(Plan {
                        placements,
                        series: Some((series, None)),
                        audit: Vec::new(),
                        on_conflict: match input.on_conflict {
                            SeriesPolicy::AllOrNothing => OnConflict::Refuse,
                            SeriesPolicy::Skip => OnConflict::Skip,
                        },
                        announce: true,
                        requires: Vec::new(),
                    })
                },
                |plan, skipped: &[Skipped]| {
                    if plan.placements.is_empty() {
                        return Err(ApiError::Conflict(
                            "no occurrence of the series can be booked".into(),
                        ));
                    }
                    let bookings = placed(plan);
                    let Some((series, _)) = plan.series.as_mut() else {
                        return Ok(Settled::Commit);
                    };
                    for left_out in skipped {
                        if let Some(occurrence) = series
                            .occurrences
                            .iter_mut()
                            .find(|o| o.booking_id.as_deref() == Some(left_out.booking_id.as_str()))
                        {
                            occurrence.outcome = Outcome::Skipped;
                            occurrence.booking_id = None;
                            occurrence.reason = Some(taken_detail(&left_out.met));
                            occurrence.met = left_out.met.clone();
                        }
                    }
                    series.occurrences.sort_by_key(|o| o.index);
                    let after = view(series, &bookings);
                    plan.audit = vec![self.series_audit(
                        request,
                        &caller,
                        "series.create",
                        Value::Null,
                        after,
                        &series_id,
                    )];
                    Ok(Settled::Commit)
                },
            )
            .await?
            .ok_or_else(|| ApiError::internal("a series write stopped"))?;
        let bookings = placed(&plan);
        let (series, _) = plan
            .series
            .ok_or_else(|| ApiError::internal("a series write without its series"))?;
        let answer = self.answered(caller.tenant_id(), &series, &bookings).await;
        let mut response = api::json(StatusCode::CREATED, &answer)?;
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/series/{series_id}")) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(crate::with_etag(response, series.version))
    }

    /// The series `seriesId` and its occurrences' bookings as they are now.
    async fn series_now(
        &self,
        caller: &Caller,
        request: &ApiRequest,
    ) -> Result<(Series, HashMap<String, Booking>), ApiError> {
        let id = request.path_param("seriesId")?;
        let series = self
            .bookings
            .series(caller.tenant_id(), id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("series {id}")))?;
        let ids: Vec<&str> = series
            .occurrences
            .iter()
            .filter_map(|o| o.booking_id.as_deref())
            .collect();
        let bookings = self
            .bookings
            .many(caller.tenant_id(), &ids)
            .await?
            .into_iter()
            .map(|b| (b.booking_id.clone(), b))
            .collect();
        Ok((series, bookings))
    }

    /// `GET /v1/series/{seriesId}`.
    pub(crate) async fn series(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::BookingsRead).await?;
        let (series, bookings) = self.series_now(&caller, request).await?;
        Ok(crate::with_etag(
            api::json(
                StatusCode::OK,
                &self.answered(caller.tenant_id(), &series, &bookings).await,
            )?,
            series.version,
        ))
    }

    /// The series if the caller may change it (its organiser, or a manager) at the version
    /// `If-Match` names.
    async fn changeable_series(
        &self,
        caller: &Caller,
        request: &ApiRequest,
    ) -> Result<(Series, HashMap<String, Booking>), ApiError> {
        let (series, bookings) = self.series_now(caller, request).await?;
        if series.organiser != caller.user_id() {
            self.guard.also(caller, Permission::RoomsManage)?;
        }
        let version = crate::if_match(request, "series")?;
        if version != series.version {
            return Err(ApiError::PreconditionFailed("series".into()));
        }
        Ok((series, bookings))
    }

    /// `POST /v1/series/{seriesId}/cancel`: cancels the occurrences from `from_index` on (all of
    /// them by default) that are still pending or confirmed; kept as history.
    pub(crate) async fn cancel_series(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsCreate)
            .await?;
        let input: SeriesCancel = request.json_or_default()?;
        let (series, bookings) = self.changeable_series(&caller, request).await?;
        let reason = crate::bookings::given(input.reason);
        let mut placements = Vec::new();
        for (_, current) in open_from(&series, &bookings, input.from_index) {
            let mut next = current
                .after(Transition::Cancel, Timestamp::now())
                .map_err(ApiError::internal)?;
            next.status_reason = reason.clone();
            placements.push(Placement::change(current, next, Some(current.slot), None));
        }
        let rewrite = Rewrite {
            placements,
            title: None,
            action: "series.cancel",
        };
        self.rewrite_series(request, &caller, series, bookings, rewrite)
            .await
    }

    /// `PATCH /v1/series/{seriesId}`: moves the occurrences from `from_index` on (all by
    /// default) that are still pending or confirmed to new wall-clock times on their own dates,
    /// and/or renames them; all of them or none.
    pub(crate) async fn change_series(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::BookingsCreate)
            .await?;
        let input: SeriesChange = request.json()?;
        let time = |text: &Option<String>, field: &str| -> Result<Option<Time>, ApiError> {
            text.as_deref()
                .map(|t| {
                    t.parse::<Time>()
                        .map_err(|_| ApiError::validation(field, "a wall-clock time such as 09:30"))
                })
                .transpose()
        };
        let (start_time, end_time) = (
            time(&input.start_time, "start_time")?,
            time(&input.end_time, "end_time")?,
        );
        let (series, bookings) = self.changeable_series(&caller, request).await?;
        let zone = RoomZone::parse(&series.time_zone).map_err(ApiError::internal)?;
        let now = Timestamp::now();
        let mut placements = Vec::new();
        let mut problems = Vec::new();
        for (occurrence, current) in open_from(&series, &bookings, input.from_index) {
            let from = current.slot;
            // The occurrence keeps its own local date; its times change.
            let date = zone.local(from.start).date();
            let start_local = date.to_datetime(start_time.unwrap_or(zone.local(from.start).time()));
            let end_local = date.to_datetime(end_time.unwrap_or(zone.local(from.end).time()));
            let resolved = zone
                .resolve(start_local)
                .and_then(|start| zone.resolve(end_local).map(|end| (start, end)));
            let to = match resolved {
                Ok((start, end)) => match Slot::new(start, end) {
                    Ok(slot) => slot,
                    Err(e) => {
                        problems.push(FieldError::new("end_time", e.to_string()));
                        break;
                    }
                },
                Err(gap) => {
                    problems.push(FieldError::new(
                        format!("occurrences[{}]", occurrence.index),
                        gap.to_string(),
                    ));
                    continue;
                }
            };
            if to != from && to.start < now {
                continue;
            }
            let mut next = current.revised(now);
            next.slot = to;
            if let Some(title) = &input.title {
                next.title = title.trim().to_owned();
            }
            placements.push(Placement::change(current, next, Some(from), Some(to)));
        }
        if !problems.is_empty() {
            return Err(ApiError::Validation(problems));
        }
        // Renamed from the first occurrence on, the series itself takes the name.
        let title = input
            .title
            .filter(|_| input.from_index == 0)
            .map(|title| title.trim().to_owned());
        let rewrite = Rewrite {
            placements,
            title,
            action: "series.update",
        };
        self.rewrite_series(request, &caller, series, bookings, rewrite)
            .await
    }

    /// Commits a rewrite of a series' bookings with the series at its next version.
    async fn rewrite_series(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        series: Series,
        mut bookings: HashMap<String, Booking>,
        Rewrite {
            placements,
            title,
            action,
        }: Rewrite,
    ) -> Result<Response<Body>, ApiError> {
        let before = view(&series, &bookings);
        let mut next = series.revised(Timestamp::now());
        if let Some(title) = title {
            next.title = title;
        }
        for placement in &placements {
            bookings.insert(
                placement.record.booking_id.clone(),
                placement.record.clone(),
            );
        }
        let after = view(&next, &bookings);
        let audit = self.series_audit(request, caller, action, before, after, &series.series_id);
        let plan = Plan {
            placements,
            series: Some((next.clone(), Some(series.version))),
            audit: vec![audit],
            on_conflict: OnConflict::Refuse,
            announce: true,
            requires: Vec::new(),
        };
        let holder = Holder::of(caller, &series.organiser);
        let at = RoomAt::Read {
            tenant_id: caller.tenant_id(),
            room_id: &series.room_id,
            likely: &[],
        };
        self.calendar
            .place(at, holder, |_| Ok::<_, ApiError>(plan.clone()))
            .await?;
        Ok(crate::with_etag(
            api::json(
                StatusCode::OK,
                &self.answered(caller.tenant_id(), &next, &bookings).await,
            )?,
            next.version,
        ))
    }
}
