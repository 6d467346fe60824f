//! `POST /v1/admin/config/licensing/preview`: what a change of the licensing switches would do,
//! tenant by tenant, before an operator saves it (issue 29: "what each change will do stated
//! before it is saved"). Nothing is written.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use steward_authz::Permission;
use steward_domain::licensing::Rollout;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::identity::TenantRecord;

use crate::Licensing;

/// Tenants read per query while counting.
const PAGE: u32 = 200;
/// Tenants named in each direction; the counts are whole.
const NAMED_MOST: usize = 20;

#[derive(Debug, Default, Serialize)]
struct Moving {
    count: u32,
    /// The first of them by name, at most [`NAMED_MOST`].
    tenants: Vec<TenantNamed>,
}

#[derive(Debug, Serialize)]
struct TenantNamed {
    tenant_id: String,
    name: String,
}

#[derive(Debug, Default, Serialize)]
struct Preview {
    tenants: u32,
    enforced_now: u32,
    enforced_after: u32,
    /// Tenants whose licence limits and features would start to be enforced.
    starting: Moving,
    /// Tenants whose licence would stop being enforced.
    stopping: Moving,
}

impl Moving {
    fn add(&mut self, tenant: &TenantRecord) {
        self.count += 1;
        if self.tenants.len() < NAMED_MOST {
            self.tenants.push(TenantNamed {
                tenant_id: tenant.tenant_id.clone(),
                name: tenant.name.clone(),
            });
        }
    }
}

impl Preview {
    fn count(&mut self, tenant: &TenantRecord, now: &Rollout, after: &Rollout) {
        let before = now.enforces(&tenant.tenant_id, tenant.cohort);
        let later = after.enforces(&tenant.tenant_id, tenant.cohort);
        self.tenants += 1;
        self.enforced_now += u32::from(before);
        self.enforced_after += u32::from(later);
        match (before, later) {
            (false, true) => self.starting.add(tenant),
            (true, false) => self.stopping.add(tenant),
            _ => {}
        }
    }
}

impl Licensing {
    pub(crate) async fn preview_switches(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.guard
            .allow(request, Permission::PlatformConfigure)
            .await?;
        let after = crate::proposed_rollout(request)?;
        let now = self.rollout().await?.0;
        let mut preview = Preview::default();
        let mut start = None;
        loop {
            let (tenants, next) = self.identity.tenants_by_name("", PAGE, start).await?;
            for tenant in &tenants {
                preview.count(tenant, &now, &after);
            }
            match next {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        api::json(StatusCode::OK, &preview)
    }
}
