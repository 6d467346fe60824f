//! The release schedule (SPEC §D), every minute: each booking in a room needing a check-in that
//! nobody checked in to by its deadline becomes `released` (kept, never deleted), its slot
//! freed and its organiser told; a series whose latest occurrences were released
//! `series_no_show_limit` times in a row is cancelled from then on.
//!
//! Due bookings come from the sparse `gsi4` index (deadline order, a few shards), so a firing
//! costs a query per shard whatever the number of tenants. Each release is a calendar write
//! conditioned on the booking's version: a booking checked in meanwhile (the index lags its
//! table) is left alone. The firing's time comes from the event (EventBridge Scheduler's
//! scheduled time), so a firing delivered twice releases nothing twice and tests can drive the
//! clock.

use std::collections::HashMap;

use jiff::Timestamp;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use steward_access::Record;
use steward_calendar::{CalendarError, Holder, OnConflict, Placement, Plan, RoomAt};
use steward_domain::booking::days::days_of;
use steward_domain::booking::entity::Booking;
use steward_domain::booking::status::{BookingStatus, Transition};
use steward_domain::terminal::check_in::{release_deadline, series_no_shows_reached};
use steward_kit::ApiError;
use steward_kit::config::{ConfigError, Env};
use steward_kit::runtime::{Error, Function};
use steward_store::SdkConfig;
use steward_store::identity::TenantRecord;

use steward_access::{Auditor, Instance};
use steward_calendar::Calendar;
use steward_store::bookings::BookingStore;
use steward_store::identity::IdentityStore;
use steward_store::rooms::RoomStore;

/// Bookings released per shard per firing at most; the rest wait a minute.
const PER_SHARD: usize = 200;

/// The release schedule's stores: no guard (it acts as the system) and no cursors.
pub struct Release {
    calendar: Calendar,
    bookings: BookingStore,
    rooms: RoomStore,
    identity: IdentityStore,
    auditor: Auditor,
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<Release, ConfigError> {
    let instance = Instance::new(env, aws)?;
    let table = instance.table();
    Ok(Release {
        calendar: Calendar::of(&instance)?,
        bookings: BookingStore::new(table.clone()),
        rooms: RoomStore::new(table.clone()),
        identity: IdentityStore::new(table),
        auditor: instance.auditor(),
    })
}

/// What one booking came to.
enum Released {
    Released {
        series_cancelled: bool,
    },
    /// Not due after all (checked in meanwhile, exempt now, its room archived).
    Left,
}

impl Function for Release {
    type Event = Value;
    type Output = Value;

    async fn call(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let at = steward_kit::runtime::scheduled_time(&event.payload);
        let cause = format!("release:{at}");
        let due = self.bookings.due_for_release(at, PER_SHARD).await?;
        let mut tenants: HashMap<String, Option<TenantRecord>> = HashMap::new();
        let (mut released, mut series_cancelled, mut left, mut failed) = (0, 0, 0, 0);
        for booking in due {
            if !tenants.contains_key(&booking.tenant_id) {
                let tenant = self.identity.tenant(&booking.tenant_id).await?;
                tenants.insert(booking.tenant_id.clone(), tenant);
            }
            let Some(Some(tenant)) = tenants.get(&booking.tenant_id) else {
                continue;
            };
            match self.release(tenant, &booking, at, &cause).await {
                Ok(Released::Released {
                    series_cancelled: s,
                }) => {
                    released += 1;
                    series_cancelled += usize::from(s);
                }
                Ok(Released::Left) => left += 1,
                // One booking's failure leaves it for the next firing, not the others.
                Err(error) => {
                    failed += 1;
                    tracing::warn!(%error, booking = %booking.booking_id, "release failed; retried next firing");
                }
            }
        }
        tracing::info!(%at, released, series_cancelled, left, failed, "release run");
        Ok(json!({
            "at": at,
            "released": released,
            "series_cancelled": series_cancelled,
            "left": left,
            "failed": failed,
        }))
    }
}

impl Release {
    async fn release(
        &self,
        tenant: &TenantRecord,
        booking: &Booking,
        at: Timestamp,
        cause: &str,
    ) -> Result<Released, ApiError> {
        let tenant_id = &booking.tenant_id;
        let policy = tenant.check_in.unwrap_or_default();
        let room = self.rooms.get(tenant_id, &booking.room_id).await?;
        let deadline = room.as_ref().and_then(|room| {
            release_deadline(
                booking.status,
                &booking.slot,
                &room.room.rules,
                room.room.capacity,
                &policy,
            )
        });
        let Some(deadline) = deadline else {
            self.bookings
                .clear_release(tenant_id, &booking.booking_id, booking.version)
                .await?;
            return Ok(Released::Left);
        };
        if deadline > at {
            // Its room's rules moved the deadline on since it was written.
            return Ok(Released::Left);
        }
        let Ok(mut next) = booking.after(Transition::Release, Timestamp::now()) else {
            return Ok(Released::Left);
        };
        next.status_reason = Some(format!("nobody checked in by {deadline}"));
        let audit = |action: &str, target: String, before: Value, after: Value| {
            self.auditor.system_entry(
                cause,
                Record {
                    tenant_id,
                    actor: "system:release",
                    action,
                    target: &target,
                    before,
                    after,
                },
            )
        };
        let mut plan = Plan::single(
            Placement::change(booking, next.clone(), Some(booking.slot), None),
            audit(
                "booking.release",
                format!("booking:{}", booking.booking_id),
                steward_calendar::view::booking(booking),
                steward_calendar::view::booking(&next),
            ),
        );
        plan.on_conflict = OnConflict::Refuse;
        let series_cancelled = match &booking.series_id {
            Some(series_id) => {
                self.end_series(&mut plan, booking, series_id, at, &audit)
                    .await?
            }
            None => false,
        };
        let at = RoomAt::Read {
            tenant_id,
            room_id: &booking.room_id,
            likely: &days_of(&booking.slot),
        };
        let holder = Holder::in_tenant(tenant, &booking.organiser);
        let written = self
            .calendar
            .place(at, holder, |_| Ok::<_, CalendarError>(plan.clone()))
            .await;
        match written {
            Ok(_) => Ok(Released::Released { series_cancelled }),
            // Checked in (or changed) since the index was read.
            Err(CalendarError::Stale) => Ok(Released::Left),
            Err(error) => Err(error.into()),
        }
    }

