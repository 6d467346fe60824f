//! The changes an admin makes to a tenant's access, the invariants each must keep, and which
//! of them need a second admin's approval.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use steward_authz::{Permission, RoleName};

use super::{CustomRole, Member, MemberStatus, PolicyState, RoleRef};

/// One change to a tenant's access. Stored as is in a change request, so it is applied exactly
/// as it was approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    GrantRole {
        user_id: String,
        role: RoleRef,
    },
    RevokeRole {
        user_id: String,
        role: RoleRef,
    },
    CreateRole {
        name: RoleName,
        permissions: BTreeSet<Permission>,
        #[serde(default)]
        description: String,
    },
    UpdateRole {
        name: RoleName,
        permissions: BTreeSet<Permission>,
        #[serde(default)]
        description: String,
    },
    DeleteRole {
        name: RoleName,
    },
    SetDualApproval {
        enabled: bool,
    },
    AddMember {
        user_id: String,
        roles: BTreeSet<RoleRef>,
    },
    SuspendMember {
        user_id: String,
    },
    ReinstateMember {
        user_id: String,
    },
    RemoveMember {
        user_id: String,
    },
}

/// Why a change cannot be made. Each names what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("no member {0} in this tenant")]
    UnknownMember(String),
    #[error("no role {0} in this tenant")]
    UnknownRole(String),
    #[error("member {user_id} already holds {role}")]
    AlreadyGranted { user_id: String, role: String },
    #[error("member {user_id} does not hold {role}")]
    NotGranted { user_id: String, role: String },
    #[error("a member keeps at least one role; remove the member instead")]
    LastRole,
    #[error("the tenant must keep at least one active owner")]
    LastOwner,
    #[error("a role named {0} exists already")]
    RoleExists(String),
    #[error("role {role} is held by {members} member(s); revoke it from them first")]
    RoleInUse { role: String, members: usize },
    #[error("a tenant has at most {0} custom roles")]
    TooManyRoles(usize),
    #[error("a role grants at least one permission")]
    NoPermissions,
    #[error("you cannot grant {0}, which you do not hold yourself")]
    Escalation(Permission),
    #[error(
        "only an owner can grant, revoke or invite the owner role, or suspend, reinstate or remove an owner"
    )]
    OwnerOnly,
    #[error("you cannot suspend or remove yourself")]
    OwnSelf,
    #[error("nothing would change: {0}")]
    Unchanged(&'static str),
}

impl Change {
    /// The permission an actor needs to make (or request) this change.
    pub fn permission(&self) -> Permission {
        match self {
            Self::GrantRole { .. } => Permission::GrantsCreate,
            Self::RevokeRole { .. } => Permission::GrantsRevoke,
            Self::CreateRole { .. } => Permission::RolesCreate,
            Self::UpdateRole { .. } => Permission::RolesUpdate,
            Self::DeleteRole { .. } => Permission::RolesDelete,
            Self::SetDualApproval { .. } => Permission::SettingsUpdate,
            Self::AddMember { .. } => Permission::InvitationsCreate,
            Self::SuspendMember { .. } | Self::ReinstateMember { .. } => Permission::MembersSuspend,
            Self::RemoveMember { .. } => Permission::MembersRemove,
        }
    }

