//! The operators' endpoints of SPEC §F: licence health, starting a validation run and reading
//! run summaries, recomputing the aggregates.

use std::time::Duration;

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::json;
use steward_access::operators::PLATFORM_TENANT;
use steward_access::{Guard, LicensingCache, Record};
use steward_authz::Permission;
use steward_kit::ApiError;
use steward_kit::api::{self, Api, ApiRequest, HttpFunction};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::idempotency::Idempotency;
use steward_kit::pagination::Cursors;
use steward_store::idempotency::IdempotencyStore;
use steward_store::platform::PlatformStore;
use steward_store::sweep::RunRecord;
use steward_store::{SdkConfig, Table};

use crate::Context;
use crate::start::{Started, run_id, start_run};

pub struct Operations {
    context: Context,
    guard: Guard,
    cursors: Cursors,
}

pub(crate) fn init(
    context: Context,
    common: Common,
    env: &Env,
    aws: &SdkConfig,
) -> Result<HttpFunction<Operations>, ConfigError> {
    let cache: LicensingCache = env.parse()?;
    let table = Table::new(aws, &common.table);
    let guard = Guard::new(
        context.identity.clone(),
        PlatformStore::new(table.clone()),
        context.flags.rollout(),
        Duration::from_secs(cache.licensing_config_cache_seconds),
    )
    .map_err(|e| ConfigError::new(format!("authorization policies: {e}")))?;
    let idempotency = Idempotency::new(IdempotencyStore::new(table), Duration::from_secs(10));
    let operations = Operations {
        context,
        guard,
        cursors: Cursors::new(&common.signing_secret),
    };
    Ok(HttpFunction::new(
        common.function_name,
        operations,
        common.cors_allowed_origins,
    )
    .with_idempotency(idempotency))
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
        match self.context.sweep.run(id).await? {
            Some(run) => api::json(StatusCode::OK, &run_view(&run)),
            None => Err(ApiError::NotFound(format!("sweep run {id}"))),
        }
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

impl Api for Operations {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        match request.route.as_str() {
            "GET /v1/admin/monitoring/license-health" => self.licence_health(request).await,
            "POST /v1/admin/validate-licenses" => self.validate(request).await,
            "GET /v1/admin/sweeps" => self.runs(request).await,
            "GET /v1/admin/sweeps/{runId}" => self.run(request).await,
            "POST /v1/admin/refresh-views" => self.refresh_views(request).await,
            other => Err(ApiError::NotFound(format!("route {other}"))),
        }
    }
}
