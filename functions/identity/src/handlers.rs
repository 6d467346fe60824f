//! The routes of the identity function.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use steward_access::{Auditor, Guard, Record, new_id};
use steward_authz::Permission;
use steward_domain::identity::hashing::{self, PasswordHashString};
use steward_domain::identity::tokens::{ACCESS_TTL_SECONDS, AccessTokens, RefreshToken};
use steward_domain::identity::{Password, PasswordError};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, Principal, Replayable};
use steward_kit::retry::Optimistic;
use steward_store::access::AccessStore;
use steward_store::account_mail::AccountMailQueue;
use steward_store::accounts::AccountRecord;
use steward_store::audit::AuditEntry;
use steward_store::identity::{
    IdentityStore, OpenedFor, Rotation, SessionRecord, SignedIn, UserRecord,
};
use steward_store::recovery::RecoveryStore;

use crate::keys::Keys;
use crate::throttle::Limits;
use steward_kit::api::no_content;

/// How long a session (a refresh-token family) lives without signing in again.
const SESSION_DAYS: i64 = 30;
pub struct Identity {
    pub(crate) store: IdentityStore,
    pub(crate) access: AccessStore,
    pub(crate) guard: Guard,
    pub(crate) auditor: Auditor,
    pub(crate) tokens: AccessTokens,
    pub(crate) keys: Keys,
    pub(crate) limits: Limits,
    pub(crate) recovery: RecoveryStore,
    pub(crate) signups: steward_store::signup::SignUpStore,
    pub(crate) email_changes: steward_store::email_change::EmailChangeStore,
    pub(crate) account_mail: AccountMailQueue,
    pub(crate) sso: steward_store::single_sign_on::SingleSignOnStore,
    pub(crate) directories: steward_store::directory::DirectoryStore,
    pub(crate) providers: crate::single_sign_on::provider::Providers,
    /// PUBLIC_API_URL without its trailing slash; empty where it is not set.
    pub(crate) public_api_url: String,
    /// APP_BASE_URL without its trailing slash; empty where no web app is deployed.
    pub(crate) app_base_url: String,
    /// CHANGE_REQUEST_TTL_SECONDS: how long a change the directory asks for can be approved.
    pub(crate) change_request_ttl_seconds: i64,
    /// AUTO_PROVISION_ENABLED: a new tenant starts on a trial licence.
    pub(crate) auto_provision: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refresh {
    /// None: the request's cookie (refresh_cookie).
    refresh_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: Password,
    new_password: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Tokens {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
}

#[derive(Debug, Serialize)]
struct Me<'a> {
    user_id: &'a str,
    tenant_id: &'a str,
    account_id: &'a str,
    email: &'a str,
    name: &'a str,
    roles: &'a [String],
    status: &'a str,
    session_id: &'a str,
    memberships: Vec<crate::accounts::MembershipView>,
    second_factor: SecondFactorView,
    /// What the caller may do here now (roles, licence features and status): what a client
    /// shows; each request is still decided on its own.
    permissions: Vec<Permission>,
}

/// The caller's second factor, as `GET /v1/me` shows it.
#[derive(Debug, Serialize)]
struct SecondFactorView {
    enabled: bool,
    recovery_codes_left: usize,
    /// Whether this session was opened with it.
    this_session: bool,
}

/// A display name or a tenant name: trimmed, 1 to 100 characters.
pub(crate) fn name(field: &str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::validation(field, "must be 1 to 100 characters"));
    }
    steward_domain::text::check(text, 100, false)
        .map_err(|error| ApiError::validation(field, error.to_string()))?;
    Ok(text.to_owned())
}

/// Refuses `presented` unless it is the account's password (a change of password or of
/// address asks for it again).
pub(crate) fn current_password(
    account: &AccountRecord,
    presented: &Password,
) -> Result<(), ApiError> {
    let stored = PasswordHashString::from_stored(account.password_hash.clone());
    if hashing::verify(presented, &stored) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "current_password",
            "is not the current password",
        ))
    }
}

pub(crate) fn new_password(
    field: &str,
    text: &str,
    personal: &[&str],
) -> Result<Password, ApiError> {
    Password::new(text, personal)
        .map_err(|error: PasswordError| ApiError::validation(field, error.to_string()))
}

