//! Invitations: create (the token shown once, and emailed to the invitee), send again, list,
//! revoke. Accepting one is the identity
//! function's, since it signs the new member in.

use std::collections::BTreeSet;

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Record, new_id};
use steward_authz::Permission;
use steward_domain::access::{Change, InvitationToken, PolicyState};
use steward_domain::identity::Email;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::access::{InvitationRecord, InviteError};
use steward_store::account_mail::AccountMail;

use crate::Access;
use crate::mutate::{change_problem, role};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInvitation {
    email: Email,
    roles: Vec<String>,
}

pub(crate) fn view(record: &InvitationRecord, now: i64) -> Value {
    json!({
        "id": record.invitation_id,
        "email": record.email,
        "roles": record.roles,
        "invited_by": record.invited_by,
        "created_at": record.created_at,
        "expires_at": Timestamp::from_second(record.expires_at).map(|t| t.to_string()).ok(),
        "status": record.status_at(now),
        "accepted_by": record.accepted_by,
    })
}

impl Access {
    pub(crate) async fn invite(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::InvitationsCreate)
            .await?;
        let body: NewInvitation = request.json()?;
        if body.roles.is_empty() {
            return Err(ApiError::validation("roles", "name at least one role"));
        }
        let roles = body
            .roles
            .iter()
            .enumerate()
            .map(|(i, text)| role(&format!("roles/{i}"), text))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let tenant_id = caller.tenant_id();
        // What the new member will hold is checked now, against the inviter's authority (which
        // also refuses a role the tenant does not have). The guard has read the inviter and
        // the tenant already: the whole membership is not needed for it.
        let mut inviter = PolicyState {
            custom_roles: caller.tenant.custom_roles.clone(),
            ..PolicyState::default()
        };
        inviter
            .members
            .insert(caller.user_id().to_owned(), caller.user.member()?);
        Change::AddMember {
            user_id: String::new(),
            roles: roles.clone(),
        }
        .authorised_for(caller.user_id(), &inviter)
        .map_err(change_problem)?;
        // An address that is already one of this tenant's members is refused, as the admin
        // can list them anyway; whether it has an account elsewhere is not told: the answer
        // would tell any admin who uses Steward.
        let tenant = &caller.tenant;
        if self
            .identity
            .is_member_by_email(body.email.as_str(), tenant_id)
            .await?
        {
            return Err(ApiError::Conflict(
                "that address is already a member of this organisation".into(),
            ));
        }
        let now = Timestamp::now();
        let id = new_id("inv");
        let token = InvitationToken::new(tenant_id, &id, &steward_access::new_secret());
        let (pk, sk) = InvitationRecord::key(tenant_id, &id);
        let record = InvitationRecord {
            pk,
            sk,
            invitation_id: id.clone(),
            tenant_id: tenant_id.to_owned(),
            email: body.email.to_string(),
            roles,
            invited_by: caller.user_id().to_owned(),
            created_at: now.to_string(),
            expires_at: now.as_second() + self.lifetimes.invitation_ttl_seconds,
            status: "pending".into(),
            token_hash: token.hash(),
            accepted_by: None,
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "invitation.create",
                target: &format!("invitation:{id}"),
                before: Value::Null,
                after: json!({ "email": record.email, "roles": record.roles }),
            },
        );
        match self
            .store
            .create_invitation(&record, &audit, caller.licence_enforced)
            .await
        {
            Ok(()) => {}
            Err(InviteError::NoSeatLeft) => {
                return Err(ApiError::LicenceLimit {
                    limit: "seats".into(),
                    allowed: tenant.licence.limits.seats,
                });
            }
            Err(InviteError::Store(error)) => return Err(error.into()),
        }
        self.mail_invitation(&caller.tenant.name, &caller.user.name, &record, &token)
            .await;
        let mut answer = view(&record, now.as_second());
        // Shown this once: only its hash is kept.
        answer["token"] = json!(token.expose());
        api::json(StatusCode::CREATED, &answer)
    }

    /// `POST /v1/invitations/{invitationId}/resend`: a new link for a pending invitation,
    /// emailed again; the old link stops working and the invitation runs a full lifetime from
    /// now. The new token is shown once, as at creation.
    pub(crate) async fn resend_invitation(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::InvitationsCreate)
            .await?;
        let tenant_id = caller.tenant_id();
        let id = request.path_param("invitationId")?;
        let Some(mut record) = self.store.invitation(tenant_id, id).await? else {
            return Err(ApiError::NotFound(format!("invitation {id}")));
        };
        let now = Timestamp::now();
        let token = InvitationToken::new(tenant_id, id, &steward_access::new_secret());
        let expires_at = now.as_second() + self.lifetimes.invitation_ttl_seconds;
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "invitation.resend",
                target: &format!("invitation:{id}"),
                before: json!({ "expires_at": record.expires_at }),
                after: json!({ "expires_at": expires_at }),
            },
        );
        let renewed = self
            .store
            .renew_invitation(
                tenant_id,
                id,
                &token.hash(),
                expires_at,
                now.as_second(),
                &audit,
            )
            .await?;
        if !renewed {
            let status = record.status_at(now.as_second()).to_owned();
            return Err(ApiError::Conflict(format!(
                "the invitation is {status}: only a pending one is sent again"
            )));
        }
        record.token_hash = token.hash();
        record.expires_at = expires_at;
        self.mail_invitation(&caller.tenant.name, &caller.user.name, &record, &token)
            .await;
        let mut answer = view(&record, now.as_second());
        answer["token"] = json!(token.expose());
        api::json(StatusCode::OK, &answer)
    }

    /// Queues the invitation's email to its invitee. The invitation stands without it (the
    /// admin holds the token, and can send it again), so a failure is logged, not answered.
    pub(crate) async fn mail_invitation(
        &self,
        tenant_name: &str,
        inviter_name: &str,
        record: &InvitationRecord,
        token: &InvitationToken,
    ) {
        let mail = AccountMail::Invitation {
            email: record.email.clone(),
            token: token.expose(),
            tenant_name: tenant_name.to_owned(),
            inviter_name: inviter_name.to_owned(),
            roles: record.roles.iter().map(ToString::to_string).collect(),
            expires_at: record.expires_at,
        };
        if let Err(error) = self.account_mail.send(&mail).await {
            tracing::error!(%error, invitation = %record.invitation_id, "the invitation's email was not queued; it can be sent again");
        }
    }

    pub(crate) async fn list_invitations(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::InvitationsList)
            .await?;
        let now = Timestamp::now().as_second();
        let view = |r: &InvitationRecord| view(r, now);
        self.list(request, caller.tenant_id(), "invitations", "INVITE#", view)
            .await
    }

    pub(crate) async fn revoke_invitation(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::InvitationsRevoke)
            .await?;
        let tenant_id = caller.tenant_id();
        let id = request.path_param("invitationId")?;
        let Some(record) = self.store.invitation(tenant_id, id).await? else {
            return Err(ApiError::NotFound(format!("invitation {id}")));
        };
        let now = Timestamp::now();
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "invitation.revoke",
                target: &format!("invitation:{id}"),
                before: json!({ "status": "pending" }),
                after: json!({ "status": "revoked" }),
            },
        );
        let closed = self
            .store
            .close(
                InvitationRecord::key(tenant_id, id),
                "revoked",
                caller.user_id(),
                &now.to_string(),
                None,
                now.as_second(),
                &audit,
                Some(tenant_id),
            )
            .await?;
        if !closed {
            let status = record.status_at(now.as_second()).to_owned();
            return Err(ApiError::Conflict(format!("the invitation is {status}")));
        }
        crate::no_content()
    }
}
