//! Operators invite operators (SPEC §F): an invitation to the platform tenant with the
//! `operator` role waits for a second operator's approval before it is sent, as every role
//! change of the platform does; accepting it is any invitation's acceptance.

use std::collections::BTreeSet;

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::operators::PLATFORM_TENANT;
use steward_access::{Caller, Record, new_id};
use steward_authz::{BuiltInRole, Permission};
use steward_domain::access::{InvitationToken, RoleRef};
use steward_domain::identity::Email;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::access::{AWAITING_APPROVAL, InvitationRecord};

use crate::Access;
use crate::invitations::view;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOperator {
    email: Email,
}

impl Access {
    /// An operator of the platform, or a 403.
    async fn operator(&self, request: &ApiRequest) -> Result<Caller, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::PlatformConfigure)
            .await?;
        if caller.tenant_id() != PLATFORM_TENANT {
            return Err(ApiError::Forbidden {
                detail: "only the platform's operators manage operators".into(),
                permission: Some(Permission::PlatformConfigure.to_string()),
                feature: None,
            });
        }
        Ok(caller)
    }

    /// `POST /v1/admin/operators`: 202, the invitation waiting for a second operator.
    pub(crate) async fn invite_operator(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.operator(request).await?;
        let body: NewOperator = request.json()?;
        if self
            .identity
            .is_member_by_email(body.email.as_str(), PLATFORM_TENANT)
            .await?
        {
            return Err(ApiError::Conflict(
                "that address is an operator already".into(),
            ));
        }
        let now = Timestamp::now();
        let id = new_id("inv");
        let (pk, sk) = InvitationRecord::key(PLATFORM_TENANT, &id);
        let record = InvitationRecord {
            pk,
            sk,
            invitation_id: id.clone(),
            tenant_id: PLATFORM_TENANT.into(),
            email: body.email.to_string(),
            roles: BTreeSet::from([RoleRef::BuiltIn(BuiltInRole::Operator)]),
            invited_by: caller.user_id().to_owned(),
            created_at: now.to_string(),
            expires_at: now.as_second() + self.lifetimes.invitation_ttl_seconds,
            status: AWAITING_APPROVAL.into(),
            // No token exists until a second operator approves.
            token_hash: String::new(),
            accepted_by: None,
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: PLATFORM_TENANT,
                actor: caller.user_id(),
                action: "operator.invite",
                target: &format!("invitation:{id}"),
                before: Value::Null,
                after: json!({ "email": record.email, "status": AWAITING_APPROVAL }),
            },
        );
        self.store
            .create_invitation(&record, &audit, false)
            .await
            .map_err(|error| match error {
                steward_store::access::InviteError::Store(error) => ApiError::from(error),
                other => ApiError::Conflict(other.to_string()),
            })?;
        api::json(StatusCode::ACCEPTED, &view(&record, now.as_second()))
    }

    /// `POST /v1/admin/operators/{invitationId}/approve`: another operator approves; the
    /// invitee is emailed the link.
    pub(crate) async fn approve_operator(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.decide_operator(request, true).await
    }

    /// `POST /v1/admin/operators/{invitationId}/reject`: another operator refuses; the
    /// invitation is revoked unsent.
    pub(crate) async fn reject_operator(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        self.decide_operator(request, false).await
    }

    async fn decide_operator(
        &self,
        request: &ApiRequest,
        approve: bool,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.operator(request).await?;
        let id = request.path_param("invitationId")?;
        let Some(mut record) = self
            .store
            .invitation(PLATFORM_TENANT, id)
            .await?
            .filter(|record| {
                record
                    .roles
                    .contains(&RoleRef::BuiltIn(BuiltInRole::Operator))
            })
        else {
            return Err(ApiError::NotFound(format!("operator invitation {id}")));
        };
        let now = Timestamp::now();
        let token = InvitationToken::new(PLATFORM_TENANT, id, &steward_access::new_secret());
        let expires_at = now.as_second() + self.lifetimes.invitation_ttl_seconds;
        let after = if approve { "pending" } else { "revoked" };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: PLATFORM_TENANT,
                actor: caller.user_id(),
                action: if approve {
                    "operator.invitation_approve"
                } else {
                    "operator.invitation_reject"
                },
                target: &format!("invitation:{id}"),
                before: json!({ "status": AWAITING_APPROVAL, "invited_by": record.invited_by }),
                after: json!({ "status": after }),
            },
        );
        let hash = token.hash();
        let decided = self
            .store
            .decide_awaiting_invitation(
                PLATFORM_TENANT,
                id,
                caller.user_id(),
                approve.then_some((hash.as_str(), expires_at)),
                now.as_second(),
                &audit,
            )
            .await?;
        if !decided {
            if record.invited_by == caller.user_id() {
                return Err(ApiError::Forbidden {
                    detail: "a second operator decides: not the one who invited".into(),
                    permission: None,
                    feature: None,
                });
            }
            let status = record.status_at(now.as_second()).to_owned();
            return Err(ApiError::Conflict(format!(
                "the invitation is {status}: only one awaiting approval is decided"
            )));
        }
        record.status = after.into();
        if approve {
            record.token_hash = hash;
            record.expires_at = expires_at;
            // From the operator who invited, in the platform's name.
            let inviter = self
                .identity
                .user(PLATFORM_TENANT, &record.invited_by)
                .await?
                .map_or_else(|| "An operator".to_owned(), |user| user.name);
            self.mail_invitation(&caller.tenant.name, &inviter, &record, &token)
                .await;
        }
        api::json(StatusCode::OK, &view(&record, now.as_second()))
    }
}
