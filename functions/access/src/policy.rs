//! The policy snapshot (SPEC §B): the current one, every version, and the diff of two.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;
use steward_authz::Permission;
use steward_domain::access::PolicySnapshot;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::access::SnapshotRecord;

use crate::Access;

fn version(field: &str, text: Option<&str>) -> Result<u64, ApiError> {
    text.ok_or_else(|| ApiError::validation(field, "is required"))?
        .parse::<u64>()
        .ok()
        .filter(|&v| v >= 1)
        .ok_or_else(|| ApiError::validation(field, "must be a policy version (1, 2, …)"))
}

impl Access {
    async fn snapshot(&self, tenant_id: &str, version: u64) -> Result<PolicySnapshot, ApiError> {
        self.store
            .snapshot(tenant_id, version)
            .await?
            .map(|record| record.snapshot)
            .ok_or_else(|| ApiError::NotFound(format!("policy version {version}")))
    }

    pub(crate) async fn current_policy(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::PolicyRead).await?;
        let snapshot = self
            .snapshot(caller.tenant_id(), caller.tenant.policy_version)
            .await?;
        api::json(StatusCode::OK, &snapshot)
    }

    pub(crate) async fn policy_versions(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::PolicyRead).await?;
        let view = |r: &SnapshotRecord| json!({ "version": r.version, "at": r.at });
        self.list(
            request,
            caller.tenant_id(),
            "policy-versions",
            "POLICY#",
            view,
        )
        .await
    }

    pub(crate) async fn policy_version(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::PolicyRead).await?;
        let version = version("version", Some(request.path_param("version")?))?;
        api::json(
            StatusCode::OK,
            &self.snapshot(caller.tenant_id(), version).await?,
        )
    }

    pub(crate) async fn policy_diff(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::PolicyRead).await?;
        let from = version("from", request.query.get("from").map(String::as_str))?;
        let to = match request.query.get("to") {
            Some(text) => version("to", Some(text))?,
            None => caller.tenant.policy_version,
        };
        let (before, after) = tokio::try_join!(
            self.snapshot(caller.tenant_id(), from),
            self.snapshot(caller.tenant_id(), to),
        )?;
        api::json(StatusCode::OK, &before.diff(&after))
    }
}