impl Identity {
    pub(crate) fn audit(
        &self,
        request: &ApiRequest,
        tenant_id: &str,
        actor: &str,
        action: &str,
        target: &str,
        after: Value,
    ) -> AuditEntry {
        self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor,
                action,
                target,
                before: Value::Null,
                after,
            },
        )
    }

    /// A session for `user`, not yet stored, and its refresh token.
    pub(crate) fn prepare_session(
        &self,
        request: &ApiRequest,
        user: &UserRecord,
        now: Timestamp,
    ) -> (SessionRecord, RefreshToken) {
        let session_id = new_id("ses");
        let refresh = RefreshToken::new(
            &user.tenant_id,
            &user.user_id,
            &session_id,
            &steward_access::new_secret(),
        );
        let (pk, sk) = SessionRecord::key(&user.tenant_id, &user.user_id, &session_id);
        let user_agent: String = request
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        let session = SessionRecord {
            pk,
            sk,
            session_id,
            tenant_id: user.tenant_id.clone(),
            user_id: user.user_id.clone(),
            created_at: now.to_string(),
            refreshed_at: now.to_string(),
            status: "active".into(),
            refresh_hash: refresh.hash(),
            rotated: Vec::new(),
            user_agent,
            expires_at: now.as_second() + SESSION_DAYS * 86_400,
            second_factor: false,
        };
        (session, refresh)
    }

    /// A session for `user` signing in (audited as one), opened with a `second_factor` or
    /// not, with what the sign-in leaves (the throttle's [`SignedIn`]) in the same write, if the
    /// account's password is still the one `proven` (its id, and when it was set); its first
    /// tokens. A password changed since is 401, as a wrong one.
    pub(crate) async fn open_session(
        &self,
        request: &ApiRequest,
        user: &UserRecord,
        second_factor: bool,
        signed_in: Option<SignedIn<'_>>,
        opened: OpenedFor<'_>,
    ) -> Result<Tokens, ApiError> {
        let now = Timestamp::now();
        let (mut session, refresh) = self.prepare_session(request, user, now);
        session.second_factor = second_factor;
        let audit = self.audit(
            request,
            &user.tenant_id,
            &user.user_id,
            "session.create",
            &format!("session:{}", session.session_id),
            json!({ "session_id": session.session_id }),
        );
        if !self
            .store
            .create_session(&session, Some(&audit), signed_in, Some(opened))
            .await?
        {
            return Err(ApiError::InvalidCredentials);
        }
        Ok(self.tokens_for(user, &session.session_id, refresh, now))
    }

    pub(crate) fn tokens_for(
        &self,
        user: &UserRecord,
        session_id: &str,
        refresh: RefreshToken,
        now: Timestamp,
    ) -> Tokens {
        Tokens {
            access_token: self.tokens.issue(
                &user.user_id,
                &user.tenant_id,
                session_id,
                now.as_second(),
                &new_id("jti"),
            ),
            token_type: "Bearer",
            expires_in: ACCESS_TTL_SECONDS,
            refresh_token: refresh.expose(),
        }
    }

    async fn refresh(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let body: Refresh = request.json()?;
        let token = body
            .refresh_token
            .or_else(|| crate::refresh_cookie::presented(request))
            .ok_or(ApiError::Unauthorized)?;
        let presented = RefreshToken::parse(&token).ok_or(ApiError::Unauthorized)?;
        // A removed or suspended member's session rotates no more: checked first, so that a
        // refused refresh changes nothing.
        let user = self
            .store
            .user(presented.tenant_id(), presented.user_id())
            .await?
            .filter(|user| user.status == "active")
            .ok_or(ApiError::Unauthorized)?;
        let now = Timestamp::now();
        let next = RefreshToken::new(
            presented.tenant_id(),
            presented.user_id(),
            presented.session_id(),
            &steward_access::new_secret(),
        );
        let reuse_audit = self.audit(
            request,
            presented.tenant_id(),
            "system",
            "session.revoke_family",
            &format!("session:{}", presented.session_id()),
            json!({ "reason": "a rotated refresh token was presented again" }),
        );
        let rotation = self
            .store
            .rotate(
                presented.tenant_id(),
                presented.user_id(),
                presented.session_id(),
                &presented.hash(),
                &next.hash(),
                now.as_second(),
                &now.to_string(),
                &self.audit(
                    request,
                    presented.tenant_id(),
                    presented.user_id(),
                    "session.refresh",
                    &format!("session:{}", presented.session_id()),
                    json!({ "rotated": true }),
                ),
                &reuse_audit,
            )
            .await?;
        match rotation {
            Rotation::Rotated => api::json(
                StatusCode::OK,
                &self.tokens_for(&user, presented.session_id(), next, now),
            ),
            Rotation::ReuseDetected => {
                tracing::warn!(
                    session = presented.session_id(),
                    "refresh token reused: session family revoked"
                );
                Err(ApiError::Unauthorized)
            }
            Rotation::Refused => Err(ApiError::Unauthorized),
        }
    }

    async fn revoke(
        &self,
        request: &ApiRequest,
        principal: &Principal,
        session_id: &str,
    ) -> Result<bool, ApiError> {
        let audit = self.audit(
            request,
            &principal.tenant_id,
            &principal.user_id,
            "session.revoke",
            &format!("session:{session_id}"),
            json!({ "status": "revoked" }),
        );
        Ok(self
            .store
            .revoke_session(&principal.tenant_id, &principal.user_id, session_id, &audit)
            .await?)
    }

    async fn logout(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SessionsManageOwn)
            .await?;
        let principal = &caller.principal;
        self.revoke(request, principal, &principal.session_id)
            .await?;
        no_content()
    }

    /// The caller's live sessions but `except`.
    async fn live_sessions(
        &self,
        principal: &Principal,
        except: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        let now = Timestamp::now().as_second();
        Ok(self
            .store
            .sessions(&principal.tenant_id, &principal.user_id)
            .await?
            .into_iter()
            .filter(|s| s.is_alive(now) && Some(s.session_id.as_str()) != except)
            .map(|s| s.session_id)
            .collect())
    }

    async fn logout_all(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SessionsManageOwn)
            .await?;
        let principal = &caller.principal;
        let sessions = self.live_sessions(principal, None).await?;
        let audit = self.audit(
            request,
            &principal.tenant_id,
            &principal.user_id,
            "session.revoke_all",
            &format!("user:{}", principal.user_id),
            json!({ "revoked": sessions }),
        );
        self.store
            .revoke_sessions(
                &principal.tenant_id,
                &principal.user_id,
                &sessions,
                Some(&audit),
            )
            .await?;
        no_content()
    }

    async fn me(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MeRead).await?;
        let (principal, user) = (&caller.principal, &caller.user);
        let (account, links) = match user.account_id.as_str() {
            "" => (None, Vec::new()),
            account_id => self.store.account_partition(account_id).await?,
        };
        let memberships = self.store.memberships_of_links(links).await?;
        let factor = account.as_ref().and_then(|account| account.totp.as_ref());
        let permissions = Permission::ALL
            .iter()
            .copied()
            .filter(|permission| self.guard.decision(&caller, *permission).is_ok())
            .collect();
        api::json(
            StatusCode::OK,
            &Me {
                user_id: &user.user_id,
                tenant_id: &user.tenant_id,
                account_id: &user.account_id,
                memberships: memberships.into_iter().map(Into::into).collect(),
                email: &user.email,
                name: &user.name,
                roles: &user.roles,
                status: &user.status,
                session_id: &principal.session_id,
                second_factor: SecondFactorView {
                    enabled: factor.is_some(),
                    recovery_codes_left: factor.map_or(0, |f| f.recovery_hashes.len()),
                    this_session: principal.second_factor,
                },
                permissions,
            },
        )
    }

    /// `POST /v1/me/password`: the account's password, for every organisation; every other
    /// session of the account ends.
    async fn change_password(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MeUpdate).await?;
        let (principal, user) = (&caller.principal, &caller.user);
        let body: ChangePassword = request.json()?;
        let account = self.account_of(user).await?;
        current_password(&account, &body.current_password)?;
        let password = new_password(
            "new_password",
            &body.new_password,
            &[&account.email, &account.name, &user.name],
        )?;
        let hash = hashing::hash(&password);
        // Conditioned on no session opened since they were read: a sign-in racing the change
        // cannot keep a session proven with the old password.
        let mut tries = Optimistic::new();
        while tries.next().await {
            let others = self
                .open_sessions(&account.account_id)
                .await?
                .ok_or(ApiError::Unauthorized)?
                .except(&principal.session_id);
            let audits = self.audit_each(request, &others, "user.password_change", &json!({}));
            let changed = self
                .store
                .set_password(
                    &account.account_id,
                    hash.as_str(),
                    &Timestamp::now().to_string(),
                    &others,
                    &audits,
                )
                .await?;
            if changed {
                return no_content();
            }
        }
        Err(tries.spent())
    }

    async fn sessions(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SessionsManageOwn)
            .await?;
        let principal = &caller.principal;
        let now = Timestamp::now().as_second();
        let mut sessions: Vec<Value> = self
            .store
            .sessions(&principal.tenant_id, &principal.user_id)
            .await?
            .into_iter()
            .filter(|s| s.is_alive(now))
            .map(|s| {
                json!({
                    "session_id": s.session_id,
                    "created_at": s.created_at,
                    "refreshed_at": s.refreshed_at,
                    "user_agent": s.user_agent,
                    "current": s.session_id == principal.session_id,
                })
            })
            .collect();
        sessions.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
        api::json(StatusCode::OK, &json!({ "items": sessions }))
    }

    async fn revoke_one(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SessionsManageOwn)
            .await?;
        let principal = &caller.principal;
        let session_id = request.path_param("sessionId")?;
        if !self.revoke(request, principal, session_id).await? {
            return Err(ApiError::NotFound(format!("session {session_id}")));
        }
        no_content()
    }
}

