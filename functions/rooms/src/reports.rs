//! `GET /v1/reports/utilisation`: the tenant's room utilisation as the views' refresh last
//! computed it (nightly, and by `POST /v1/admin/refresh-views`); needs `reports`.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;
use steward_authz::Permission;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};

use crate::Rooms;

impl Rooms {
    pub(crate) async fn utilisation(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::ReportsRead).await?;
        let body = match self.reports.utilisation(caller.tenant_id()).await? {
            Some(stored) => {
                let mut body = json!(stored.utilisation);
                body["computed_at"] = json!(stored.computed_at);
                body
            }
            // Not computed yet: the next refresh will.
            None => json!({
                "computed_at": null, "from": null, "to": null, "rooms": [], "sites": [],
            }),
        };
        api::json(StatusCode::OK, &body)
    }
}
