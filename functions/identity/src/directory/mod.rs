//! Provisioning by the organisation's directory over SCIM 2.0 (RFC 7643/7644), under
//! `/scim/v2/`: the directory creates, reads, lists, replaces, patches and deletes `Users`, the
//! organisation's members. It signs its requests with a bearer token an admin made
//! (`/v1/settings/scim/tokens`); everything it does is audited as `directory`. A user made by
//! it joins with the single sign-on's default role (`member` without one), takes a seat (402
//! when none is left), and signs in through the organisation's provider or, after a password
//! reset, with a password. `active: false` suspends the membership and ends its sessions;
//! deleting removes the membership and frees its seat. `Groups` are the organisation's roles
//! (groups.rs).

mod groups;
mod resources;
mod tokens;

use std::collections::BTreeSet;

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_access::Caller;
use steward_authz::{BuiltInRole, Permission};
use steward_domain::access::{Change, PolicyState, RoleRef};
use steward_domain::digest::TenantToken;
use steward_domain::identity::Email;
use steward_kit::ApiError;
use steward_kit::api::ApiRequest;
use steward_kit::retry::Optimistic;
use steward_store::access::Also;
use steward_store::identity::UserRecord;

use self::resources::{MEDIA_TYPE, ScimError};
use crate::handlers::Identity;
use crate::provisioning::Newcomer;

/// Who the audit log names for what the directory does.
pub(super) const ACTOR: &str = "directory";

/// A SCIM answer: the status and the body, or a SCIM error.
pub(super) type Answer = Result<(StatusCode, Value), ScimError>;

impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        let status = error.status().as_u16();
        if status >= 500 {
            tracing::error!(%error, "a SCIM request failed");
            return ScimError::new(status, None, "Steward could not answer; try again shortly");
        }
        ScimError::new(status, None, error.to_string())
    }
}

/// The answer as SCIM sends it: its own media type, its own error bodies.
pub(super) fn respond(answer: Answer) -> Result<Response<Body>, ApiError> {
    let (status, body) = match answer {
        Ok((status, body)) => (status, Some(body)),
        Err(error) => (
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Some(error.body()),
        ),
    };
    let builder = Response::builder().status(status);
    match body.filter(|_| status != StatusCode::NO_CONTENT) {
        Some(body) => builder
            .header(http::header::CONTENT_TYPE, MEDIA_TYPE)
            .body(Body::Text(body.to_string())),
        None => builder.body(Body::Empty),
    }
    .map_err(ApiError::internal)
}

impl Identity {
    /// The directory a request's bearer token is, if the token is one of its organisation's
    /// and the licence has `sso`: the organisation, as a service acting in it.
    pub(super) async fn directory(&self, request: &ApiRequest) -> Result<Caller, ScimError> {
        let unauthorized = || {
            ScimError::new(
                401,
                None,
                "send the organisation's SCIM token as a bearer token",
            )
        };
        let token = request
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .and_then(|token| TenantToken::parse(token.trim()))
            .ok_or_else(unauthorized)?;
        let known = self
            .directories
            .token(token.tenant_id(), token.id())
            .await
            .map_err(ApiError::from)?
            .filter(|known| known.token_hash == token.hash())
            .ok_or_else(unauthorized)?;
        Ok(self
            .guard
            .allow_service(
                &known.tenant_id,
                ACTOR,
                BuiltInRole::Admin,
                Permission::SsoManage,
            )
            .await?)
    }

    fn scim_base(&self) -> &str {
        &self.public_api_url
    }

