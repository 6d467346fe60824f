//! The policy snapshot (SPEC §B): a tenant's effective roles → permissions → active members at
//! one version, and the diff between two of them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use steward_authz::{Permission, built_in_roles};

use super::{PolicyState, RoleRef};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRole {
    pub id: String,
    pub built_in: bool,
    #[serde(default)]
    pub description: String,
    pub permissions: BTreeSet<Permission>,
    /// The active members holding the role: a suspended member holds nothing in effect.
    pub members: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySnapshot {
    pub version: u64,
    pub dual_approval: bool,
    /// Built-in roles first, then custom roles by name.
    pub roles: Vec<SnapshotRole>,
}

/// What changed from one snapshot to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDiff {
    pub from: u64,
    pub to: u64,
    /// `Some(new value)` when the dual-approval setting changed.
    pub dual_approval: Option<bool>,
    pub roles_added: Vec<SnapshotRole>,
    pub roles_removed: Vec<String>,
    pub roles_changed: Vec<RoleDiff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDiff {
    pub id: String,
    pub permissions_added: BTreeSet<Permission>,
    pub permissions_removed: BTreeSet<Permission>,
    pub members_added: BTreeSet<String>,
    pub members_removed: BTreeSet<String>,
}

/// One role a change touches, as it is and as it would be (`None`: it does not exist then): a
/// change request's effect, side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleSides {
    pub id: String,
    pub before: Option<SnapshotRole>,
    pub after: Option<SnapshotRole>,
}

impl RoleDiff {
    fn is_empty(&self) -> bool {
        self.permissions_added.is_empty()
            && self.permissions_removed.is_empty()
            && self.members_added.is_empty()
            && self.members_removed.is_empty()
    }
}

impl From<&PolicyState> for PolicySnapshot {
    fn from(state: &PolicyState) -> Self {
        let members_of = |role: &RoleRef| -> BTreeSet<String> {
            state
                .members
                .iter()
                .filter(|(_, m)| m.is_active() && m.roles.contains(role))
                .map(|(id, _)| id.clone())
                .collect()
        };
        let built_in = built_in_roles().into_iter().map(|definition| {
            let role = RoleRef::parse(&definition.id).expect("built-in names parse");
            SnapshotRole {
                members: members_of(&role),
                id: definition.id,
                built_in: true,
                description: String::new(),
                permissions: definition.permissions,
            }
        });
        let custom = state
            .custom_roles
            .iter()
            .map(|(name, custom)| SnapshotRole {
                id: name.to_string(),
                built_in: false,
                description: custom.description.clone(),
                permissions: custom.permissions.clone(),
                members: members_of(&RoleRef::Custom(name.clone())),
            });
        Self {
            version: state.version,
            dual_approval: state.dual_approval,
            roles: built_in.chain(custom).collect(),
        }
    }
}

impl PolicySnapshot {
    /// Each role [`Self::diff`] names, as `self` and `to` hold it.
    pub fn sides(&self, to: &PolicySnapshot) -> Vec<RoleSides> {
        let diff = self.diff(to);
        let find = |snapshot: &PolicySnapshot, id: &str| {
            snapshot.roles.iter().find(|role| role.id == id).cloned()
        };
        diff.roles_changed
            .iter()
            .map(|role| role.id.clone())
            .chain(diff.roles_added.iter().map(|role| role.id.clone()))
            .chain(diff.roles_removed.iter().cloned())
            .map(|id| RoleSides {
                before: find(self, &id),
                after: find(to, &id),
                id,
            })
            .collect()
    }

    /// What changed from `self` to `to` (either may be the older).
    pub fn diff(&self, to: &PolicySnapshot) -> PolicyDiff {
        let old: BTreeMap<&str, &SnapshotRole> =
            self.roles.iter().map(|r| (r.id.as_str(), r)).collect();
        let new: BTreeMap<&str, &SnapshotRole> =
            to.roles.iter().map(|r| (r.id.as_str(), r)).collect();
        let roles_added = to
            .roles
            .iter()
            .filter(|r| !old.contains_key(r.id.as_str()))
            .cloned()
            .collect();
        let roles_removed = self
            .roles
            .iter()
            .filter(|r| !new.contains_key(r.id.as_str()))
            .map(|r| r.id.clone())
            .collect();
        let roles_changed = to
            .roles
            .iter()
            .filter_map(|after| {
                let before = old.get(after.id.as_str())?;
                let diff = RoleDiff {
                    id: after.id.clone(),
                    permissions_added: &after.permissions - &before.permissions,
                    permissions_removed: &before.permissions - &after.permissions,
                    members_added: &after.members - &before.members,
                    members_removed: &before.members - &after.members,
                };
                (!diff.is_empty()).then_some(diff)
            })
            .collect();
        PolicyDiff {
            from: self.version,
            to: to.version,
            dual_approval: (self.dual_approval != to.dual_approval).then_some(to.dual_approval),
            roles_added,
            roles_removed,
            roles_changed,
        }
    }
}
