//! The operators' endpoints of SPEC §F: licence health, starting a validation run and reading
//! run summaries, recomputing the aggregates.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::json;
use steward_access::operators::PLATFORM_TENANT;
use steward_access::{Guard, LicensingCache, Record};
use steward_authz::Permission;
use steward_domain::licensing::sweep::Tally;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, HttpFunction, Replayable};
use steward_kit::config::ConfigError;
use steward_kit::latency::{Cache, Histogram, Lookup, Snapshot, Timed};
use steward_kit::pagination::Cursors;
use steward_store::metrics::MetricsStore;
use steward_store::platform::PlatformStore;
use steward_store::sweep::{ReportLocation, RunRecord};

/// How long a run's report links last.
const REPORT_LINK_VALID: std::time::Duration = std::time::Duration::from_secs(300);

use steward_access::Instance;

use crate::Context;
use crate::start::{Started, run_id, start_run};

pub struct Operations {
    context: Context,
    guard: Guard,
    cursors: Cursors,
    platform: PlatformStore,
    metrics: MetricsStore,
    licensing_cache_seconds: u64,
}

pub(crate) fn init(
    context: Context,
    instance: Instance<'_>,
) -> Result<HttpFunction<Operations>, ConfigError> {
    let cache: LicensingCache = instance.parse()?;
    let operations = Operations {
        context,
        guard: instance.guard()?,
        cursors: instance.cursors(),
        platform: PlatformStore::new(instance.table()),
        metrics: MetricsStore::new(instance.table()),
        licensing_cache_seconds: cache.licensing_config_cache_seconds,
    };
    instance.keyed_http(operations)
}

fn run_view(run: &RunRecord) -> serde_json::Value {
    json!({
        "run_id": run.run_id,
        "trigger": run.trigger,
        "requested_by": run.requested_by,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "self_healing": run.self_healing,
        "shards": run.shards,
        "shards_done": run.shards_done,
        "pages_failed": run.pages_failed,
        "summary": run.summary,
        "average_health_score": run.summary.as_ref().and_then(Tally::average_health_score),
        "report": run.report,
    })
}

impl Operations {
    async fn licence_health(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let view = crate::views::licence_health(&self.context).await?;
        api::json(StatusCode::OK, &view)
    }

    async fn validate(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let id = run_id(Timestamp::now(), &suffix[..8]);
        let audit = self.context.auditor.entry(
            request,
            Record {
                tenant_id: PLATFORM_TENANT,
                actor: caller.user_id(),
                action: "sweep.start",
                target: &format!("sweep:{id}"),
                before: json!(null),
                after: json!({ "run_id": id }),
            },
        );
        let started = start_run(
            &self.context,
            &id,
            "operator",
            Some(caller.user_id()),
            Some(&audit),
        )
        .await?;
        let status = match started {
            Started::New(_) => StatusCode::ACCEPTED,
            Started::Existing(_) => StatusCode::OK,
        };
        let mut response = api::json(status, &run_view(started.run()))?;
        if let Ok(location) = format!("/v1/admin/sweeps/{id}").parse() {
            response
                .headers_mut()
                .insert(http::header::LOCATION, location);
        }
        Ok(response)
    }

    async fn runs(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let scope = format!("{}#sweeps", request.scope);
        let page = self.cursors.page_request(&scope, &request.query)?;
        let (runs, next) = self.context.sweep.runs(page.limit, page.start).await?;
        let items: Vec<_> = runs.iter().map(run_view).collect();
        api::json(StatusCode::OK, &self.cursors.page(&scope, items, next))
    }

    async fn run(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let id = request.path_param("runId")?;
        let Some(run) = self.context.sweep.run(id).await? else {
            return Err(ApiError::NotFound(format!("sweep run {id}")));
        };
        let mut view = run_view(&run);
        if let Some(report) = &run.report {
            view["report_links"] = self.report_links(&run.run_id, report).await?;
        }
        api::json(StatusCode::OK, &view)
    }

    /// Short-lived links to a run's JSON and CSV reports, for an operator's browser (the bucket
    /// is private). Signing is local: no request leaves the function.
    async fn report_links(
        &self,
        run_id: &str,
        report: &ReportLocation,
    ) -> Result<serde_json::Value, ApiError> {
        let bucket = &self.context.bucket;
        let (json_name, csv_name) = (
            format!("licence-sweep-{run_id}.json"),
            format!("licence-sweep-{run_id}.csv"),
        );
        let (json_link, csv_link) = tokio::try_join!(
            bucket.presign_download(&report.json_key, &json_name, REPORT_LINK_VALID),
            bucket.presign_download(&report.csv_key, &csv_name, REPORT_LINK_VALID),
        )?;
        let expires_at = Timestamp::now()
            + jiff::SignedDuration::try_from(REPORT_LINK_VALID).map_err(ApiError::internal)?;
        Ok(json!({
            "json": json_link.url,
            "csv": csv_link.url,
            "expires_at": expires_at.to_string(),
        }))
    }