steward_kit::routes! {
    /// The identity API: sign-up, invitations accepted, sign-in, tokens, sessions and the caller.
    pub const ROUTES for Identity, fn route(request) {
        "POST /v1/signup" => sign_up,
        "POST /v1/signup/verify" => confirm_sign_up,
        "POST /v1/invitations/accept" => accept_invitation,
        "POST /v1/me/invitations/accept" => accept_invitation_signed_in,
        "POST /v1/auth/login" => login,
        "POST /v1/auth/login/tenant" => login_to_tenant,
        "POST /v1/auth/password-reset" => ask_password_reset,
        "POST /v1/auth/password-reset/confirm" => reset_password,
        "POST /v1/auth/refresh" => refresh,
        "POST /v1/auth/switch" => switch_tenant,
        "POST /v1/auth/logout" => logout,
        "POST /v1/auth/logout-all" => logout_all,
        "GET /v1/me" => me,
        "POST /v1/me/password" => change_password,
        "POST /v1/me/email" => ask_email_change,
        "POST /v1/me/email/verify" => confirm_email_change,
        "POST /v1/me/mfa/totp" => start_second_factor,
        "POST /v1/me/mfa/totp/confirm" => confirm_second_factor,
        "POST /v1/me/mfa/totp/disable" => disable_second_factor,
        "GET /v1/me/sessions" => sessions,
        "GET /v1/auth/sso/start" => sso_start,
        "GET /v1/auth/sso/callback" => sso_callback,
        "GET /v1/settings/sso" => sso_settings,
        "PUT /v1/settings/sso" => set_sso_settings,
        "DELETE /v1/settings/sso" => remove_sso_settings,
        "POST /v1/settings/scim/tokens" => create_scim_token,
        "GET /v1/settings/scim/tokens" => scim_tokens,
        "DELETE /v1/settings/scim/tokens/{tokenId}" => revoke_scim_token,
        "GET /scim/v2/ServiceProviderConfig" => scim_config,
        "GET /scim/v2/ResourceTypes" => scim_resource_types,
        "GET /scim/v2/Schemas" => scim_schemas,
        "GET /scim/v2/Users" => scim_users,
        "POST /scim/v2/Users" => scim_create_user,
        "GET /scim/v2/Users/{userId}" => scim_user,
        "PUT /scim/v2/Users/{userId}" => scim_replace_user,
        "PATCH /scim/v2/Users/{userId}" => scim_patch_user,
        "DELETE /scim/v2/Users/{userId}" => scim_delete_user,
        "GET /scim/v2/Groups" => scim_groups,
        "POST /scim/v2/Groups" => scim_create_group,
        "GET /scim/v2/Groups/{groupId}" => scim_group,
        "PUT /scim/v2/Groups/{groupId}" => scim_replace_group,
        "PATCH /scim/v2/Groups/{groupId}" => scim_patch_group,
        "DELETE /scim/v2/Groups/{groupId}" => scim_delete_group,
        "DELETE /v1/me/sessions/{sessionId}" => revoke_one,
    }
}

