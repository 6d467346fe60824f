//! The permission check every protected route makes first.

use std::sync::Mutex;
use std::time::{Duration, Instant};
use steward_authz::{
    Action, Authorizer, AuthzError, DenyReason, Permission, PrincipalData, Request, TenantData,
};

use steward_domain::access::{RoleRef, definition};
use steward_domain::licensing::Rollout;
use steward_kit::ApiError;
use steward_kit::api::{ApiRequest, Principal};
use steward_store::StoreError;
use steward_store::identity::{IdentityStore, TenantRecord, UserRecord};
use steward_store::platform::PlatformStore;

/// Who is calling, as the guard resolved them for an allowed request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub user: UserRecord,
    pub tenant: TenantRecord,
    /// Whether the tenant's licence is enforced (its forbids held, and its limits hold).
    pub licence_enforced: bool,
}

impl Caller {
    pub fn tenant_id(&self) -> &str {
        &self.principal.tenant_id
    }

    pub fn user_id(&self) -> &str {
        &self.principal.user_id
    }
}

/// Decides whether a caller may perform an action; built once per cold start (the Cedar
/// policies are parsed in [`Guard::new`]).
pub struct Guard {
    authorizer: Authorizer,
    store: IdentityStore,
    rollout: RolloutSource,
}

/// The licensing switches: the operators' configuration item, read through a short cache, or
/// the template's flags when there is none. The cache's lifetime bounds how late a stage change
/// or the kill switch takes effect (SPEC §F: within a minute).
struct RolloutSource {
    defaults: Rollout,
    platform: PlatformStore,
    ttl: Duration,
    cached: Mutex<Option<(Instant, Rollout)>>,
}

impl RolloutSource {
    async fn current(&self) -> Result<Rollout, StoreError> {
        if let Some((read_at, rollout)) = *self.cached.lock().expect("not poisoned")
            && read_at.elapsed() < self.ttl
        {
            return Ok(rollout);
        }
        let rollout = self.platform.licensing().await?.unwrap_or(self.defaults);
        *self.cached.lock().expect("not poisoned") = Some((Instant::now(), rollout));
        Ok(rollout)
    }
}

impl Guard {
    /// `defaults` are the template's flags; the configuration item in `platform` overrides
    /// them, read at most once per `ttl`.
    pub fn new(
        store: IdentityStore,
        platform: PlatformStore,
        defaults: Rollout,
        ttl: Duration,
    ) -> Result<Self, AuthzError> {
        Ok(Self {
            authorizer: Authorizer::new()?,
            store,
            rollout: RolloutSource {
                defaults,
                platform,
                ttl,
                cached: Mutex::new(None),
            },
        })
    }

    /// The caller, if it may perform `permission`'s action in its own tenant.
    pub async fn allow(
        &self,
        request: &ApiRequest,
        permission: Permission,
    ) -> Result<Caller, ApiError> {
        let principal = request.principal()?;
        let (user, tenant, rollout) = tokio::try_join!(
            self.store.user(&principal.tenant_id, &principal.user_id),
            self.store.tenant(&principal.tenant_id),
            self.rollout.current(),
        )?;
        // A token outliving its user (removed) or tenant is no longer anyone's.
        let (Some(user), Some(tenant)) = (user, tenant) else {
            return Err(ApiError::Unauthorized);
        };
        let licence_enforced = rollout.enforces(&tenant.tenant_id, tenant.cohort);
        let (principal_data, tenant_data) = subject(&user, &tenant, licence_enforced);
        let decision = self.authorizer.decide(&Request {
            principal: &principal_data,
            action: Action::new(permission),
            // Every key a handler reads is built from the principal's tenant.
            resource_tenant: &principal.tenant_id,
            tenant: &tenant_data,
        });
        match decision.into_result() {
            Ok(()) => Ok(Caller {
                principal: principal.clone(),
                user,
                tenant,
                licence_enforced,
            }),
            Err(reason) => {
                tracing::warn!(
                    policy = reason.policy_id(),
                    %permission,
                    %reason,
                    user = %principal.user_id,
                    "request denied"
                );
                Err(deny_to_problem(&reason))
            }
        }
    }
}

/// The principal and tenant as the authorizer sees them: the user's roles resolved against the
/// tenant's custom roles (a role the tenant no longer has grants nothing), and the licence.
pub fn subject(
    user: &UserRecord,
    tenant: &TenantRecord,
    licence_enforced: bool,
) -> (PrincipalData, TenantData) {
    let roles = user
        .roles
        .iter()
        .filter_map(|role| RoleRef::parse(role).ok())
        .filter_map(|role| definition(&tenant.custom_roles, &role))
        .collect();
    let principal = PrincipalData {
        user_id: user.user_id.clone(),
        tenant_id: user.tenant_id.clone(),
        suspended: user.status != "active",
        roles,
    };
    let tenant = TenantData {
        tenant_id: tenant.tenant_id.clone(),
        licence_status: tenant.licence.status,
        licence_enforced,
        features: tenant.licence.features.clone(),
    };
    (principal, tenant)
}

/// The problem a deny is answered with: it names the missing permission or feature, and says
/// nothing of another tenant's data (that is answered as "not found").
pub fn deny_to_problem(reason: &DenyReason) -> ApiError {
    let forbidden =
        |detail: String, permission: Option<String>, feature: Option<String>| ApiError::Forbidden {
            detail,
            permission,
            feature,
        };
    match reason {
        DenyReason::MissingPermission(permission) => forbidden(
            format!("none of your roles grants the permission {permission}"),
            Some(permission.to_string()),
            None,
        ),
        DenyReason::FeatureNotLicensed(feature) => forbidden(
            format!("your organisation's licence does not include {feature}"),
            None,
            Some(feature.to_string()),
        ),
        DenyReason::LicenceInactive { status } => forbidden(
            format!("your organisation's licence is {status}"),
            None,
            None,
        ),
        DenyReason::SuspendedUser => forbidden("your account is suspended".into(), None, None),
        DenyReason::OtherTenant => ApiError::NotFound("the resource".into()),
    }
}
