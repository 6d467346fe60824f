//! A tenant's access state: its custom roles, its members and the roles they hold, and its
//! dual-approval setting, at one version.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use steward_authz::{BuiltInRole, Permission, RoleDefinition, RoleName};

use super::RoleRef;

/// A tenant's custom role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomRole {
    pub permissions: BTreeSet<Permission>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Active,
    Suspended,
}

/// A member of the tenant as access control sees one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub roles: BTreeSet<RoleRef>,
    pub status: MemberStatus,
}

impl Member {
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }
}

/// Everything that decides who may do what in one tenant, at `version`. Every change that
/// commits bumps the version by one and stores the [`PolicySnapshot`](super::PolicySnapshot)
/// of the new state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyState {
    pub version: u64,
    pub dual_approval: bool,
    pub custom_roles: BTreeMap<RoleName, CustomRole>,
    /// By user id.
    pub members: BTreeMap<String, Member>,
}

/// What `role` grants given a tenant's `custom_roles`, or `None` for a custom role it does not
/// have: the one lookup the state and the per-request guard share.
pub fn definition(
    custom_roles: &BTreeMap<RoleName, CustomRole>,
    role: &RoleRef,
) -> Option<RoleDefinition> {
    match role {
        RoleRef::BuiltIn(built_in) => Some(built_in.definition()),
        RoleRef::Custom(name) => custom_roles
            .get(name)
            .map(|custom| RoleDefinition::custom(name.clone(), custom.permissions.clone())),
    }
}

impl PolicyState {
    /// Custom roles a tenant may define: the roles live on the tenant's item, which must stay
    /// well under DynamoDB's 400 KB.
    pub const MAX_CUSTOM_ROLES: usize = 50;

    /// What `role` grants, or `None` for a custom role this tenant does not have.
    pub fn definition(&self, role: &RoleRef) -> Option<RoleDefinition> {
        definition(&self.custom_roles, role)
    }

    /// The definitions of the roles a member holds (a deleted custom role grants nothing).
    pub fn definitions<'a>(
        &'a self,
        roles: impl IntoIterator<Item = &'a RoleRef>,
    ) -> Vec<RoleDefinition> {
        roles
            .into_iter()
            .filter_map(|role| self.definition(role))
            .collect()
    }

    pub fn role_exists(&self, role: &RoleRef) -> bool {
        match role {
            RoleRef::BuiltIn(_) => true,
            RoleRef::Custom(name) => self.custom_roles.contains_key(name),
        }
    }

    /// Every permission an active member holds through its roles; none for anyone else.
    pub fn permissions_of(&self, user_id: &str) -> BTreeSet<Permission> {
        match self.members.get(user_id) {
            Some(member) if member.is_active() => self
                .definitions(&member.roles)
                .into_iter()
                .flat_map(|role| role.permissions)
                .collect(),
            _ => BTreeSet::new(),
        }
    }

    /// An active owner: who may act as one.
    pub fn is_owner(&self, user_id: &str) -> bool {
        self.members
            .get(user_id)
            .is_some_and(|m| m.is_active() && m.roles.contains(&RoleRef::OWNER))
    }

    /// Holds the owner role, active or suspended: whom only an owner may change.
    pub fn holds_owner_role(&self, user_id: &str) -> bool {
        self.members
            .get(user_id)
            .is_some_and(|m| m.roles.contains(&RoleRef::OWNER))
    }

    /// Active members holding the owner role: a tenant never drops to zero.
    pub fn active_owners(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.is_active() && m.roles.contains(&RoleRef::BuiltIn(BuiltInRole::Owner)))
            .count()
    }

    /// Members holding `role`, active or not.
    pub fn holders(&self, role: &RoleRef) -> usize {
        self.members
            .values()
            .filter(|m| m.roles.contains(role))
            .count()
    }
}