    /// Adds to `plan` the cancellation of the series' open occurrences when this release makes
    /// its limit of no-shows in a row: `true` when it does.
    async fn end_series(
        &self,
        plan: &mut Plan,
        released: &Booking,
        series_id: &str,
        at: Timestamp,
        audit: &impl Fn(&str, String, Value, Value) -> steward_store::audit::AuditEntry,
    ) -> Result<bool, ApiError> {
        let tenant_id = &released.tenant_id;
        let limit = self
            .identity
            .tenant(tenant_id)
            .await?
            .and_then(|t| t.check_in)
            .unwrap_or_default()
            .series_no_show_limit;
        let Some(series) = self.bookings.series(tenant_id, series_id).await? else {
            return Ok(false);
        };
        let ids: Vec<&str> = series
            .occurrences
            .iter()
            .filter_map(|o| o.booking_id.as_deref())
            .collect();
        let mut bookings: HashMap<String, Booking> = self
            .bookings
            .many(tenant_id, &ids)
            .await?
            .into_iter()
            .map(|b| (b.booking_id.clone(), b))
            .collect();
        if let Some(placed) = plan.placements.first() {
            bookings.insert(released.booking_id.clone(), placed.record.clone());
        }
        let mut started: Vec<(Timestamp, BookingStatus)> = bookings
            .values()
            .map(|b| (b.slot.start, b.status))
            .filter(|(start, _)| *start <= at)
            .collect();
        started.sort_by_key(|(start, _)| *start);
        let statuses: Vec<BookingStatus> = started.into_iter().map(|(_, s)| s).collect();
        if !series_no_shows_reached(&statuses, limit) {
            return Ok(false);
        }
        let before = steward_calendar::view::series(&series, &bookings);
        let reason = format!("cancelled after {limit} no-shows in a row");
        for (_, current) in steward_calendar::view::open_from(&series, &bookings, 0) {
            if current.booking_id == released.booking_id {
                continue;
            }
            let mut next = current
                .after(Transition::Cancel, Timestamp::now())
                .map_err(ApiError::internal)?;
            next.status_reason = Some(reason.clone());
            plan.placements
                .push(Placement::change(current, next, Some(current.slot), None));
        }
        let next = series.revised(Timestamp::now());
        for placement in &plan.placements {
            bookings.insert(
                placement.record.booking_id.clone(),
                placement.record.clone(),
            );
        }
        plan.audit.push(audit(
            "series.cancel",
            format!("series:{series_id}"),
            before,
            json!({ "reason": reason, "series": steward_calendar::view::series(&next, &bookings) }),
        ));
        plan.series = Some((next, Some(series.version)));
        tracing::info!(series = %series_id, limit, "series cancelled after no-shows");
        Ok(true)
    }
}
