//! The permission check every protected route makes first.

use steward_authz::{
    Action, Authorizer, AuthzError, DenyReason, Permission, PrincipalData, Request, TenantData,
};
use steward_domain::access::{PolicyState, RoleRef};
use steward_kit::ApiError;
use steward_kit::api::{ApiRequest, Principal};
use steward_store::identity::{IdentityStore, TenantRecord, UserRecord};

/// Who is calling, as the guard resolved them for an allowed request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub user: UserRecord,
    pub tenant: TenantRecord,
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
    /// LICENSING_ENFORCEMENT_ENABLED: whether the licence forbids apply (SPEC §F).
    licence_enforced: bool,
}

impl Guard {
    pub fn new(store: IdentityStore, licence_enforced: bool) -> Result<Self, AuthzError> {
        Ok(Self {
            authorizer: Authorizer::new()?,
            store,
            licence_enforced,
        })
    }

    /// Whether the licence is enforced (its forbids and its limits).
    pub fn licence_enforced(&self) -> bool {
        self.licence_enforced
    }

    /// The caller, if it may perform `permission`'s action in its own tenant.
    pub async fn allow(
        &self,
        request: &ApiRequest,
        permission: Permission,
    ) -> Result<Caller, ApiError> {
        let principal = request.principal()?;
        let (user, tenant) = tokio::try_join!(
            self.store.user(&principal.tenant_id, &principal.user_id),
            self.store.tenant(&principal.tenant_id),
        )?;
        // A token outliving its user (removed) or tenant is no longer anyone's.
        let (Some(user), Some(tenant)) = (user, tenant) else {
            return Err(ApiError::Unauthorized);
        };
        let (principal_data, tenant_data) = subject(&user, &tenant, self.licence_enforced);
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
    let state = PolicyState {
        custom_roles: tenant.custom_roles.clone(),
        ..PolicyState::default()
    };
    let roles: Vec<RoleRef> = user
        .roles
        .iter()
        .filter_map(|role| RoleRef::parse(role).ok())
        .collect();
    let principal = PrincipalData {
        user_id: user.user_id.clone(),
        tenant_id: user.tenant_id.clone(),
        suspended: user.status != "active",
        roles: state.definitions(&roles),
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
