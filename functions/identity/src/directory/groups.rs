//! The directory's `Groups` are the organisation's roles (all but `owner`, which people give):
//! a group's members are the members holding its role. The directory lists and reads them,
//! binds one by its role's name (`POST`, 400 for a role the organisation does not have: roles
//! are made in Steward), and adds and removes members, which grants and revokes the role.
//! While the organisation has dual approval on (the default), a grant or revocation by the
//! directory is not applied but asked for: a change request by `directory`, which any admin
//! approves or rejects as any other; asking again for the same change makes no second one.

use std::collections::{BTreeMap, BTreeSet};

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_access::Caller;
use steward_authz::BuiltInRole;
use steward_domain::access::{Change, PolicyState, RoleRef};
use steward_kit::ApiError;
use steward_kit::api::ApiRequest;
use steward_store::identity::UserRecord;

use super::resources::{self, ScimError};
use super::{ACTOR, Answer, respond};
use crate::handlers::Identity;

/// Whether `role` may be a directory's group: any of the organisation's roles but owner.
fn groupable(role: &RoleRef, state: &PolicyState) -> bool {
    *role != RoleRef::OWNER
        && *role != RoleRef::BuiltIn(BuiltInRole::Operator)
        && state.role_exists(role)
}

/// Every group of the organisation: its built-in tenant roles but owner, and its custom ones.
fn groups(state: &PolicyState) -> Vec<RoleRef> {
    BuiltInRole::ALL
        .iter()
        .map(|role| RoleRef::BuiltIn(*role))
        .chain(state.custom_roles.keys().cloned().map(RoleRef::Custom))
        .filter(|role| groupable(role, state))
        .collect()
}

