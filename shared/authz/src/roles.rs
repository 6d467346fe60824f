//! Roles: the built-in ones with their permission sets (SPEC §B), the plain-data
//! [`RoleDefinition`] that built-in and custom roles share, and the [`RoleName`] of a custom role.
//!
//! A role is data, not policy: the authorizer turns each definition into a Cedar `Role` entity
//! whose parents are its permissions, so a tenant's custom role needs no policy of its own.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::names::string_enum;
use crate::permission::Permission;

string_enum! {
    /// The roles every tenant has. Their names are reserved: no custom role may take one.
    pub enum BuiltInRole ("built-in role") {
        Owner => "owner",
        Admin => "admin",
        Manager => "manager",
        Member => "member",
        Provider => "provider",
        Auditor => "auditor",
        Operator => "operator",
    }
}

impl BuiltInRole {
    /// The permissions this role grants. Owner and admin grant every tenant permission (what
    /// only an owner may do, such as leaving the tenant without one, is checked by the domain,
    /// not here). Only `operator`, a member of the platform tenant, grants the platform ones.
    pub fn permissions(self) -> BTreeSet<Permission> {
        use Permission as P;
        let granted: &[Permission] = match self {
            Self::Owner | Self::Admin => return Permission::tenant_permissions().collect(),
            Self::Operator => &[
                P::MeRead,
                P::MeUpdate,
                P::SessionsManageOwn,
                P::AuditRead,
                P::PlatformManageLicences,
                P::PlatformConfigure,
            ],
            Self::Manager => &[
                P::MeRead,
                P::MeUpdate,
                P::SessionsManageOwn,
                P::MembersList,
                P::InvitationsCreate,
                P::InvitationsList,
                P::RolesList,
                P::LicenceRead,
                P::RoomsRead,
                P::RoomsManage,
                P::BookingsCreate,
                P::BookingsRead,
                P::BookingsApprove,
                P::BookingsExport,
                P::BookingsImport,
                P::RoomsImport,
                P::SeriesCreate,
                P::FeedsManage,
                P::ReportsRead,
                P::BookingsCheckIn,
                P::CredentialsUpload,
                P::CredentialsReview,
            ],
            Self::Member | Self::Provider => &[
                P::MeRead,
                P::MeUpdate,
                P::SessionsManageOwn,
                P::RoomsRead,
                P::BookingsCreate,
                P::BookingsRead,
                P::SeriesCreate,
                P::FeedsManage,
                P::BookingsCheckIn,
                P::CredentialsUpload,
            ],
            Self::Auditor => &[
                P::MeRead,
                P::MeUpdate,
                P::SessionsManageOwn,
                P::MembersList,
                P::RolesList,
                P::PolicyRead,
                P::AuditRead,
                P::LicenceRead,
                P::RoomsRead,
                P::BookingsRead,
                P::BookingsExport,
                P::ReportsRead,
            ],
        };
        granted.iter().copied().collect()
    }

    pub fn definition(self) -> RoleDefinition {
        RoleDefinition {
            id: self.as_str().to_owned(),
            built_in: true,
            permissions: self.permissions(),
        }
    }
}

impl BuiltInRole {
    /// The roles of a tenant; `operator` belongs to the platform tenant only.
    pub fn is_tenant_role(self) -> bool {
        self != Self::Operator
    }
}

/// Every built-in tenant role's definition.
pub fn built_in_roles() -> Vec<RoleDefinition> {
    BuiltInRole::ALL
        .iter()
        .filter(|role| role.is_tenant_role())
        .map(|role| role.definition())
        .collect()
}

/// A role as the authorizer sees it, built-in or custom: its id (the built-in name, or the
/// custom [`RoleName`]) and the permissions it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDefinition {
    pub id: String,
    pub built_in: bool,
    pub permissions: BTreeSet<Permission>,
}

impl RoleDefinition {
    pub fn custom(name: RoleName, permissions: impl IntoIterator<Item = Permission>) -> Self {
        Self {
            id: name.0,
            built_in: false,
            permissions: permissions.into_iter().collect(),
        }
    }
}

/// The name of a custom role: 1 to 64 of `a-z`, `0-9`, `-` and `_`, and not a built-in name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

impl RoleName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(name: &str) -> Result<Self, RoleNameError> {
        if name.is_empty() {
            return Err(RoleNameError::Empty);
        }
        if name.len() > Self::MAX_LEN {
            return Err(RoleNameError::TooLong { len: name.len() });
        }
        if let Some(ch) = name
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'))
        {
            return Err(RoleNameError::InvalidChar(ch));
        }
        if let Ok(built_in) = name.parse::<BuiltInRole>() {
            return Err(RoleNameError::Reserved(built_in));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RoleName {
    type Err = RoleNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name)
    }
}

impl TryFrom<String> for RoleName {
    type Error = RoleNameError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name)
    }
}

impl From<RoleName> for String {
    fn from(name: RoleName) -> Self {
        name.0
    }
}

impl AsRef<str> for RoleName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not a [`RoleName`]; each says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleNameError {
    #[error("a role name must not be empty")]
    Empty,
    #[error("a role name has at most 64 characters (got {len})")]
    TooLong { len: usize },
    #[error("a role name has only a-z, 0-9, '-' and '_' (got {0:?})")]
    InvalidChar(char),
    #[error("{0} is a built-in role")]
    Reserved(BuiltInRole),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_parsed_not_validated() {
        assert_eq!(
            RoleName::parse("front-desk_2").unwrap().as_str(),
            "front-desk_2"
        );
        assert!(RoleName::parse(&"a".repeat(64)).is_ok());
        assert_eq!(RoleName::parse(""), Err(RoleNameError::Empty));
        assert_eq!(
            RoleName::parse(&"a".repeat(65)),
            Err(RoleNameError::TooLong { len: 65 })
        );
        assert_eq!(
            RoleName::parse("Desk"),
            Err(RoleNameError::InvalidChar('D'))
        );
        assert_eq!(
            RoleName::parse("desk lead"),
            Err(RoleNameError::InvalidChar(' '))
        );
        assert_eq!(
            RoleName::parse("désk"),
            Err(RoleNameError::InvalidChar('é'))
        );
        for &built_in in BuiltInRole::ALL {
            assert_eq!(
                RoleName::parse(built_in.as_str()),
                Err(RoleNameError::Reserved(built_in))
            );
        }
    }

    #[test]
    fn role_names_deserialize_through_the_parser() {
        let name: RoleName = serde_json::from_str("\"desk\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"desk\"");
        assert!(serde_json::from_str::<RoleName>("\"owner\"").is_err());
    }

    #[test]
    fn built_in_definitions_are_marked_and_named() {
        let roles = built_in_roles();
        assert_eq!(roles.len(), BuiltInRole::ALL.len() - 1, "all but operator");
        for (role, &built_in) in roles.iter().zip(BuiltInRole::ALL) {
            assert!(role.built_in);
            assert_eq!(role.id, built_in.as_str());
            assert_eq!(role.permissions, built_in.permissions());
        }
        assert_eq!(
            BuiltInRole::Owner.permissions().len(),
            Permission::tenant_permissions().count()
        );
        assert!(
            BuiltInRole::ALL
                .iter()
                .filter(|r| r.is_tenant_role())
                .all(|r| r.permissions().iter().all(|p| !p.is_platform())),
            "no tenant role grants a platform permission"
        );
    }
}
