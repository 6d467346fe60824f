//! Steward's one authorization mechanism (DESIGN §4): every permission, role, tenant-isolation,
//! suspension and licence decision of the API is made by [`Authorizer::decide`], which runs
//! Cedar over the schema and policies in `policies/`.
//!
//! - [`permission`]: the closed set of permissions, the licence features, and the [`Action`]
//!   mapping each action to what it needs.
//! - [`roles`]: the built-in roles, the plain-data [`RoleDefinition`] custom roles share, and
//!   the [`RoleName`] of a custom role.
//! - [`authorizer`]: the Cedar engine: schema and policies parsed and validated once, entities
//!   built per request, the deny reason read back from the `@id` of the policies that decided.
//!
//! Pure: no AWS and no I/O; the caller resolves the principal's roles and the tenant's licence
//! and hands them in as data.

pub mod authorizer;
mod names;
pub mod permission;
pub mod roles;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use authorizer::{Authorizer, AuthzError};
pub use names::UnknownName;
pub use permission::{Action, Feature, Permission};
pub use roles::{BuiltInRole, RoleDefinition, RoleName, RoleNameError, built_in_roles};

use names::string_enum;

string_enum! {
    /// The status of a tenant's licence (SPEC §F); `None` is a tenant no licence was assigned to.
    pub enum LicenceStatus ("licence status") {
        Trial => "trial",
        Active => "active",
        Grace => "grace",
        Suspended => "suspended",
        Cancelled => "cancelled",
        None => "none",
    }
}

/// The authenticated principal, with its roles resolved to their definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalData {
    pub user_id: String,
    pub tenant_id: String,
    pub suspended: bool,
    pub roles: Vec<RoleDefinition>,
}

/// The principal's tenant and the licence facts the policies read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantData {
    pub tenant_id: String,
    pub licence_status: LicenceStatus,
    /// Whether licensing is enforced for this tenant (the rollout flags' verdict, SPEC §F).
    pub licence_enforced: bool,
    pub features: BTreeSet<Feature>,
}

/// One question: may `principal` perform `action` on a resource of `resource_tenant`?
///
/// `tenant` is the licence of the principal's own tenant; data of any other tenant is refused
/// as [`DenyReason::OtherTenant`].
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: &'a PrincipalData,
    pub action: Action,
    /// The tenant that owns the resource: the key's tenant, never a value from the request.
    pub resource_tenant: &'a str,
    pub tenant: &'a TenantData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    Allow,
    Deny(DenyReason),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow)
    }

    /// `Ok(())` on allow, the reason on deny: for `?` in handlers.
    pub fn into_result(self) -> Result<(), DenyReason> {
        match self {
            Self::Allow => Ok(()),
            Self::Deny(reason) => Err(reason),
        }
    }
}

/// Why a request was denied, from the policy that decided it. When several global forbids hold,
/// the first of this order is reported: [`OtherTenant`](Self::OtherTenant) (nothing of another
/// tenant is revealed, not even its licence), [`SuspendedUser`](Self::SuspendedUser),
/// [`LicenceInactive`](Self::LicenceInactive), [`FeatureNotLicensed`](Self::FeatureNotLicensed);
/// [`MissingPermission`](Self::MissingPermission) when no forbid holds and no role permits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DenyReason {
    #[error("missing permission {0}")]
    MissingPermission(Permission),
    #[error("the licence does not include the feature {0}")]
    FeatureNotLicensed(Feature),
    #[error("the licence is {status}")]
    LicenceInactive { status: LicenceStatus },
    #[error("the user is suspended")]
    SuspendedUser,
    /// Answer it as "not found": the resource's existence is not the principal's to know.
    #[error("the resource belongs to another tenant")]
    OtherTenant,
}

impl DenyReason {
    /// The `@id` of the policy behind this reason, for the deny log: a global forbid's id, or
    /// `role-permission` for the permit no role satisfied.
    pub fn policy_id(&self) -> &'static str {
        match self {
            Self::MissingPermission(_) => authorizer::PERMIT_ID,
            Self::FeatureNotLicensed(_) => authorizer::Forbid::FeatureMissing.id(),
            Self::LicenceInactive { .. } => authorizer::Forbid::LicenceInactive.id(),
            Self::SuspendedUser => authorizer::Forbid::SuspendedUser.id(),
            Self::OtherTenant => authorizer::Forbid::TenantIsolation.id(),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow => f.write_str("allow"),
            Self::Deny(reason) => write!(f, "deny: {reason}"),
        }
    }
}
