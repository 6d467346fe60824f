//! A role as a member holds it: one of the built-in roles, or a tenant's custom role.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use steward_authz::{BuiltInRole, RoleName, RoleNameError};

/// A role named on a member, an invitation or a change: parsed once, so a built-in name can
/// never be mistaken for a custom one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RoleRef {
    BuiltIn(BuiltInRole),
    Custom(RoleName),
}

/// Why a string names no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RoleRefError(#[from] RoleNameError);

impl RoleRef {
    pub fn parse(text: &str) -> Result<Self, RoleRefError> {
        match text.parse::<BuiltInRole>() {
            Ok(built_in) => Ok(Self::BuiltIn(built_in)),
            Err(_) => Ok(Self::Custom(RoleName::parse(text)?)),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::BuiltIn(role) => role.as_str(),
            Self::Custom(name) => name.as_str(),
        }
    }

    pub const OWNER: Self = Self::BuiltIn(BuiltInRole::Owner);
    pub const MEMBER: Self = Self::BuiltIn(BuiltInRole::Member);
}

impl FromStr for RoleRef {
    type Err = RoleRefError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<String> for RoleRef {
    type Error = RoleRefError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<RoleRef> for String {
    fn from(role: RoleRef) -> Self {
        role.as_str().to_owned()
    }
}

impl fmt::Display for RoleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_parse_as_built_in_and_others_as_custom() {
        assert_eq!(RoleRef::parse("owner"), Ok(RoleRef::OWNER));
        assert_eq!(
            RoleRef::parse("front-desk"),
            Ok(RoleRef::Custom(RoleName::parse("front-desk").unwrap()))
        );
        assert!(RoleRef::parse("Front Desk").is_err());
        let json = serde_json::to_string(&RoleRef::parse("auditor").unwrap()).unwrap();
        assert_eq!(json, "\"auditor\"");
    }
}
