//! The permission check every protected route makes first.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use steward_authz::{
    Action, Authorizer, AuthzError, BuiltInRole, DenyReason, Permission, PrincipalData, Request,
    TenantData,
};

use steward_domain::access::{RoleRef, definition};
use steward_domain::licensing::Rollout;
use steward_kit::ApiError;
use steward_kit::api::{ApiRequest, Principal};
use steward_kit::latency::Cache;
use steward_kit::recent::Recent;
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
    tenants: TenantCache,
}

/// Tenants as last read, for the cache's TTL (CACHE_ENABLED); emptied when the operators'
/// cache epoch moves (`POST /v1/admin/cache/clear`), which instances notice with the licensing
/// switches.
struct TenantCache {
    recent: Recent<TenantRecord>,
    epoch: AtomicU64,
}

impl TenantCache {
    /// Empties the cache, here at once; `epoch` is the operators' (others follow on reading it).
    fn clear(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::Relaxed);
        self.recent.clear();
    }
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
    /// The switches, and the cache epoch when it was read afresh.
    async fn current(&self) -> Result<(Rollout, Option<u64>), StoreError> {
        if let Some((read_at, rollout)) = *self.cached.lock().expect("not poisoned")
            && read_at.elapsed() < self.ttl
        {
            return Ok((rollout, None));
        }
        let (rollout, epoch) =
            tokio::try_join!(self.platform.licensing(), self.platform.cache_epoch())?;
        let rollout = rollout.unwrap_or(self.defaults);
        *self.cached.lock().expect("not poisoned") = Some((Instant::now(), rollout));
        Ok((rollout, Some(epoch)))
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
            tenants: TenantCache {
                recent: Recent::new(Cache::Tenant, Duration::ZERO),
                epoch: AtomicU64::new(0),
            },
        })
    }

    /// The guard a function's init builds: the template's flags as the licensing defaults,
    /// LICENSING_CONFIG_CACHE_SECONDS for the operators' switches, CACHE_ENABLED and
    /// CACHE_TTL_SECONDS for tenants.
    pub fn from_env(
        env: &steward_kit::config::Env,
        table: &steward_store::Table,
    ) -> Result<Self, steward_kit::config::ConfigError> {
        let flags: steward_kit::config::Flags = env.parse()?;
        let licensing: crate::LicensingCache = env.parse()?;
        let tenants: crate::TenantCacheConfig = env.parse()?;
        Ok(Self::new(
            IdentityStore::new(table.clone()),
            PlatformStore::new(table.clone()),
            flags.rollout(),
            Duration::from_secs(licensing.licensing_config_cache_seconds),
        )
        .map_err(|e| steward_kit::config::ConfigError::new(format!("authorization policies: {e}")))?
        .with_tenant_cache(tenants.ttl()))
    }

    /// Keeps tenants for `ttl` (zero: every request reads through).
    pub fn with_tenant_cache(mut self, ttl: Duration) -> Self {
        self.tenants.recent = Recent::new(Cache::Tenant, ttl);
        self
    }

    /// Empties this instance's caches now (the caller has moved the operators' epoch on).
    pub fn clear_caches(&self, epoch: u64) {
        self.tenants.clear(epoch);
        *self.rollout.cached.lock().expect("not poisoned") = None;
    }

    /// Forgets this instance's copy of a tenant it has just changed (a setting, its roles):
    /// every write of what the tenant cache holds calls it, so that an instance's own change
    /// applies from its next request; other instances see it within the cache's TTL.
    pub fn forget_tenant(&self, tenant_id: &str) {
        self.tenants.recent.forget(tenant_id);
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        if let Some(tenant) = self.tenants.recent.get(tenant_id) {
            return Ok(Some(tenant));
        }
        let tenant = self.store.tenant(tenant_id).await?;
        if let Some(tenant) = &tenant {
            self.tenants.recent.put(tenant_id, tenant.clone());
        }
        Ok(tenant)
    }

    /// The caller, if it may perform `permission`'s action in its own tenant.
    pub async fn allow(
        &self,
        request: &ApiRequest,
        permission: Permission,
    ) -> Result<Caller, ApiError> {
        let caller = self
            .allow_principal(request.principal()?, permission)
            .await?;
        second_factor_kept(&caller, permission)?;
        Ok(caller)
    }

    /// Whether the caller may make `request`, by the permission its route's handler checks
    /// first (`routes`: a function's keyed routes, by route key). What an idempotent replay is
    /// decided on ([`steward_kit::api::Replayable`]); a keyed route missing from `routes` is a
    /// deployment error, answered 500 (and so never kept).
    pub async fn allow_replay(
        &self,
        request: &ApiRequest,
        routes: &[(&str, Permission)],
    ) -> Result<(), ApiError> {
        let (_, permission) = routes
            .iter()
            .find(|(route, _)| *route == request.route)
            .ok_or_else(|| {
                ApiError::internal(format!("no permission declared for {}", request.route))
            })?;
        self.allow(request, *permission).await.map(drop)
    }

    /// `principal`, if it may perform `permission`'s action: what a secret that acts for a
    /// member (a calendar feed's token) is checked as, so that removing the member, taking the
    /// permission away or losing the licence feature closes it too.
    pub async fn allow_principal(
        &self,
        principal: &Principal,
        permission: Permission,
    ) -> Result<Caller, ApiError> {
        let started = Instant::now();
        let (user, tenant, (rollout, epoch)) = tokio::try_join!(
            self.store.user(&principal.tenant_id, &principal.user_id),
            self.tenant(&principal.tenant_id),
            self.rollout.current(),
        )?;
        if let Some(epoch) = epoch
            && epoch != self.tenants.epoch.load(Ordering::Relaxed)
        {
            self.tenants.clear(epoch);
        }
        // A token outliving its user (removed) or tenant is no longer anyone's.
        let (Some(user), Some(tenant)) = (user, tenant) else {
            return Err(ApiError::Unauthorized);
        };
        let licence_enforced = rollout.enforces(&tenant.tenant_id, tenant.cohort);
        let caller = Caller {
            principal: principal.clone(),
            user,
            tenant,
            licence_enforced,
        };
        let decided = self.also(&caller, permission);
        steward_kit::latency::record(
            steward_kit::latency::Timed::PermissionCheck,
            started.elapsed(),
        );
        decided.map(|()| caller)
    }

    /// A door terminal of `tenant_id`, if it may act there: a terminal is a principal with the
    /// built-in `member` role (no more than a member at its door may do), so the licence's
    /// `terminals` feature and status gate it through the same policies as everyone. The
    /// member it acts for (a badge's, a booking's organiser) is checked on its own with
    /// [`Guard::allow_principal`].
    pub async fn allow_terminal(
        &self,
        tenant_id: &str,
        terminal_id: &str,
        permission: Permission,
    ) -> Result<Caller, ApiError> {
        self.allow_service(tenant_id, terminal_id, BuiltInRole::Member, permission)
            .await
    }

    /// A service acting in `tenant_id` as `acting_id` with `role` (a door terminal, the
    /// tenant's identity provider or directory), if it may perform `permission`: the licence's
    /// status and features gate it through the same policies as a member.
    pub async fn allow_service(
        &self,
        tenant_id: &str,
        acting_id: &str,
        role: BuiltInRole,
        permission: Permission,
    ) -> Result<Caller, ApiError> {
        let (tenant, (rollout, _)) =
            tokio::try_join!(self.tenant(tenant_id), self.rollout.current())?;
        let Some(tenant) = tenant else {
            return Err(ApiError::Unauthorized);
        };
        let licence_enforced = rollout.enforces(&tenant.tenant_id, tenant.cohort);
        let caller = Caller {
            principal: Principal {
                user_id: acting_id.to_owned(),
                tenant_id: tenant_id.to_owned(),
                session_id: String::new(),
                second_factor: false,
            },
            user: UserRecord {
                user_id: acting_id.to_owned(),
                tenant_id: tenant_id.to_owned(),
                status: "active".into(),
                roles: vec![role.as_str().into()],
                ..UserRecord::default()
            },
            tenant,
            licence_enforced,
        };
        self.also(&caller, permission).map(|()| caller)
    }

    /// Whether a caller already allowed one action may also perform `permission` (managers
    /// overriding a rule, editing someone else's booking): decided on what the first check
    /// read, so it costs no request.
    pub fn also(&self, caller: &Caller, permission: Permission) -> Result<(), ApiError> {
        self.decision(caller, permission).map_err(|reason| {
            tracing::warn!(
                policy = reason.policy_id(),
                %permission,
                %reason,
                user = %caller.user_id(),
                "request denied"
            );
            deny_to_problem(&reason)
        })
    }

    /// Whether `caller` holds `permission`, unlogged: a decision kept for later (a write takes
    /// it before its retries), whose refusal reaches the caller as [`deny_to_problem`] makes it.
    pub fn decision(&self, caller: &Caller, permission: Permission) -> Result<(), DenyReason> {
        let (principal_data, tenant_data) =
            subject(&caller.user, &caller.tenant, caller.licence_enforced);
        self.authorizer
            .decide(&Request {
                principal: &principal_data,
                action: Action::new(permission),
                // Every key a handler reads is built from the principal's tenant.
                resource_tenant: caller.tenant_id(),
                tenant: &tenant_data,
            })
            .into_result()
    }

    /// [`roles_granting`] with this guard's policies.
    pub fn roles_granting(
        &self,
        tenant: &TenantRecord,
        licence_enforced: bool,
        permission: Permission,
    ) -> Vec<String> {
        roles_granting(&self.authorizer, tenant, licence_enforced, permission)
    }

    /// Which of `members` (of `tenant_id`) may perform `permission`'s action: who is told of
    /// what only they can act on (a booking waiting for an approver). Not being one of them is
    /// no denied request, so nothing is logged.
    pub async fn who_may(
        &self,
        tenant_id: &str,
        members: Vec<UserRecord>,
        permission: Permission,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let (tenant, (rollout, _)) =
            tokio::try_join!(self.tenant(tenant_id), self.rollout.current())?;
        let Some(tenant) = tenant else {
            return Ok(Vec::new());
        };
        let licence_enforced = rollout.enforces(&tenant.tenant_id, tenant.cohort);
        Ok(members
            .into_iter()
            .filter(|user| user.tenant_id == tenant_id)
            .filter(|user| {
                let caller = Caller {
                    principal: Principal {
                        user_id: user.user_id.clone(),
                        tenant_id: tenant_id.to_owned(),
                        session_id: String::new(),
                        second_factor: false,
                    },
                    user: user.clone(),
                    tenant: tenant.clone(),
                    licence_enforced,
                };
                self.decision(&caller, permission).is_ok()
            })
            .collect())
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

/// The roles with which an active member of `tenant` may perform `permission`: empty when the
/// tenant itself is refused (its licence). The policies permit by any one role and forbid only
/// by the tenant or a suspension, so a member may exactly when they are active and hold one of
/// these (the test below holds that to every set of roles). A write conditioned on that checks
/// the member without reading them first (a check-in at the door).
pub fn roles_granting(
    authorizer: &Authorizer,
    tenant: &TenantRecord,
    licence_enforced: bool,
    permission: Permission,
) -> Vec<String> {
    let built_in = BuiltInRole::ALL.iter().map(|role| role.as_str().to_owned());
    let custom = tenant
        .custom_roles
        .keys()
        .map(|name| name.as_str().to_owned());
    built_in
        .chain(custom)
        .filter(|role| {
            let member = UserRecord {
                tenant_id: tenant.tenant_id.clone(),
                status: "active".into(),
                roles: vec![role.clone()],
                ..UserRecord::default()
            };
            let (principal, tenant_data) = subject(&member, tenant, licence_enforced);
            authorizer
                .decide(&Request {
                    principal: &principal,
                    action: Action::new(permission),
                    resource_tenant: &tenant.tenant_id,
                    tenant: &tenant_data,
                })
                .into_result()
                .is_ok()
        })
        .collect()
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

/// What a signed-in owner or admin of a tenant that requires a second factor may still do
/// without one: manage their own account (set the factor up, sign out).
const WITHOUT_SECOND_FACTOR: [Permission; 3] = [
    Permission::MeRead,
    Permission::MeUpdate,
    Permission::SessionsManageOwn,
];

/// Refuses an owner or admin whose session was opened without a second factor, in a tenant
/// that requires one, anything but their own account.
fn second_factor_kept(caller: &Caller, permission: Permission) -> Result<(), ApiError> {
    let privileged = caller.user.roles.iter().any(|role| {
        role == steward_authz::BuiltInRole::Owner.as_str()
            || role == steward_authz::BuiltInRole::Admin.as_str()
    });
    if caller.tenant.mfa_required
        && privileged
        && !caller.principal.second_factor
        && !WITHOUT_SECOND_FACTOR.contains(&permission)
    {
        return Err(ApiError::Forbidden {
            detail: "this organisation requires owners and admins to sign in with a second \
                     factor: set one up (POST /v1/me/mfa/totp), then sign in again with its code"
                .into(),
            permission: Some(permission.to_string()),
            feature: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_authz::Feature;
    use steward_domain::access::CustomRole;

    fn tenant(features: &[Feature]) -> TenantRecord {
        let mut tenant: TenantRecord = serde_json::from_value(serde_json::json!({
            "pk": "", "sk": "", "tenant_id": "t_1", "name": "T", "created_at": "",
            "dual_approval": false,
        }))
        .unwrap();
        tenant.licence.features = features.iter().copied().collect();
        for (name, permissions) in [
            ("door-staff", vec![Permission::BookingsCheckIn]),
            ("viewer", vec![Permission::RoomsRead]),
        ] {
            tenant.custom_roles.insert(
                name.parse().unwrap(),
                CustomRole {
                    permissions: permissions.into_iter().collect(),
                    description: String::new(),
                },
            );
        }
        tenant
    }

    /// Every set of up to three roles (and a role the tenant does not have), active or
    /// suspended: the policies allow exactly when the member is active and holds a role
    /// [`roles_granting`] names. Were a policy to come to depend on more than one role, or on
    /// anything else of the member, this fails.
    #[test]
    fn roles_granting_names_exactly_the_roles_that_allow_alone() {
        let authorizer = Authorizer::new().unwrap();
        let mut names: Vec<String> = BuiltInRole::ALL.iter().map(|r| r.as_str().into()).collect();
        names.extend(["door-staff", "viewer", "gone"].map(String::from));
        let mut sets: Vec<Vec<String>> = vec![vec![]];
        for (i, a) in names.iter().enumerate() {
            sets.push(vec![a.clone()]);
            for (j, b) in names.iter().enumerate().skip(i + 1) {
                sets.push(vec![a.clone(), b.clone()]);
                for c in names.iter().skip(j + 1) {
                    sets.push(vec![a.clone(), b.clone(), c.clone()]);
                }
            }
        }
        let permissions = [
            Permission::BookingsCheckIn,
            Permission::BookingsCreate,
            Permission::RoomsRead,
            Permission::TerminalsManage,
        ];
        for (features, enforced) in [
            (vec![Feature::Terminals], true),
            (vec![], true),
            (vec![], false),
        ] {
            let tenant = tenant(&features);
            for permission in permissions {
                let granting = roles_granting(&authorizer, &tenant, enforced, permission);
                for roles in &sets {
                    for status in ["active", "suspended"] {
                        let member = UserRecord {
                            tenant_id: "t_1".into(),
                            status: status.into(),
                            roles: roles.clone(),
                            ..UserRecord::default()
                        };
                        let (principal, tenant_data) = subject(&member, &tenant, enforced);
                        let allowed = authorizer
                            .decide(&Request {
                                principal: &principal,
                                action: Action::new(permission),
                                resource_tenant: "t_1",
                                tenant: &tenant_data,
                            })
                            .into_result()
                            .is_ok();
                        let held = status == "active" && roles.iter().any(|r| granting.contains(r));
                        assert_eq!(
                            allowed, held,
                            "{permission} for {status} {roles:?} (features {features:?}, \
                             enforced {enforced}); granting {granting:?}"
                        );
                    }
                }
            }
        }
    }
}