impl Identity {
    /// The organisation's policy state: its roles and who holds them.
    async fn policy(&self, tenant_id: &str) -> Result<PolicyState, ApiError> {
        let (_, state) = self
            .access
            .load(tenant_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(state)
    }

    /// The organisation's policy state and its users by id.
    async fn roster(
        &self,
        tenant_id: &str,
    ) -> Result<(PolicyState, BTreeMap<String, UserRecord>), ApiError> {
        let state = self.policy(tenant_id).await?;
        let users = self
            .store
            .members(tenant_id, 10_000)
            .await?
            .into_iter()
            .map(|user| (user.user_id.clone(), user))
            .collect();
        Ok((state, users))
    }

    fn group_view(
        &self,
        role: &RoleRef,
        state: &PolicyState,
        users: &BTreeMap<String, UserRecord>,
    ) -> Value {
        let holders: Vec<&UserRecord> = state
            .members
            .iter()
            .filter(|(_, member)| member.roles.contains(role))
            .filter_map(|(user_id, _)| users.get(user_id))
            .collect();
        resources::group(role.as_str(), &holders, &self.public_api_url)
    }

    /// The group `{groupId}` names: 404 for a name that is no groupable role here.
    fn group_of(request: &ApiRequest, state: &PolicyState) -> Result<RoleRef, ScimError> {
        let name = request.path_param("groupId")?;
        RoleRef::parse(name)
            .ok()
            .filter(|role| groupable(role, state))
            .ok_or_else(|| ScimError::new(404, None, format!("no group {name}")))
    }

    /// `GET /scim/v2/Groups`.
    pub(crate) async fn scim_groups(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let query = |name: &str| request.query.get(name).map(String::as_str);
                let (start, count) = resources::paging(query("startIndex"), query("count"))?;
                let (state, users) = self.roster(directory.tenant_id()).await?;
                let mut all = groups(&state);
                if let Some(filter) = query("filter") {
                    let name = resources::display_name_filter(filter)?;
                    all.retain(|role| role.as_str() == name);
                }
                let page = all
                    .iter()
                    .skip(start - 1)
                    .take(count)
                    .map(|role| self.group_view(role, &state, &users))
                    .collect();
                Ok((StatusCode::OK, resources::list(page, all.len(), start)))
            }
            .await,
        )
    }

    /// `GET /scim/v2/Groups/{groupId}`.
    pub(crate) async fn scim_group(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let (state, users) = self.roster(directory.tenant_id()).await?;
                let role = Self::group_of(request, &state)?;
                Ok((StatusCode::OK, self.group_view(&role, &state, &users)))
            }
            .await,
        )
    }

    /// `POST /scim/v2/Groups`: binds the directory's group to the role of its `displayName`
    /// (201), with the members it names.
    pub(crate) async fn scim_create_group(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(async {
            let directory = self.directory(request).await?;
            let body: Value = request.json()?;
            let name = body["displayName"].as_str().unwrap_or("");
            let state = self.policy(directory.tenant_id()).await?;
            let role = RoleRef::parse(name).ok().filter(|role| groupable(role, &state)).ok_or_else(|| {
                ScimError::bad(
                    "invalidValue",
                    format!("no role {name:?} to be this group: roles are made in Steward, and owner is never a group"),
                )
            })?;
            let change = resources::MembersChange {
                add: match body.get("members") {
                    Some(members) => resources::group_patch(&json!({
                        "schemas": [resources::PATCH_OP],
                        "Operations": [{ "op": "add", "path": "members", "value": members }],
                    }))?
                    .add,
                    None => Vec::new(),
                },
                ..Default::default()
            };
            self.change_members(request, &directory, &role, change).await
                .map(|(_, group)| (StatusCode::CREATED, group))
        }
        .await)
    }

    /// `PATCH /scim/v2/Groups/{groupId}`.
    pub(crate) async fn scim_patch_group(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let state = self.policy(directory.tenant_id()).await?;
                let role = Self::group_of(request, &state)?;
                let body: Value = request.json()?;
                let change = resources::group_patch(&body)?;
                self.change_members(request, &directory, &role, change)
                    .await
            }
            .await,
        )
    }

    /// `PUT /scim/v2/Groups/{groupId}`: its members replaced.
    pub(crate) async fn scim_replace_group(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let state = self.policy(directory.tenant_id()).await?;
                let role = Self::group_of(request, &state)?;
                let body: Value = request.json()?;
                if body["displayName"]
                    .as_str()
                    .is_some_and(|name| name != role.as_str())
                {
                    return Err(ScimError::bad("mutability", "a group's name is its role's"));
                }
                let members = body.get("members").cloned().unwrap_or(json!([]));
                let change = resources::group_patch(&json!({
                    "schemas": [resources::PATCH_OP],
                    "Operations": [{ "op": "replace", "path": "members", "value": members }],
                }))?;
                self.change_members(request, &directory, &role, change)
                    .await
            }
            .await,
        )
    }

    /// `DELETE /scim/v2/Groups/{groupId}`: refused; a role is the organisation's.
    pub(crate) async fn scim_delete_group(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let state = self.policy(directory.tenant_id()).await?;
                let role = Self::group_of(request, &state)?;
                Err(ScimError::bad(
                    "mutability",
                    format!(
                        "{role} is the organisation's role: remove the group's members instead"
                    ),
                ))
            }
            .await,
        )
    }

    /// Grants `role` to the members `change` adds and revokes it from those it removes (each
    /// a change of its own, or under dual approval a change request), then answers the group
    /// as it is.
    async fn change_members(
        &self,
        request: &ApiRequest,
        directory: &Caller,
        role: &RoleRef,
        change: resources::MembersChange,
    ) -> Answer {
        let tenant_id = directory.tenant_id();
        let (state, users) = self.roster(tenant_id).await?;
        let holders: BTreeSet<String> = state
            .members
            .iter()
            .filter(|(_, member)| member.roles.contains(role))
            .map(|(user_id, _)| user_id.clone())
            .collect();
        let (add, remove): (BTreeSet<String>, BTreeSet<String>) = match change.replace {
            Some(wanted) => {
                let wanted: BTreeSet<String> = wanted.into_iter().collect();
                (
                    wanted.difference(&holders).cloned().collect(),
                    holders.difference(&wanted).cloned().collect(),
                )
            }
            None => (
                change
                    .add
                    .into_iter()
                    .filter(|id| !holders.contains(id))
                    .collect(),
                change
                    .remove
                    .into_iter()
                    .filter(|id| holders.contains(id))
                    .collect(),
            ),
        };
        if let Some(unknown) = add.iter().find(|id| !users.contains_key(*id)) {
            return Err(ScimError::bad("invalidValue", format!("no user {unknown}")));
        }
        let changes: Vec<Change> = add
            .into_iter()
            .map(|user_id| Change::GrantRole {
                user_id,
                role: role.clone(),
            })
            .chain(remove.into_iter().map(|user_id| Change::RevokeRole {
                user_id,
                role: role.clone(),
            }))
            .collect();
        // All of them or none: one that cannot be made (a member's last role) refuses the
        // request before any is.
        let mut preview = state.clone();
        for change in &changes {
            change
                .apply(&mut preview)
                .map_err(|error| ScimError::new(409, None, error.to_string()))?;
        }
        // Read again only when a change was committed: a request asked for changes nothing.
        let committed = !state.dual_approval && !changes.is_empty();
        self.change_roles_as(request, tenant_id, ACTOR, &state, changes)
            .await?;
        let (state, users) = if committed {
            self.roster(tenant_id).await?
        } else {
            (state, users)
        };
        Ok((StatusCode::OK, self.group_view(role, &state, &users)))
    }
}
