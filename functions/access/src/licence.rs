//! The tenant's own licence (SPEC §F): offering, status, features, limits and what is used.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::json;
use steward_authz::Permission;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};

use crate::Access;

impl Access {
    pub(crate) async fn licence(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::LicenceRead).await?;
        let licence = &caller.tenant.licence;
        api::json(
            StatusCode::OK,
            &json!({
                "status": licence.status,
                "offering": licence.offering,
                "features": licence.features,
                "expires_at": licence
                    .expires_at
                    .and_then(|at| Timestamp::from_second(at).ok())
                    .map(|at| at.to_string()),
                "limits": licence.limits,
                "usage": {
                    "seats": licence.seats_used,
                    "rooms": licence.rooms_used,
                    "terminals": licence.terminals_used,
                },
                "enforced": caller.licence_enforced,
            }),
        )
    }
}
