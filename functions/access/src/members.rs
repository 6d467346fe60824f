//! Members: list, read, suspend, reinstate, remove, and their role grants.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use steward_authz::Permission;
use steward_domain::access::Change;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::identity::UserRecord;

use crate::Access;
use crate::mutate::role;

#[derive(Debug, Serialize)]
pub(crate) struct MemberView<'a> {
    user_id: &'a str,
    email: &'a str,
    name: &'a str,
    roles: &'a [String],
    status: &'a str,
    created_at: &'a str,
}

impl<'a> From<&'a UserRecord> for MemberView<'a> {
    fn from(user: &'a UserRecord) -> Self {
        Self {
            user_id: &user.user_id,
            email: &user.email,
            name: &user.name,
            roles: &user.roles,
            status: &user.status,
            created_at: &user.created_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    role: String,
}

impl Access {
    pub(crate) async fn list_members(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MembersList).await?;
        self.list(
            request,
            caller.tenant_id(),
            "members",
            "USER#",
            |user: &UserRecord| serde_json::json!(MemberView::from(user)),
        )
        .await
    }

    pub(crate) async fn member(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MembersList).await?;
        let user_id = request.path_param("userId")?;
        let user = self
            .identity
            .user(caller.tenant_id(), user_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("member {user_id}")))?;
        api::json(StatusCode::OK, &MemberView::from(&user))
    }

    pub(crate) async fn suspend(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::MembersSuspend)
            .await?;
        let user_id = request.path_param("userId")?.to_owned();
        self.make(request, &caller, Change::SuspendMember { user_id })
            .await
    }

    pub(crate) async fn reinstate(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::MembersSuspend)
            .await?;
        let user_id = request.path_param("userId")?.to_owned();
        self.make(request, &caller, Change::ReinstateMember { user_id })
            .await
    }

    pub(crate) async fn remove(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MembersRemove).await?;
        let user_id = request.path_param("userId")?.to_owned();
        self.make(request, &caller, Change::RemoveMember { user_id })
            .await
    }

    pub(crate) async fn grant(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::GrantsCreate).await?;
        let user_id = request.path_param("userId")?.to_owned();
        let body: Grant = request.json()?;
        let role = role("role", &body.role)?;
        self.make(request, &caller, Change::GrantRole { user_id, role })
            .await
    }

    pub(crate) async fn revoke(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::GrantsRevoke).await?;
        let user_id = request.path_param("userId")?.to_owned();
        let role = role("role", request.path_param("role")?)?;
        self.make(request, &caller, Change::RevokeRole { user_id, role })
            .await
    }
}
