//! Making a change to a tenant's access: checked against the actor's authority and the
//! invariants, recorded for a second admin when dual approval asks for one, otherwise committed
//! with its snapshot and audit entry, retried when another change committed first.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_access::{Caller, Record, new_id};
use steward_domain::access::{Change, ChangeError, PolicyState, RoleRef};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_kit::retry::Optimistic;
use steward_store::access::{Also, ChangeRequestRecord, CommitError, PolicyCommit};
use steward_store::audit::AuditEntry;
use steward_store::identity::TenantRecord;

use crate::Access;

/// How [`Access::commit_change`] ended.
pub(crate) enum Committed {
    Version(u64),
    AwaitsApproval,
}

/// The problem a refused change is answered with.
pub(crate) fn change_problem(error: ChangeError) -> ApiError {
    match error {
        ChangeError::UnknownMember(_) | ChangeError::UnknownRole(_) => {
            ApiError::NotFound(error.to_string())
        }
        ChangeError::Escalation(permission) => ApiError::Forbidden {
            detail: error.to_string(),
            permission: Some(permission.to_string()),
            feature: None,
        },
        ChangeError::OwnerOnly | ChangeError::OwnSelf => ApiError::Forbidden {
            detail: error.to_string(),
            permission: None,
            feature: None,
        },
        ChangeError::NoPermissions => ApiError::validation("permissions", error.to_string()),
        _ => ApiError::Conflict(error.to_string()),
    }
}

/// What a change touches, as the audit entry's before or after.
pub(crate) fn affected(state: &PolicyState, change: &Change) -> Value {
    match change {
        Change::CreateRole { name, .. }
        | Change::UpdateRole { name, .. }
        | Change::DeleteRole { name } => json!(state.custom_roles.get(name)),
        Change::SetDualApproval { .. } => json!({ "dual_approval": state.dual_approval }),
        _ => json!(change.member().and_then(|id| state.members.get(id))),
    }
}

impl Access {
    pub(crate) async fn load(
        &self,
        tenant_id: &str,
    ) -> Result<(TenantRecord, PolicyState), ApiError> {
        self.store
            .load(tenant_id)
            .await?
            .ok_or(ApiError::Unauthorized)
    }

    /// Loads the state, checks `actor`'s authority and the invariants, and commits `change`
    /// with the next snapshot, the audit entry `audit` builds from the states before and after,
    /// and `also`; reloads and retries when another change committed first. Unless `approved`,
    /// a change that needs a second admin is not committed but answered `AwaitsApproval`.
    /// The inner error is a commit refused by one of `also`'s conditions.
    pub(crate) async fn commit_change(
        &self,
        tenant_id: &str,
        actor: &str,
        change: &Change,
        approved: bool,
        also: Also<'_>,
        audit: impl Fn(&PolicyState, &PolicyState) -> AuditEntry,
    ) -> Result<Result<Committed, CommitError>, ApiError> {
        let mut tries = Optimistic::new();
        while tries.next().await {
            let (_, state) = self.load(tenant_id).await?;
            change
                .authorised_for(actor, &state)
                .map_err(change_problem)?;
            let mut next = state.clone();
            change.apply(&mut next).map_err(change_problem)?;
            if !approved && change.needs_approval(&state) {
                return Ok(Ok(Committed::AwaitsApproval));
            }
            next.version = state.version + 1;
            let audit = audit(&state, &next);
            let at = Timestamp::now().to_string();
            let commit = PolicyCommit {
                tenant_id,
                state: &next,
                change,
                audit: &audit,
                at: &at,
                also,
            };
            match self.store.commit(commit).await {
                Ok(()) => {
                    // Roles live on the tenant: this instance applies them from its next request.
                    self.guard.forget_tenant(tenant_id);
                    return Ok(Ok(Committed::Version(next.version)));
                }
                Err(CommitError::Moved) => continue,
                Err(CommitError::Store(error)) => return Err(error.into()),
                Err(refused) => return Ok(Err(refused)),
            }
        }
        Err(tries.spent())
    }

    /// Makes `change` as `caller`: 200 with the new policy version, or 202 with the change
    /// request when it waits for a second admin.
    pub(crate) async fn make(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        change: Change,
    ) -> Result<Response<Body>, ApiError> {
        let tenant_id = caller.tenant_id();
        // A removed member's membership of their account ends in the same transaction.
        let leaving = match &change {
            Change::RemoveMember { user_id } => self.identity.user(tenant_id, user_id).await?,
            _ => None,
        };
        let also = match &leaving {
            Some(user) => Also::Leave { user },
            None => Also::Nothing,
        };
        let audit = |before: &PolicyState, after: &PolicyState| {
            self.auditor.entry(
                request,
                Record {
                    tenant_id,
                    actor: caller.user_id(),
                    action: change.action(),
                    target: &change.target(),
                    before: affected(before, &change),
                    after: affected(after, &change),
                },
            )
        };
        let committed = self
            .commit_change(tenant_id, caller.user_id(), &change, false, also, audit)
            .await?
            .map_err(|refused| ApiError::Conflict(refused.to_string()))?;
        // An account left with no organisation goes, and its address with it. A follow-up:
        // the removal stands if it fails (logged), and the account, which nobody can sign in
        // to, is closed when its address signs up again.
        if let Some(user) = leaving.filter(|user| !user.account_id.is_empty())
            && let Err(error) = self.identity.close_if_orphaned(&user.account_id).await
        {
            tracing::error!(%error, account = %user.account_id, "an account left with no organisation was not closed");
        }
        match committed {
            Committed::Version(version) => api::json(
                StatusCode::OK,
                &json!({ "status": "applied", "policy_version": version, "change": change }),
            ),
            Committed::AwaitsApproval => self.request_approval(request, caller, change).await,
        }
    }

    async fn request_approval(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        change: Change,
    ) -> Result<Response<Body>, ApiError> {
        let now = Timestamp::now();
        let id = new_id("chg");
        let (pk, sk) = ChangeRequestRecord::key(caller.tenant_id(), &id);
        let record = ChangeRequestRecord {
            pk,
            sk,
            change_request_id: id.clone(),
            change,
            requested_by: caller.user_id().to_owned(),
            created_at: now.to_string(),
            expires_at: now.as_second() + self.lifetimes.change_request_ttl_seconds,
            status: "pending".into(),
            decided_by: None,
            decided_at: None,
            reason: None,
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "change_request.create",
                target: &format!("change_request:{id}"),
                before: Value::Null,
                after: json!({ "change": record.change }),
            },
        );
        self.store.create(&record, &audit).await?;
        api::json(
            StatusCode::ACCEPTED,
            &json!({
                "status": "pending_approval",
                "change_request": crate::change_requests::view(&record, now.as_second()),
            }),
        )
    }
}

/// A role named in a path or body.
pub(crate) fn role(field: &str, text: &str) -> Result<RoleRef, ApiError> {
    RoleRef::parse(text).map_err(|e| ApiError::validation(field, e.to_string()))
}
