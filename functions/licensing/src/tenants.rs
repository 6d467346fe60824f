//! `GET /v1/admin/tenants`: the operators' list of tenants, by name, searchable by a name's
//! beginning, a page at a time.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Serialize;
use steward_authz::{LicenceStatus, Permission};
use steward_domain::licensing::{Cohort, Offering, Rollout};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::identity::TenantRecord;

use crate::Licensing;

/// The longest name prefix searched for (tenant names are at most 100 characters).
const PREFIX_MOST: usize = 100;

#[derive(Debug, Serialize)]
struct TenantView {
    tenant_id: String,
    name: String,
    created_at: String,
    status: LicenceStatus,
    offering: Option<Offering>,
    expires_at: Option<String>,
    seats_used: u32,
    seats_limit: u32,
    cohort: Option<Cohort>,
    /// Whether its licence is enforced under the switches in force.
    enforced: bool,
}

impl TenantView {
    fn new(tenant: TenantRecord, rollout: &Rollout) -> Self {
        let enforced = rollout.enforces(&tenant.tenant_id, tenant.cohort);
        let licence = tenant.licence;
        Self {
            cohort: tenant.cohort,
            enforced,
            tenant_id: tenant.tenant_id,
            name: tenant.name,
            created_at: tenant.created_at,
            status: licence.status,
            offering: licence.offering,
            expires_at: licence
                .expires_at
                .and_then(|at| Timestamp::from_second(at).ok())
                .map(|at| at.to_string()),
            seats_used: licence.seats_used,
            seats_limit: licence.limits.seats,
        }
    }
}

impl Licensing {
    pub(crate) async fn tenants(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let prefix = request
            .query
            .get("prefix")
            .map(String::as_str)
            .unwrap_or("");
        if prefix.chars().count() > PREFIX_MOST {
            return Err(ApiError::validation(
                "prefix",
                format!("at most {PREFIX_MOST} characters"),
            ));
        }
        // A cursor pages the search it was made for only.
        let scope = format!("{}#tenants#{}", request.scope, prefix.to_lowercase());
        let page = self.cursors.page_request(&scope, &request.query)?;
        let ((tenants, next), (rollout, _)) = tokio::try_join!(
            async {
                Ok::<_, ApiError>(
                    self.identity
                        .tenants_by_name(prefix, page.limit, page.start)
                        .await?,
                )
            },
            self.rollout(),
        )?;
        let items: Vec<TenantView> = tenants
            .into_iter()
            .map(|tenant| TenantView::new(tenant, &rollout))
            .collect();
        api::json(StatusCode::OK, &self.cursors.page(&scope, items, next))
    }
}
