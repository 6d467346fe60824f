//! The licensing function (SPEC §F): platform operators assign a tenant's offering, licence
//! status and expiry, put tenants in rollout cohorts, and set the licensing switches that
//! override the template's flags without a deploy. (The nightly sweep joins it.)

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::operators::PLATFORM_TENANT;
use steward_access::{Auditor, Guard, Instance, Record};
use steward_authz::{LicenceStatus, Permission};
use steward_domain::licensing::{Cohort, Offering, Rollout, RolloutStage};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, HttpFunction};
use steward_kit::config::{ConfigError, Env, Flags};
use steward_store::SdkConfig;
use steward_store::identity::{IdentityStore, LicenceRecord};
use steward_store::licensing::LicensingStore;
use steward_store::platform::{LicensingConfigRecord, PlatformStore};

mod preview;
mod tenants;

pub struct Licensing {
    guard: Guard,
    identity: IdentityStore,
    licensing: LicensingStore,
    platform: PlatformStore,
    auditor: Auditor,
    cursors: steward_kit::pagination::Cursors,
    defaults: Rollout,
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Licensing>, ConfigError> {
    let instance = Instance::new(env, aws)?;
    let flags: Flags = instance.parse()?;
    let table = instance.table();
    let licensing = Licensing {
        guard: instance.guard()?,
        identity: IdentityStore::new(table.clone()),
        licensing: LicensingStore::new(table.clone()),
        platform: PlatformStore::new(table),
        auditor: instance.auditor(),
        cursors: instance.cursors(),
        defaults: flags.rollout(),
    };
    instance.http(licensing)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assignment {
    offering: Offering,
    #[serde(default = "active")]
    status: LicenceStatus,
    /// RFC 3339; absent for a licence without an end.
    #[serde(default)]
    expires_at: Option<Timestamp>,
}

fn active() -> LicenceStatus {
    LicenceStatus::Active
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CohortChoice {
    /// Required, `null` taking the tenant out of any cohort (`deserialize_with` keeps serde
    /// from reading a missing field as `None`).
    #[serde(deserialize_with = "Option::deserialize")]
    cohort: Option<Cohort>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switches {
    stage: RolloutStage,
    enforcement_enabled: bool,
    #[serde(default = "default_percent")]
    early_adopter_percent: u8,
}

fn default_percent() -> u8 {
    Rollout::DEFAULT_EARLY_ADOPTER_PERCENT
}

impl Licensing {
    async fn assign_licence(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let tenant_id = request.path_param("tenantId")?;
        let body: Assignment = request.json()?;
        if body.status == LicenceStatus::None {
            return Err(ApiError::validation(
                "status",
                "assign a licence status other than none",
            ));
        }
        let Some(tenant) = self.identity.tenant(tenant_id).await? else {
            return Err(ApiError::NotFound(format!("tenant {tenant_id}")));
        };
        let terms = body.offering.terms();
        let licence = LicenceRecord {
            status: body.status,
            offering: Some(body.offering),
            features: terms.features,
            limits: terms.limits,
            seats_used: tenant.licence.seats_used,
            rooms_used: tenant.licence.rooms_used,
            terminals_used: tenant.licence.terminals_used,
            expires_at: body.expires_at.map(|at| at.as_second()),
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "licence.assign",
                target: &format!("tenant:{tenant_id}"),
                before: json!(tenant.licence),
                after: json!(licence),
            },
        );
        if !self
            .licensing
            .set_licence(tenant_id, &licence, &audit)
            .await?
        {
            return Err(ApiError::NotFound(format!("tenant {tenant_id}")));
        }
        api::json(StatusCode::OK, &licence)
    }

    async fn set_cohort(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::PlatformManageLicences)
            .await?;
        let tenant_id = request.path_param("tenantId")?;
        let body: CohortChoice = request.json()?;
        let Some(tenant) = self.identity.tenant(tenant_id).await? else {
            return Err(ApiError::NotFound(format!("tenant {tenant_id}")));
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "licence.cohort",
                target: &format!("tenant:{tenant_id}"),
                before: json!({ "cohort": tenant.cohort }),
                after: json!({ "cohort": body.cohort }),
            },
        );
        if !self
            .licensing
            .set_cohort(tenant_id, body.cohort, &audit)
            .await?
        {
            return Err(ApiError::NotFound(format!("tenant {tenant_id}")));
        }
        api::json(
            StatusCode::OK,
            &json!({ "tenant_id": tenant_id, "cohort": body.cohort }),
        )
    }

    /// The switches in force, and where they come from.
    pub(crate) async fn rollout(&self) -> Result<(Rollout, &'static str), ApiError> {
        Ok(match self.platform.licensing().await? {
            Some(rollout) => (rollout, "configuration item"),
            None => (self.defaults, "template parameters"),
        })
    }

    async fn switches(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.guard
            .allow(request, Permission::PlatformConfigure)
            .await?;
        let (rollout, source) = self.rollout().await?;
        api::json(StatusCode::OK, &switches_view(&rollout, source))
    }

    async fn set_switches(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::PlatformConfigure)
            .await?;
        let rollout = proposed_rollout(request)?;
        let before = self.rollout().await?.0;
        let now = Timestamp::now().to_string();
        let record = LicensingConfigRecord::new(rollout, &now, caller.user_id());
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: PLATFORM_TENANT,
                actor: caller.user_id(),
                action: "licensing.switches",
                target: "config:licensing",
                before: json!(before),
                after: json!(rollout),
            },
        );
        self.platform.set_licensing(&record, &audit).await?;
        api::json(
            StatusCode::OK,
            &switches_view(&rollout, "configuration item"),
        )
    }
}

/// The switches a `PUT` or a preview of one asks for.
fn proposed_rollout(request: &ApiRequest) -> Result<Rollout, ApiError> {
    let body: Switches = request.json()?;
    if body.early_adopter_percent > 100 {
        return Err(ApiError::validation("early_adopter_percent", "0 to 100"));
    }
    Ok(Rollout {
        stage: body.stage,
        enforcement_enabled: body.enforcement_enabled,
        early_adopter_percent: body.early_adopter_percent,
    })
}

fn switches_view(rollout: &Rollout, source: &str) -> Value {
    json!({
        "stage": rollout.stage,
        "enforcement_enabled": rollout.enforcement_enabled,
        "early_adopter_percent": rollout.early_adopter_percent,
        "source": source,
    })
}

steward_kit::routes! {
    /// The operators' licensing routes: licences, cohorts and the licensing switches.
    pub const ROUTES for Licensing, fn route(request) {
        "GET /v1/admin/tenants" => tenants,
        "PUT /v1/admin/tenants/{tenantId}/licence" => assign_licence,
        "PUT /v1/admin/tenants/{tenantId}/cohort" => set_cohort,
        "GET /v1/admin/config/licensing" => switches,
        "PUT /v1/admin/config/licensing" => set_switches,
        "POST /v1/admin/config/licensing/preview" => preview_switches,
    }
}

steward_kit::routed_api!(Licensing, route);

steward_kit::binaries! {
    "licensing" => init,
}

#[cfg(test)]
mod route_table {
    #[test]
    fn the_route_table_is_what_the_template_deploys_to_the_function() {
        steward_template::Template::assert_routes("LicensingFunction", super::ROUTES);
    }
}