    /// The audit log's name for this change.
    pub fn action(&self) -> &'static str {
        match self {
            Self::GrantRole { .. } => "role.grant",
            Self::RevokeRole { .. } => "role.revoke",
            Self::CreateRole { .. } => "role.create",
            Self::UpdateRole { .. } => "role.update",
            Self::DeleteRole { .. } => "role.delete",
            Self::SetDualApproval { .. } => "settings.dual_approval",
            Self::AddMember { .. } => "member.add",
            Self::SuspendMember { .. } => "member.suspend",
            Self::ReinstateMember { .. } => "member.reinstate",
            Self::RemoveMember { .. } => "member.remove",
        }
    }

    /// What the change is made to, as the audit log's target.
    pub fn target(&self) -> String {
        match self {
            Self::GrantRole { user_id, .. }
            | Self::RevokeRole { user_id, .. }
            | Self::AddMember { user_id, .. }
            | Self::SuspendMember { user_id }
            | Self::ReinstateMember { user_id }
            | Self::RemoveMember { user_id } => format!("user:{user_id}"),
            Self::CreateRole { name, .. }
            | Self::UpdateRole { name, .. }
            | Self::DeleteRole { name } => format!("role:{name}"),
            Self::SetDualApproval { .. } => "tenant:settings".into(),
        }
    }

    /// The member whose record the change rewrites, if any.
    pub fn member(&self) -> Option<&str> {
        match self {
            Self::GrantRole { user_id, .. }
            | Self::RevokeRole { user_id, .. }
            | Self::AddMember { user_id, .. }
            | Self::SuspendMember { user_id }
            | Self::ReinstateMember { user_id }
            | Self::RemoveMember { user_id } => Some(user_id),
            _ => None,
        }
    }

    /// Whether, in `state`, this change waits for a second admin (SPEC §B): role grants and
    /// revocations, custom-role edits, and turning dual approval off, while dual approval is on.
    pub fn needs_approval(&self, state: &PolicyState) -> bool {
        state.dual_approval
            && matches!(
                self,
                Self::GrantRole { .. }
                    | Self::RevokeRole { .. }
                    | Self::CreateRole { .. }
                    | Self::UpdateRole { .. }
                    | Self::DeleteRole { .. }
                    | Self::SetDualApproval { enabled: false }
            )
    }

    /// Whether `actor` may make this change in `state`, beyond holding [`Self::permission`]
    /// (which Cedar checks): nobody hands out a permission they do not hold, only an (active)
    /// owner makes or unmakes owners and suspends, reinstates or removes a member who holds the
    /// owner role (suspended or not), and nobody suspends or removes themselves.
    pub fn authorised_for(&self, actor: &str, state: &PolicyState) -> Result<(), ChangeError> {
        let held = state.permissions_of(actor);
        let covers = |granted: &BTreeSet<Permission>| match granted.difference(&held).next() {
            Some(&missing) => Err(ChangeError::Escalation(missing)),
            None => Ok(()),
        };
        let role_permissions = |role: &RoleRef| {
            state
                .definition(role)
                .map(|d| d.permissions)
                .ok_or_else(|| ChangeError::UnknownRole(role.to_string()))
        };
        let owner_concerned = match self {
            Self::GrantRole { role, .. } | Self::RevokeRole { role, .. } => *role == RoleRef::OWNER,
            Self::AddMember { roles, .. } => roles.contains(&RoleRef::OWNER),
            Self::SuspendMember { user_id }
            | Self::ReinstateMember { user_id }
            | Self::RemoveMember { user_id } => state.holds_owner_role(user_id),
            _ => false,
        };
        if let Self::SuspendMember { user_id } | Self::RemoveMember { user_id } = self
            && user_id == actor
        {
            return Err(ChangeError::OwnSelf);
        }
        if owner_concerned && !state.is_owner(actor) {
            return Err(ChangeError::OwnerOnly);
        }
        match self {
            Self::GrantRole { role, .. } | Self::RevokeRole { role, .. } => {
                covers(&role_permissions(role)?)
            }
            Self::AddMember { roles, .. } => roles
                .iter()
                .try_for_each(|role| covers(&role_permissions(role)?)),
            Self::CreateRole { permissions, .. } | Self::UpdateRole { permissions, .. } => {
                covers(permissions)
            }
            _ => Ok(()),
        }
    }

    /// The state after this change, at the version after `state`'s: what a commit writes.
    pub fn next_state(&self, state: &PolicyState) -> Result<PolicyState, ChangeError> {
        let mut next = state.clone();
        self.apply(&mut next)?;
        next.version = state.version + 1;
        Ok(next)
    }

    /// Applies the change to `state` if it keeps every invariant; `state` is untouched on error.
    /// The version is the store's to bump.
    pub fn apply(&self, state: &mut PolicyState) -> Result<(), ChangeError> {
        let mut next = state.clone();
        self.apply_to(&mut next)?;
        // A tenant keeps its last active owner. The platform's tenant never had one (its
        // members are operators), and is not held to it.
        if next.active_owners() == 0 && state.active_owners() > 0 {
            return Err(ChangeError::LastOwner);
        }
        *state = next;
        Ok(())
    }

    fn apply_to(&self, state: &mut PolicyState) -> Result<(), ChangeError> {
        fn member<'a>(
            state: &'a mut PolicyState,
            user_id: &str,
        ) -> Result<&'a mut Member, ChangeError> {
            state
                .members
                .get_mut(user_id)
                .ok_or_else(|| ChangeError::UnknownMember(user_id.to_owned()))
        }
        let known_role = |state: &PolicyState, role: &RoleRef| {
            if state.role_exists(role) {
                Ok(())
            } else {
                Err(ChangeError::UnknownRole(role.to_string()))
            }
        };
        match self {
            Self::GrantRole { user_id, role } => {
                known_role(state, role)?;
                if !member(state, user_id)?.roles.insert(role.clone()) {
                    return Err(ChangeError::AlreadyGranted {
                        user_id: user_id.clone(),
                        role: role.to_string(),
                    });
                }
            }
            Self::RevokeRole { user_id, role } => {
                let member = member(state, user_id)?;
                if !member.roles.contains(role) {
                    return Err(ChangeError::NotGranted {
                        user_id: user_id.clone(),
                        role: role.to_string(),
                    });
                }
                if member.roles.len() == 1 {
                    return Err(ChangeError::LastRole);
                }
                member.roles.remove(role);
            }
            Self::CreateRole {
                name,
                permissions,
                description,
            } => {
                if permissions.is_empty() {
                    return Err(ChangeError::NoPermissions);
                }
                if state.custom_roles.contains_key(name) {
                    return Err(ChangeError::RoleExists(name.to_string()));
                }
                if state.custom_roles.len() >= PolicyState::MAX_CUSTOM_ROLES {
                    return Err(ChangeError::TooManyRoles(PolicyState::MAX_CUSTOM_ROLES));
                }
                state.custom_roles.insert(
                    name.clone(),
                    CustomRole {
                        permissions: permissions.clone(),
                        description: description.clone(),
                    },
                );
            }
            Self::UpdateRole {
                name,
                permissions,
                description,
            } => {
                if permissions.is_empty() {
                    return Err(ChangeError::NoPermissions);
                }
                let role = state
                    .custom_roles
                    .get_mut(name)
                    .ok_or_else(|| ChangeError::UnknownRole(name.to_string()))?;
                if role.permissions == *permissions && role.description == *description {
                    return Err(ChangeError::Unchanged(
                        "the role has these permissions already",
                    ));
                }
                role.permissions = permissions.clone();
                role.description = description.clone();
            }
            Self::DeleteRole { name } => {
                let role = RoleRef::Custom(name.clone());
                known_role(state, &role)?;
                let members = state.holders(&role);
                if members > 0 {
                    return Err(ChangeError::RoleInUse {
                        role: name.to_string(),
                        members,
                    });
                }
                state.custom_roles.remove(name);
            }
            Self::SetDualApproval { enabled } => {
                if state.dual_approval == *enabled {
                    return Err(ChangeError::Unchanged("dual approval is already so"));
                }
                state.dual_approval = *enabled;
            }
            Self::AddMember { user_id, roles } => {
                if roles.is_empty() {
                    return Err(ChangeError::LastRole);
                }
                for role in roles {
                    known_role(state, role)?;
                }
                state.members.insert(
                    user_id.clone(),
                    Member {
                        roles: roles.clone(),
                        status: MemberStatus::Active,
                    },
                );
            }
            Self::SuspendMember { user_id } => {
                let member = member(state, user_id)?;
                if !member.is_active() {
                    return Err(ChangeError::Unchanged("the member is already suspended"));
                }
                member.status = MemberStatus::Suspended;
            }
            Self::ReinstateMember { user_id } => {
                let member = member(state, user_id)?;
                if member.is_active() {
                    return Err(ChangeError::Unchanged("the member is active"));
                }
                member.status = MemberStatus::Active;
            }
            Self::RemoveMember { user_id } => {
                member(state, user_id)?;
                state.members.remove(user_id);
            }
        }
        Ok(())
    }
}
