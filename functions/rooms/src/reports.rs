//! `GET /v1/reports/utilisation`: the tenant's room utilisation, as the views' refresh last
//! computed it (the 30 days before; nightly, and by `POST /v1/admin/refresh-views`), or over a
//! range the caller chooses, computed on demand; needs `reports`.

use http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use lambda_http::{Body, Response};
use serde_json::json;
use steward_authz::Permission;
use steward_domain::booking::rules::Slot;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};

use crate::Rooms;

/// The longest range computed on demand: a quarter.
const MOST_DAYS: i64 = 92;

/// `from` and `to` as asked: both or neither, `to` after `from`, at most [`MOST_DAYS`] apart.
fn chosen_range(request: &ApiRequest) -> Result<Option<Slot>, ApiError> {
    let instant = |name: &str| {
        request
            .query
            .get(name)
            .map(|text| {
                text.parse::<Timestamp>()
                    .map_err(|_| ApiError::validation(name, "must be an RFC 3339 time"))
            })
            .transpose()
    };
    match (instant("from")?, instant("to")?) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ApiError::validation("to", "is needed with from")),
        (None, Some(_)) => Err(ApiError::validation("from", "is needed with to")),
        (Some(from), Some(to)) if to <= from => {
            Err(ApiError::validation("to", "must be after from"))
        }
        (Some(from), Some(to)) if to - SignedDuration::from_hours(24 * MOST_DAYS) > from => Err(
            ApiError::validation("to", format!("at most {MOST_DAYS} days after from")),
        ),
        (Some(start), Some(end)) => Ok(Some(Slot { start, end })),
    }
}

impl Rooms {
    pub(crate) async fn utilisation(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::ReportsRead).await?;
        let tenant_id = caller.tenant_id();
        let body = match chosen_range(request)? {
            Some(window) => {
                let now = Timestamp::now();
                let (report, more) = self
                    .reports
                    .compute_utilisation(tenant_id, window, now)
                    .await?;
                let mut body = json!(report);
                body["computed_at"] = json!(now.to_string());
                body["partial"] = json!(more);
                body
            }
            None => match self.reports.utilisation(tenant_id).await? {
                Some(stored) => {
                    let mut body = json!(stored.utilisation);
                    body["computed_at"] = json!(stored.computed_at);
                    body
                }
                // Not computed yet: the next refresh will.
                None => json!({
                    "computed_at": null, "from": null, "to": null, "rooms": [], "sites": [],
                }),
            },
        };
        api::json(StatusCode::OK, &body)
    }
}
