//! Joining a tenant by invitation: `POST /v1/invitations/accept` (public: a new account, or the
//! address's account proven by its password) and `POST /v1/me/invitations/accept` (signed in as
//! the address's account). Either way the new membership, the invitation spent and the
//! policy's next version are one commit, and the answer is a session in the tenant joined.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_access::new_id;
use steward_authz::Permission;
use steward_domain::access::{Change, InvitationToken};
use steward_domain::identity::Password;
use steward_domain::identity::hashing::{self, PasswordHashString};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_kit::retry::Optimistic;
use steward_store::access::{Also, CommitError, InvitationRecord, PolicyCommit};
use steward_store::accounts::AccountRecord;
use steward_store::identity::{OpenedFor, UserRecord};

use crate::handlers::{Identity, name, new_password};

/// An invitation accepted by a new account (`name` and a new `password`) or by the account
/// the address has (its `password`, its second factor's `code` if it has one, and optionally
/// the name this organisation shows).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptInvitation {
    token: String,
    #[serde(default)]
    name: Option<String>,
    password: String,
    #[serde(default)]
    code: Option<String>,
}

/// An invitation accepted by the account signed in, whose address it was sent to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptSignedIn {
    token: String,
    /// The name this organisation shows; the account's by default.
    #[serde(default)]
    name: Option<String>,
}

/// Who joins: the account made now, or the address's account; the name shown; the password
/// as it was proven (when it was set), if it was; whether the session is opened with a second
/// factor.
struct Joiner {
    new_account: Option<AccountRecord>,
    account_id: String,
    display_name: String,
    proven: Option<String>,
    second_factor: bool,
}

impl Identity {
    /// Proves that whoever accepts an invitation for an address that has an account holds its
    /// password, throttled like a sign-in (the same counters: guesses here spend the same
    /// budget).
    async fn prove_account(
        &self,
        request: &ApiRequest,
        account: &AccountRecord,
        presented: &str,
    ) -> Result<(), ApiError> {
        // Sign-in's own counters ("" is sign-in's kind).
        let throttle = self.checked_throttle(request, "", &account.email).await?;
        let stored = PasswordHashString::from_stored(account.password_hash.clone());
        if !Password::existing(presented).is_ok_and(|password| hashing::verify(&password, &stored))
        {
            throttle.fail().await?;
            return Err(ApiError::InvalidCredentials);
        }
        Ok(())
    }

    /// The pending invitation `token` opens: 404 for an unknown or forged one, 409 for one
    /// used, revoked or expired.
    async fn pending_invitation(&self, token: &str) -> Result<InvitationRecord, ApiError> {
        let unknown = || ApiError::NotFound("invitation".into());
        let token = InvitationToken::parse(token).ok_or_else(unknown)?;
        let invitation = self
            .access
            .invitation(token.tenant_id(), token.id())
            .await?
            .filter(|invitation| invitation.token_hash == token.hash())
            .ok_or_else(unknown)?;
        let status = invitation.status_at(Timestamp::now().as_second());
        if status != "pending" {
            return Err(ApiError::Conflict(format!("the invitation is {status}")));
        }
        Ok(invitation)
    }

    /// `POST /v1/invitations/accept`.
    pub(crate) async fn accept_invitation(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let body: AcceptInvitation = request.json()?;
        let invitation = self.pending_invitation(&body.token).await?;
        let now_text = Timestamp::now().to_string();
        // Whoever holds the link reads the address's mail: telling them whether it has an
        // account (they are asked for its password) reveals nothing new.
        let joiner = match self.store.account_by_email(&invitation.email).await? {
            Some(account) => {
                self.prove_account(request, &account, &body.password)
                    .await?;
                // The password alone opens no session of an account with a second factor.
                let second_factor = account.totp.is_some();
                if second_factor {
                    let code = body.code.as_deref().ok_or_else(|| {
                        ApiError::validation(
                            "code",
                            "this account has a second factor: send its current code",
                        )
                    })?;
                    self.check_code(request, &account, code).await?;
                }
                let display_name = match &body.name {
                    Some(text) => name("name", text)?,
                    None => account.name.clone(),
                };
                Joiner {
                    new_account: None,
                    account_id: account.account_id,
                    display_name,
                    proven: Some(account.password_changed_at),
                    second_factor,
                }
            }
            None => {
                let display_name = name("name", body.name.as_deref().unwrap_or(""))?;
                let password = new_password(
                    "password",
                    &body.password,
                    &[&invitation.email, &display_name],
                )?;
                let account_id = new_id("acc");
                let account = AccountRecord::new(
                    &account_id,
                    &invitation.email,
                    &display_name,
                    hashing::hash(&password).as_str(),
                    &now_text,
                );
                Joiner {
                    new_account: Some(account),
                    account_id,
                    display_name,
                    proven: None,
                    second_factor: false,
                }
            }
        };
        self.join(request, &invitation, joiner).await
    }

