//! The tenant's second-factor requirement: owners and admins must sign in with one to do more
//! than manage their own account (the guard refuses the rest).

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::Record;
use steward_authz::Permission;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};

use crate::Access;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Requirement {
    required_for_owners_and_admins: bool,
}

fn view(required: bool) -> Value {
    json!({ "required_for_owners_and_admins": required })
}

impl Access {
    /// `GET /v1/settings/mfa`.
    pub(crate) async fn mfa_setting(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SettingsUpdate)
            .await?;
        api::json(StatusCode::OK, &view(caller.tenant.mfa_required))
    }

    /// `PUT /v1/settings/mfa`.
    pub(crate) async fn set_mfa_setting(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SettingsUpdate)
            .await?;
        let body: Requirement = request.json()?;
        let required = body.required_for_owners_and_admins;
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "settings.mfa",
                target: &format!("tenant:{}", caller.tenant_id()),
                before: view(caller.tenant.mfa_required),
                after: view(required),
            },
        );
        self.identity
            .set_mfa_required(caller.tenant_id(), required, &audit)
            .await?;
        self.guard.forget_tenant(caller.tenant_id());
        api::json(StatusCode::OK, &view(required))
    }
}