impl steward_kit::api::Api for Identity {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let answer = match self.route(request) {
            Some(answer) => answer.await,
            None => steward_kit::routes::unrouted(&request.route).await,
        };
        crate::refresh_cookie::deliver(request, SESSION_DAYS * 86_400, answer)
    }
}

/// The routes that take an `Idempotency-Key`, with the permission each one's handler checks
/// first: what a replay is allowed on.
pub const KEYED_ROUTES: &[(&str, Permission)] = &[
    ("POST /v1/auth/logout", Permission::SessionsManageOwn),
    ("POST /v1/auth/logout-all", Permission::SessionsManageOwn),
    ("POST /v1/auth/switch", Permission::MeRead),
    ("POST /v1/me/invitations/accept", Permission::MeRead),
    ("POST /v1/me/password", Permission::MeUpdate),
    ("POST /v1/me/email", Permission::MeUpdate),
    ("POST /v1/me/mfa/totp", Permission::MeUpdate),
    ("POST /v1/me/mfa/totp/confirm", Permission::MeUpdate),
    ("POST /v1/me/mfa/totp/disable", Permission::MeUpdate),
    ("POST /v1/settings/scim/tokens", Permission::SsoManage),
];

impl Replayable for Identity {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}

#[cfg(test)]
mod route_table {
    #[test]
    fn the_route_table_is_what_the_template_deploys_to_the_function() {
        steward_template::Template::assert_routes("IdentityFunction", super::ROUTES);
    }
}