    /// `POST /v1/me/invitations/accept`: the account signed in joins, if the invitation was
    /// sent to its address (403 otherwise, and nothing is told of the invitation).
    pub(crate) async fn accept_invitation_signed_in(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MeRead).await?;
        let body: AcceptSignedIn = request.json()?;
        let account = self.account_of(&caller.user).await?;
        let invitation = self.pending_invitation(&body.token).await?;
        if invitation.email != account.email {
            return Err(ApiError::Forbidden {
                detail: "this invitation was sent to another address than your account's".into(),
                permission: None,
                feature: None,
            });
        }
        let display_name = match &body.name {
            Some(text) => name("name", text)?,
            None => account.name.clone(),
        };
        let joiner = Joiner {
            new_account: None,
            account_id: account.account_id,
            display_name,
            proven: None,
            second_factor: caller.principal.second_factor,
        };
        self.join(request, &invitation, joiner).await
    }

    /// The membership `joiner` takes by `invitation`, committed with the invitation spent and
    /// the policy's next version (retried when another change committed first), and a first
    /// session in the tenant: 201 with its tokens.
    async fn join(
        &self,
        request: &ApiRequest,
        invitation: &InvitationRecord,
        joiner: Joiner,
    ) -> Result<Response<Body>, ApiError> {
        let unknown = || ApiError::NotFound("invitation".into());
        let tenant_id = invitation.tenant_id.as_str();
        let now = Timestamp::now();
        let now_text = now.to_string();
        let Joiner {
            new_account,
            account_id,
            display_name,
            proven,
            second_factor,
        } = joiner;
        let user_id = new_id("usr");
        let (pk, sk) = UserRecord::key(tenant_id, &user_id);
        let user = UserRecord {
            pk,
            sk,
            user_id: user_id.clone(),
            tenant_id: tenant_id.to_owned(),
            email: invitation.email.clone(),
            name: display_name,
            account_id,
            status: "active".into(),
            roles: invitation.roles.iter().map(ToString::to_string).collect(),
            created_at: now_text.clone(),
        };
        let change = Change::AddMember {
            user_id: user_id.clone(),
            roles: invitation.roles.clone(),
        };
        let (mut session, refresh) = self.prepare_session(request, &user, now);
        session.second_factor = second_factor;
        let mut committed = false;
        let mut tries = Optimistic::new();
        while tries.next().await {
            let (tenant, state) = self.access.load(tenant_id).await?.ok_or_else(unknown)?;
            let next = change
                .next_state(&state)
                .map_err(|error| ApiError::Conflict(error.to_string()))?;
            let audit = self.audit(
                request,
                tenant_id,
                &user_id,
                "invitation.accept",
                &format!("invitation:{}", invitation.invitation_id),
                json!({
                    "user_id": user_id,
                    "roles": invitation.roles,
                    "policy_version": next.version,
                    "session_id": session.session_id,
                    "new_account": new_account.is_some(),
                }),
            );
            let commit = PolicyCommit {
                tenant_id,
                state: &next,
                change: &change,
                audit: &audit,
                at: &now_text,
                also: Also::Accept {
                    invitation_id: &invitation.invitation_id,
                    user: &user,
                    account: new_account.as_ref(),
                    tenant_name: &tenant.name,
                    now: now.as_second(),
                },
            };
            match self.access.commit(commit).await {
                Ok(()) => {
                    committed = true;
                    break;
                }
                Err(CommitError::Moved) => continue,
                Err(CommitError::InvitationSpent) => {
                    return Err(ApiError::Conflict(
                        "the invitation was used or revoked".into(),
                    ));
                }
                Err(CommitError::EmailTaken) => {
                    return Err(ApiError::Conflict(
                        "that address has an account now: accept again with its password".into(),
                    ));
                }
                Err(CommitError::Store(error)) => return Err(error.into()),
                Err(other) => return Err(ApiError::Conflict(other.to_string())),
            }
        }
        if !committed {
            return Err(tries.spent());
        }
        let opened = OpenedFor {
            account_id: &user.account_id,
            proven: proven.as_deref(),
        };
        if !self
            .store
            .create_session(&session, None, None, Some(opened))
            .await?
        {
            return Err(ApiError::Conflict(
                "you joined, but the account's password changed meanwhile: sign in with the new \
                 one"
                .into(),
            ));
        }
        let tokens = self.tokens_for(&user, &session.session_id, refresh, now);
        api::json(
            StatusCode::CREATED,
            &json!({
                "tenant": { "id": tenant_id },
                "user": { "id": user_id, "email": user.email, "name": user.name, "roles": user.roles },
                "tokens": tokens,
            }),
        )
    }
}