    async fn refresh_views(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let view = crate::views::refresh(&self.context).await?;
        let audit = self.context.auditor.entry(
            request,
            Record {
                tenant_id: PLATFORM_TENANT,
                actor: caller.user_id(),
                action: "views.refresh",
                target: "view:licence-health",
                before: json!(null),
                after: json!({ "computed_at": view.computed_at, "tenants": view.tenants }),
            },
        );
        self.context.sweep.audit(&audit).await?;
        api::json(StatusCode::OK, &view)
    }
}

/// Query parameter `minutes` of the performance endpoint: 1 to a day, 60 by default.
fn window_minutes(request: &ApiRequest) -> Result<i64, ApiError> {
    match request.query.get("minutes") {
        None => Ok(60),
        Some(text) => match text.parse::<i64>() {
            Ok(minutes @ 1..=1440) => Ok(minutes),
            _ => Err(ApiError::validation(
                "minutes",
                "must be an integer from 1 to 1440",
            )),
        },
    }
}

fn latency_view(histogram: &Histogram) -> serde_json::Value {
    json!({
        "count": histogram.count(),
        "p50_ms": histogram.quantile_ms(0.50),
        "p95_ms": histogram.quantile_ms(0.95),
        "p99_ms": histogram.quantile_ms(0.99),
    })
}

impl Operations {
    /// The latencies every instance recorded over the last `minutes`, merged: permission
    /// checks, each route, and the tenant cache's hit rate (SPEC §F KPIs).
    async fn performance(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.guard
            .allow(request, Permission::PlatformConfigure)
            .await?;
        let minutes = window_minutes(request)?;
        let now = Timestamp::now().as_millisecond();
        let records = self
            .metrics
            .since::<Snapshot>(now - minutes * 60_000, now)
            .await?;
        let mut merged = Snapshot::default();
        for record in &records {
            merged.merge(&record.snapshot);
        }
        let routes: serde_json::Map<String, serde_json::Value> = merged
            .latencies
            .iter()
            .filter_map(|(name, h)| Some((Timed::route_of(name)?.to_owned(), latency_view(h))))
            .collect();
        let hits = merged
            .counters
            .get(&Lookup::Hit(Cache::Tenant).name())
            .copied()
            .unwrap_or(0);
        let misses = merged
            .counters
            .get(&Lookup::Miss(Cache::Tenant).name())
            .copied()
            .unwrap_or(0);
        let lookups = hits + misses;
        api::json(
            StatusCode::OK,
            &json!({
                "enabled": self.context.flags.performance_metrics_enabled,
                "window_minutes": minutes,
                "intervals": records.len(),
                "permission_check": merged.latencies.get(&Timed::PermissionCheck.name()).map(latency_view),
                "routes": routes,
                "cache": {
                    "enabled": self.context.flags.cache_enabled,
                    "hits": hits,
                    "misses": misses,
                    "hit_rate": (lookups > 0).then(|| hits as f64 / lookups as f64),
                },
            }),
        )
    }

    /// Empties the in-process caches: this instance's now, every other instance's when it next
    /// reads the licensing switches (within LICENSING_CONFIG_CACHE_SECONDS).
    async fn clear_caches(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::PlatformConfigure)
            .await?;
        let audit = self.context.auditor.entry(
            request,
            Record {
                tenant_id: PLATFORM_TENANT,
                actor: caller.user_id(),
                action: "cache.clear",
                target: "cache:all",
                before: json!(null),
                after: json!(null),
            },
        );
        let epoch = self.platform.bump_cache_epoch(&audit).await?;
        self.guard.clear_caches(epoch);
        api::json(
            StatusCode::OK,
            &json!({
                "epoch": epoch,
                "cleared_within_seconds": self.licensing_cache_seconds,
            }),
        )
    }
}

steward_kit::routes! {
    /// The operators' routes: licence health, sweeps, views, performance and caches.
    pub const ROUTES for Operations, fn route(request) {
        "GET /v1/admin/monitoring/license-health" => licence_health,
        "POST /v1/admin/validate-licenses" => validate,
        "GET /v1/admin/sweeps" => runs,
        "GET /v1/admin/sweeps/{runId}" => run,
        "POST /v1/admin/refresh-views" => refresh_views,
        "GET /v1/admin/metrics/performance" => performance,
        "POST /v1/admin/cache/clear" => clear_caches,
    }
}

steward_kit::routed_api!(Operations, route);

/// The routes that take an `Idempotency-Key`, with the permission each one's handler checks
/// first: what a replay is allowed on.
pub const KEYED_ROUTES: &[(&str, Permission)] = &[
    (
        "POST /v1/admin/validate-licenses",
        Permission::PlatformManageLicences,
    ),
    (
        "POST /v1/admin/refresh-views",
        Permission::PlatformManageLicences,
    ),
    ("POST /v1/admin/cache/clear", Permission::PlatformConfigure),
];

impl Replayable for Operations {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}

#[cfg(test)]
mod route_table {
    #[test]
    fn the_route_table_is_what_the_template_deploys_to_the_function() {
        steward_template::Template::assert_routes("OperationsFunction", super::ROUTES);
    }
}
