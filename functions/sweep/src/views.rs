//! The aggregates operators watch (SPEC §F KPIs), recomputed nightly with
//! `MATERIALIZED_VIEW_REFRESH_ENABLED` and on demand by `POST /v1/admin/refresh-views`, and
//! served by `GET /v1/admin/monitoring/license-health` without scanning tenants per request.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use steward_access::operators::PLATFORM_TENANT;
use steward_authz::Feature;
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::Slot;
use steward_domain::booking::utilisation::{
    BookingFacts, RoomFacts, UtilisationReport, utilisation,
};
use steward_domain::licensing::sweep::{TENANT_SHARDS, Tally, Utilisation};
use steward_store::StoreError;
use steward_store::bookings::Listing;
use steward_store::reports::StoredUtilisation;
use steward_store::sweep::RunStatus;

use crate::Context;
use crate::message::SweepMessage;

pub const LICENCE_HEALTH: &str = "LICENCE_HEALTH";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenceHealth {
    pub computed_at: String,
    pub tenants: u64,
    /// Tenant items that did not read as tenants (the sweep reports each as failed).
    pub unreadable: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_offering: BTreeMap<String, u64>,
    /// Seat utilisation per offering, with the tenants inside the 60–90 % band.
    pub utilisation: BTreeMap<String, TierUtilisation>,
    /// The last completed sweep: health across tenants (healthy means a score above 90).
    pub last_sweep: Option<LastSweep>,
    /// Onboarding checklists across tenants, with ONBOARDING_WIZARD_ENABLED.
    pub onboarding: Option<OnboardingRate>,
    /// Tenants whose room utilisation was queued to be recomputed (those licensed for
    /// `reports`).
    #[serde(default)]
    pub utilisation_queued: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnboardingRate {
    pub tenants: u64,
    /// Tenants whose every step is done or skipped.
    pub complete: u64,
    pub completion_rate: f64,
    pub average_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierUtilisation {
    #[serde(flatten)]
    pub counts: Utilisation,
    pub ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastSweep {
    pub run_id: String,
    pub finished_at: Option<String>,
    pub healthy_rate: f64,
    pub summary: Tally,
}

/// Recomputes the licence-health view from every tenant and the last completed run.
#[tracing::instrument(skip(context))]
pub async fn refresh(context: &Context) -> Result<LicenceHealth, StoreError> {
    let mut view = LicenceHealth {
        computed_at: Timestamp::now().to_string(),
        tenants: 0,
        unreadable: 0,
        by_status: BTreeMap::new(),
        by_offering: BTreeMap::new(),
        utilisation: BTreeMap::new(),
        last_sweep: None,
        onboarding: None,
        utilisation_queued: 0,
    };
    let mut tenant_ids = Vec::new();
    let mut reporting = Vec::new();
    let mut tiers: BTreeMap<String, Utilisation> = BTreeMap::new();
    for shard in 0..TENANT_SHARDS {
        let mut start = None;
        loop {
            let (tenants, next) = context.sweep.tenants(shard, start).await?;
            for tenant in tenants {
                let Ok(tenant) = tenant else {
                    view.unreadable += 1;
                    continue;
                };
                if tenant.tenant_id == PLATFORM_TENANT {
                    continue;
                }
                tenant_ids.push(tenant.tenant_id.clone());
                let licence = &tenant.licence;
                if licence.features.contains(&Feature::Reports) {
                    reporting.push(tenant.tenant_id.clone());
                }
                view.tenants += 1;
                *view
                    .by_status
                    .entry(licence.status.to_string())
                    .or_default() += 1;
                let tier = licence.offering.map_or("none", |o| o.as_str()).to_owned();
                *view.by_offering.entry(tier.clone()).or_default() += 1;
                tiers
                    .entry(tier)
                    .or_default()
                    .add(licence.seats_used, licence.limits.seats);
            }
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
    }
    view.utilisation = tiers
        .into_iter()
        .map(|(tier, counts)| {
            let ratio = counts.ratio();
            (tier, TierUtilisation { counts, ratio })
        })
        .collect();
    if context.flags.onboarding_wizard_enabled {
        view.onboarding = Some(onboarding_rate(context, &tenant_ids).await?);
    }
    let (runs, _) = context.sweep.runs(20, None).await?;
    view.last_sweep = runs
        .into_iter()
        .find(|run| run.status == RunStatus::Complete)
        .and_then(|run| {
            let summary = run.summary?;
            let assessed = summary.healthy + summary.unhealthy;
            Some(LastSweep {
                run_id: run.run_id,
                finished_at: run.finished_at,
                healthy_rate: if assessed == 0 {
                    0.0
                } else {
                    summary.healthy as f64 / assessed as f64
                },
                summary,
            })
        });
    view.utilisation_queued = reporting.len() as u64;
    context.sweep.save_view(LICENCE_HEALTH, &view).await?;
    // Each tenant's utilisation is computed by the sweep's workers, one message a tenant: the
    // refresh answers once they are queued, however many tenants there are. Queued last, so
    // that the workers' reads do not hold up the refresh's own (the local emulator serves
    // DynamoDB one request at a time).
    let at = Timestamp::now().as_second();
    let bodies: Vec<String> = reporting
        .iter()
        .map(|tenant_id| {
            SweepMessage::Utilisation {
                tenant_id: tenant_id.clone(),
                at,
            }
            .body()
        })
        .collect();
    context.queue.send_all(&bodies).await?;
    Ok(view)
}

/// The days a tenant's utilisation covers, up to the refresh.
const UTILISATION_DAYS: i64 = 30;

/// Bookings read per tenant: more than a busy tenant books in a month.
const MAX_BOOKINGS: usize = 50_000;

/// Recomputes and stores one tenant's utilisation as of `at`.
#[tracing::instrument(skip(context))]
pub async fn refresh_utilisation(
    context: &Context,
    tenant_id: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let stored = StoredUtilisation {
        computed_at: at.to_string(),
        utilisation: utilisation_of(context, tenant_id, at).await?,
    };
    context.reports.save_utilisation(tenant_id, &stored).await
}

/// One tenant's rooms over the last [`UTILISATION_DAYS`].
async fn utilisation_of(
    context: &Context,
    tenant_id: &str,
    now: Timestamp,
) -> Result<UtilisationReport, StoreError> {
    let window = Slot {
        start: now - SignedDuration::from_hours(24 * UTILISATION_DAYS),
        end: now,
    };
    let rooms = context.rooms.all(tenant_id).await?;
    if rooms.is_empty() {
        return Ok(utilisation(window, &[], &[], now));
    }
    // A booking lasts at most a week: one starting that much earlier may reach into the window.
    let reaching_in = Slot {
        start: window.start - SignedDuration::from_hours(24 * 7),
        end: now,
    };
    let (bookings, more) = context
        .bookings
        .all(tenant_id, Listing::Tenant, reaching_in, MAX_BOOKINGS)
        .await?;
    if more {
        tracing::warn!(
            tenant = tenant_id,
            "utilisation from the first {MAX_BOOKINGS} bookings only"
        );
    }
    let rooms: Vec<RoomFacts> = rooms
        .iter()
        .map(|room| {
            let zone = RoomZone::parse(&room.room.time_zone).ok();
            RoomFacts {
                room_id: room.room_id.clone(),
                name: room.room.name.clone(),
                site: room.room.site.clone(),
                zone: zone
                    .as_ref()
                    .map_or(jiff::tz::TimeZone::UTC, |z| z.time_zone().clone()),
                check_in_required: room.room.rules.check_in_required,
                closed: zone
                    .map(|zone| {
                        room.closures
                            .iter()
                            .flat_map(|closure| closure.within(&zone, &window))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let bookings: Vec<BookingFacts> = bookings
        .iter()
        .map(|booking| BookingFacts {
            room_id: booking.room_id.clone(),
            slot: booking.slot,
            status: booking.status,
        })
        .collect();
    Ok(utilisation(window, &rooms, &bookings, now))
}

/// Every tenant's checklist, summed; read a few tenants at a time.
async fn onboarding_rate(
    context: &Context,
    tenant_ids: &[String],
) -> Result<OnboardingRate, StoreError> {
    use futures::{StreamExt, TryStreamExt, stream};
    use steward_domain::onboarding::checklist;
    let percents: Vec<(u8, bool)> = stream::iter(tenant_ids.to_vec())
        .map(|tenant_id| async move {
            let (evidence, marks) = tokio::try_join!(
                context.onboarding.evidence(&tenant_id),
                context.onboarding.marks(&tenant_id),
            )?;
            let marks = marks
                .into_iter()
                .map(|(step, mark)| (step, mark.status))
                .collect();
            let list = checklist(evidence, &marks);
            Ok::<_, StoreError>((list.percent, list.is_complete()))
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    let tenants = percents.len() as u64;
    let complete = percents.iter().filter(|(_, done)| *done).count() as u64;
    let sum: f64 = percents.iter().map(|(p, _)| f64::from(*p)).sum();
    let share = |n: f64| {
        if tenants == 0 {
            0.0
        } else {
            n / tenants as f64
        }
    };
    Ok(OnboardingRate {
        tenants,
        complete,
        completion_rate: share(complete as f64),
        average_percent: share(sum),
    })
}

/// The stored view, computed first if there is none yet.
pub async fn licence_health(context: &Context) -> Result<LicenceHealth, StoreError> {
    match context.sweep.view(LICENCE_HEALTH).await? {
        Some(view) => Ok(view),
        None => refresh(context).await,
    }
}
