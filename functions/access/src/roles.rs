//! Roles: the built-in ones and the tenant's custom ones, and the dual-approval setting.

use std::collections::BTreeSet;

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_authz::{Permission, RoleName};
use steward_domain::access::{Change, PolicySnapshot};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};

use crate::Access;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRole {
    name: RoleName,
    permissions: BTreeSet<Permission>,
    #[serde(default)]
    description: Description,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleEdit {
    permissions: BTreeSet<Permission>,
    #[serde(default)]
    description: Description,
}

/// A role's description.
type Description = steward_domain::text::Paragraph<200>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    dual_approval: bool,
}

fn role_name(text: &str) -> Result<RoleName, ApiError> {
    // A built-in role is not a custom role to edit: answered as not found, like any other.
    RoleName::parse(text).map_err(|_| ApiError::NotFound(format!("custom role {text}")))
}

impl Access {
    pub(crate) async fn list_roles(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RolesList).await?;
        let (_, state) = self.load(caller.tenant_id()).await?;
        let snapshot = PolicySnapshot::from(&state);
        let items: Vec<_> = snapshot
            .roles
            .iter()
            .map(|role| {
                json!({
                    "id": role.id,
                    "built_in": role.built_in,
                    "description": role.description,
                    "permissions": role.permissions,
                    "members": role.members.len(),
                })
            })
            .collect();
        api::json(StatusCode::OK, &json!({ "items": items }))
    }

    pub(crate) async fn create_role(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RolesCreate).await?;
        let body: NewRole = request.json()?;
        let change = Change::CreateRole {
            name: body.name,
            permissions: body.permissions,
            description: body.description.into_string(),
        };
        self.make(request, &caller, change).await
    }

    pub(crate) async fn update_role(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RolesUpdate).await?;
        let name = role_name(request.path_param("role")?)?;
        let body: RoleEdit = request.json()?;
        let change = Change::UpdateRole {
            name,
            permissions: body.permissions,
            description: body.description.into_string(),
        };
        self.make(request, &caller, change).await
    }

    pub(crate) async fn delete_role(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RolesDelete).await?;
        let name = role_name(request.path_param("role")?)?;
        self.make(request, &caller, Change::DeleteRole { name })
            .await
    }

    pub(crate) async fn update_settings(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SettingsUpdate)
            .await?;
        let body: Settings = request.json()?;
        let change = Change::SetDualApproval {
            enabled: body.dual_approval,
        };
        self.make(request, &caller, change).await
    }
}
