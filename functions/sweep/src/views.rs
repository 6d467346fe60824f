//! The aggregates operators watch (SPEC §F KPIs), recomputed nightly with
//! `MATERIALIZED_VIEW_REFRESH_ENABLED` and on demand by `POST /v1/admin/refresh-views`, and
//! served by `GET /v1/admin/monitoring/license-health` without scanning tenants per request.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use steward_access::operators::PLATFORM_TENANT;
use steward_authz::Feature;
use steward_domain::booking::rules::Slot;
use steward_domain::licensing::sweep::{TENANT_SHARDS, Tally, Utilisation};
use steward_store::StoreError;
use steward_store::onboarding::OnboardingProgress;
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

/// Onboarding across tenants, from each tenant's checklist as the sweep's workers last
/// computed it (one message a tenant, queued by each refresh: the figures are those of the
/// refresh before, plus whatever the workers finished since).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnboardingRate {
    /// Tenants with a computed checklist.
    pub tenants: u64,
    /// Of those, tenants whose every step is done or skipped.
    pub complete: u64,
    pub completion_rate: f64,
    pub average_percent: f64,
    /// Tenants whose checklist this refresh queued to be recomputed.
    #[serde(default)]
    pub queued: u64,
}

impl OnboardingRate {
    fn new(progress: &[OnboardingProgress], queued: u64) -> Self {
        let tenants = progress.len() as u64;
        let complete = progress.iter().filter(|p| p.complete).count() as u64;
        let sum: f64 = progress.iter().map(|p| f64::from(p.percent)).sum();
        let share = |n: f64| {
            if tenants == 0 {
                0.0
            } else {
                n / tenants as f64
            }
        };
        Self {
            tenants,
            complete,
            completion_rate: share(complete as f64),
            average_percent: share(sum),
            queued,
        }
    }
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
    let mut reporting = 0;
    let mut progress = Vec::new();
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
                progress.extend(tenant.onboarding_progress);
                let licence = &tenant.licence;
                if licence.features.contains(&Feature::Reports) {
                    reporting += 1;
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
    let onboarding = context.flags.onboarding_wizard_enabled;
    if onboarding {
        view.onboarding = Some(OnboardingRate::new(&progress, view.tenants));
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
    view.utilisation_queued = reporting;
    context.sweep.save_view(LICENCE_HEALTH, &view).await?;
    // Each tenant's utilisation and onboarding checklist are computed by the sweep's workers,
    // one message a tenant each, which the workers queue a page of the tenant index at a
    // time: the refresh sends one message a shard and answers, however many tenants there
    // are. Sent last, so that the workers' reads do not hold up the refresh's own (the local
    // emulator serves DynamoDB one request at a time).
    let at = Timestamp::now().as_second();
    let pages: Vec<String> = (0..TENANT_SHARDS)
        .map(|shard| {
            SweepMessage::ViewsPage {
                shard,
                after: None,
                at,
                onboarding,
            }
            .body()
        })
        .collect();
    context.queue.send_all(&pages).await?;
    Ok(view)
}

/// Queues the recomputations of one page of a shard's tenants, then the next page. The sends
/// of a page go together: a retry sends them again, and a tenant's figures computed twice are
/// the same figures.
pub async fn queue_page(
    context: &Context,
    shard: u8,
    after: Option<&str>,
    at: i64,
    onboarding: bool,
) -> Result<(), StoreError> {
    let (tenants, next) = context
        .sweep
        .tenant_page(shard, after, crate::worker::PAGE_SIZE)
        .await?;
    let mut messages = Vec::new();
    for tenant in tenants.into_iter().flatten() {
        if tenant.tenant_id == PLATFORM_TENANT {
            continue;
        }
        if tenant.licence.features.contains(&Feature::Reports) {
            messages.push(SweepMessage::Utilisation {
                tenant_id: tenant.tenant_id.clone(),
                at,
            });
        }
        if onboarding {
            messages.push(SweepMessage::Onboarding {
                tenant_id: tenant.tenant_id,
                at,
            });
        }
    }
    if let Some(after) = next {
        messages.push(SweepMessage::ViewsPage {
            shard,
            after: Some(after),
            at,
            onboarding,
        });
    }
    let bodies: Vec<String> = messages.iter().map(SweepMessage::body).collect();
    context.queue.send_all(&bodies).await
}

/// The days a tenant's utilisation covers, up to the refresh.
const UTILISATION_DAYS: i64 = 30;

/// Recomputes and stores one tenant's utilisation as of `at`.
#[tracing::instrument(skip(context))]
pub async fn refresh_utilisation(
    context: &Context,
    tenant_id: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let window = Slot {
        start: at - SignedDuration::from_hours(24 * UTILISATION_DAYS),
        end: at,
    };
    let (utilisation, more) = context
        .reports
        .compute_utilisation(tenant_id, window, at)
        .await?;
    if more {
        tracing::warn!(
            tenant = tenant_id,
            "utilisation from the first {} bookings only",
            steward_store::reports::MAX_BOOKINGS
        );
    }
    let stored = StoredUtilisation {
        computed_at: at.to_string(),
        utilisation,
    };
    context.reports.save_utilisation(tenant_id, &stored).await
}

/// Recomputes one tenant's onboarding checklist and keeps it on the tenant's item for the
/// next refresh to sum.
pub async fn refresh_onboarding(
    context: &Context,
    tenant_id: &str,
    at: i64,
) -> Result<(), StoreError> {
    use steward_domain::onboarding::checklist;
    let (evidence, marks) = tokio::try_join!(
        context.onboarding.evidence(tenant_id),
        context.onboarding.marks(tenant_id),
    )?;
    let marks = marks
        .into_iter()
        .map(|(step, mark)| (step, mark.status))
        .collect();
    let list = checklist(evidence, &marks);
    let progress = OnboardingProgress {
        percent: list.percent,
        complete: list.is_complete(),
        at,
    };
    context.onboarding.save_progress(tenant_id, progress).await
}

/// The stored view, computed first if there is none yet.
pub async fn licence_health(context: &Context) -> Result<LicenceHealth, StoreError> {
    match context.sweep.view(LICENCE_HEALTH).await? {
        Some(view) => Ok(view),
        None => refresh(context).await,
    }
}