    /// A description of the service (`document` at the API's public URL), to a directory with
    /// a token.
    async fn describe(
        &self,
        request: &ApiRequest,
        document: fn(&str) -> Value,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            self.directory(request)
                .await
                .map(|_| (StatusCode::OK, document(self.scim_base()))),
        )
    }

    /// `GET /scim/v2/ServiceProviderConfig`.
    pub(crate) async fn scim_config(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.describe(request, resources::service_provider_config)
            .await
    }

    /// `GET /scim/v2/ResourceTypes`.
    pub(crate) async fn scim_resource_types(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.describe(request, resources::resource_types).await
    }

    /// `GET /scim/v2/Schemas`.
    pub(crate) async fn scim_schemas(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.describe(request, resources::schemas).await
    }

    /// `GET /scim/v2/Users`: every member, or the one `filter=userName eq "…"` names, a page
    /// at a time.
    pub(crate) async fn scim_users(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(self.list_users(request).await)
    }

    async fn list_users(&self, request: &ApiRequest) -> Answer {
        let directory = self.directory(request).await?;
        let query = |name: &str| request.query.get(name).map(String::as_str);
        let (start, count) = resources::paging(query("startIndex"), query("count"))?;
        let members = match query("filter") {
            Some(filter) => {
                let email = resources::user_name_filter(filter)?;
                self.member_by_email(directory.tenant_id(), &email)
                    .await?
                    .into_iter()
                    .collect()
            }
            None => self
                .store
                .members(directory.tenant_id(), 10_000)
                .await
                .map_err(ApiError::from)?,
        };
        let page: Vec<Value> = members
            .iter()
            .skip(start - 1)
            .take(count)
            .map(|user| resources::user(user, self.scim_base()))
            .collect();
        Ok((StatusCode::OK, resources::list(page, members.len(), start)))
    }

    async fn member_by_email(
        &self,
        tenant_id: &str,
        email: &str,
    ) -> Result<Option<UserRecord>, ApiError> {
        let Some(account) = self.store.account_by_email(email).await? else {
            return Ok(None);
        };
        let Some(link) = self
            .store
            .membership_of(&account.account_id, tenant_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(self.store.user(tenant_id, &link.user_id).await?)
    }

    /// The member `{userId}` names in the directory's organisation: 404 otherwise (another
    /// organisation's id included).
    async fn scim_user_of(
        &self,
        request: &ApiRequest,
        directory: &Caller,
    ) -> Result<UserRecord, ScimError> {
        let user_id = request.path_param("userId")?;
        self.store
            .user(directory.tenant_id(), user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ScimError::new(404, None, format!("no user {user_id}")))
    }

    /// `GET /scim/v2/Users/{userId}`.
    pub(crate) async fn scim_user(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let user = self.scim_user_of(request, &directory).await?;
                Ok((StatusCode::OK, resources::user(&user, self.scim_base())))
            }
            .await,
        )
    }

    /// `POST /scim/v2/Users`: a new member (409 `uniqueness` when the address is one already).
    pub(crate) async fn scim_create_user(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(self.create_user(request).await)
    }

    async fn create_user(&self, request: &ApiRequest) -> Answer {
        let directory = self.directory(request).await?;
        let body: Value = request.json()?;
        let input = resources::user_input(&body)?;
        let email = Email::parse(&input.user_name)
            .map_err(|error| ScimError::bad("invalidValue", format!("userName: {error}")))?;
        let default_role = match self
            .sso
            .provider(directory.tenant_id())
            .await
            .map_err(ApiError::from)?
        {
            Some(provider) => provider.default_role,
            None => RoleRef::MEMBER.to_string(),
        };
        let roles = |state: &PolicyState| {
            let role = RoleRef::parse(&default_role)
                .ok()
                .filter(|role| *role != RoleRef::OWNER && state.role_exists(role))
                .unwrap_or(RoleRef::MEMBER);
            BTreeSet::from([role])
        };
        let mut tries = Optimistic::new();
        while tries.next().await {
            // The address's account, read once: a member here already, or the one to join.
            let account = self
                .store
                .account_by_email(email.as_str())
                .await
                .map_err(ApiError::from)?;
            if let Some(account) = &account
                && self
                    .store
                    .membership_of(&account.account_id, directory.tenant_id())
                    .await
                    .map_err(ApiError::from)?
                    .is_some()
            {
                return Err(ScimError::new(
                    409,
                    Some("uniqueness"),
                    format!("{} is a member already", email.as_str()),
                ));
            }
            let newcomer = Newcomer {
                email: &email,
                name: input.display_name.as_deref().unwrap_or(""),
                actor: ACTOR,
                how: json!({ "scim": true }),
            };
            let Some(user) = self
                .first_membership(request, &directory, &newcomer, account.as_ref(), &roles)
                .await?
            else {
                continue;
            };
            let user = if input.active {
                user
            } else {
                self.set_active(request, &directory, user, false).await?
            };
            return Ok((
                StatusCode::CREATED,
                resources::user(&user, self.scim_base()),
            ));
        }
        Err(tries.spent().into())
    }

    /// `PUT /scim/v2/Users/{userId}`: the name shown and whether the member is active (the
    /// address is the account's own: another is 400 `mutability`).
    pub(crate) async fn scim_replace_user(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let user = self.scim_user_of(request, &directory).await?;
                let body: Value = request.json()?;
                let input = resources::user_input(&body)?;
                if input.user_name != user.email {
                    return Err(ScimError::bad(
                        "mutability",
                        "userName is the member's address, which only they change",
                    ));
                }
                let patch = resources::UserPatch {
                    active: Some(input.active),
                    display_name: input.display_name,
                };
                let user = self.apply_patch(request, &directory, user, patch).await?;
                Ok((StatusCode::OK, resources::user(&user, self.scim_base())))
            }
            .await,
        )
    }

    /// `PATCH /scim/v2/Users/{userId}`.
    pub(crate) async fn scim_patch_user(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(
            async {
                let directory = self.directory(request).await?;
                let user = self.scim_user_of(request, &directory).await?;
                let body: Value = request.json()?;
                let patch = resources::user_patch(&body)?;
                let user = self.apply_patch(request, &directory, user, patch).await?;
                Ok((StatusCode::OK, resources::user(&user, self.scim_base())))
            }
            .await,
        )
    }

    async fn apply_patch(
        &self,
        request: &ApiRequest,
        directory: &Caller,
        mut user: UserRecord,
        patch: resources::UserPatch,
    ) -> Result<UserRecord, ScimError> {
        if let Some(name) = patch.display_name.filter(|name| *name != user.name) {
            let audit = self.audit(
                request,
                directory.tenant_id(),
                ACTOR,
                "member.rename",
                &format!("user:{}", user.user_id),
                json!({ "from": user.name, "to": name }),
            );
            if !self
                .store
                .rename_member(directory.tenant_id(), &user.user_id, &name, &audit)
                .await
                .map_err(ApiError::from)?
            {
                return Err(ScimError::new(
                    404,
                    None,
                    format!("no user {}", user.user_id),
                ));
            }
            user.name = name;
        }
        match patch.active {
            Some(active) => self.set_active(request, directory, user, active).await,
            None => Ok(user),
        }
    }

    /// Suspends (ending every session of the membership) or reinstates `user`; nothing when
    /// it is so already. An owner is never the directory's to suspend.
    async fn set_active(
        &self,
        request: &ApiRequest,
        directory: &Caller,
        user: UserRecord,
        active: bool,
    ) -> Result<UserRecord, ScimError> {
        if (user.status == "active") == active {
            return Ok(user);
        }
        let user_id = user.user_id.clone();
        let change = if active {
            Change::ReinstateMember { user_id }
        } else {
            Change::SuspendMember { user_id }
        };
        self.commit_as(
            request,
            directory.tenant_id(),
            ACTOR,
            &change,
            Also::Nothing,
        )
        .await?;
        if !active {
            let now = Timestamp::now().as_second();
            let sessions: Vec<String> = self
                .store
                .sessions(directory.tenant_id(), &user.user_id)
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .filter(|session| session.is_alive(now))
                .map(|session| session.session_id)
                .collect();
            self.store
                .revoke_sessions(directory.tenant_id(), &user.user_id, &sessions, None)
                .await
                .map_err(ApiError::from)?;
        }
        Ok(UserRecord {
            status: if active { "active" } else { "suspended" }.into(),
            ..user
        })
    }

    /// `DELETE /scim/v2/Users/{userId}`: the membership removed, its seat freed; an account
    /// left with no organisation is closed.
    pub(crate) async fn scim_delete_user(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        respond(async {
            let directory = self.directory(request).await?;
            let user = self.scim_user_of(request, &directory).await?;
            let change = Change::RemoveMember {
                user_id: user.user_id.clone(),
            };
            self.commit_as(
                request,
                directory.tenant_id(),
                ACTOR,
                &change,
                Also::Leave { user: &user },
            )
            .await?;
            if !user.account_id.is_empty()
                && let Err(error) = self.store.close_if_orphaned(&user.account_id).await
            {
                tracing::error!(%error, account = %user.account_id, "an account left with no organisation was not closed");
            }
            Ok((StatusCode::NO_CONTENT, Value::Null))
        }
        .await)
    }
}
