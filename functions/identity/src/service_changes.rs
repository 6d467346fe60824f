//! Changes to a tenant's access made in the name of a service (the identity provider's group
//! mapping at sign-in, the directory over SCIM), one mechanism for both: a change is committed
//! at the next version with its audit entry, retried when another committed first; while the
//! tenant has dual approval on, a grant or revocation is asked for instead, as a change request
//! by the service that any admin approves, once however often the service asks.

use jiff::Timestamp;
use serde_json::json;
use steward_domain::access::{Change, ChangeError, PolicyState};
use steward_domain::digest::sha256_hex;
use steward_kit::ApiError;
use steward_kit::api::ApiRequest;
use steward_kit::retry::Optimistic;
use steward_store::access::{Also, ChangeRequestRecord, CommitError, PolicyCommit};

use crate::handlers::Identity;

impl Identity {
    /// Grants and revokes as `actor`: committed one by one, or under dual approval (as `state`
    /// has it) each asked for.
    pub(crate) async fn change_roles_as(
        &self,
        request: &ApiRequest,
        tenant_id: &str,
        actor: &str,
        state: &PolicyState,
        changes: Vec<Change>,
    ) -> Result<(), ApiError> {
        for change in changes {
            if change.needs_approval(state) {
                self.ask_approval(request, tenant_id, actor, change).await?;
            } else {
                self.commit_as(request, tenant_id, actor, &change, Also::Nothing)
                    .await?;
            }
        }
        Ok(())
    }

    /// Commits `change` as `actor`, retried when another change committed first. A grant or
    /// revocation found made already (another sign-in or sync got there) is done. The service
    /// is no member: an owner is never its to suspend or remove (403); its grants are of roles
    /// it may hand out (never owner), with an admin's authority.
    pub(crate) async fn commit_as(
        &self,
        request: &ApiRequest,
        tenant_id: &str,
        actor: &str,
        change: &Change,
        also: Also<'_>,
    ) -> Result<(), ApiError> {
        let mut tries = Optimistic::new();
        while tries.next().await {
            let (_, state) = self
                .access
                .load(tenant_id)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            if !matches!(change, Change::GrantRole { .. } | Change::RevokeRole { .. }) {
                change
                    .authorised_for(actor, &state)
                    .map_err(|error| ApiError::Forbidden {
                        detail: error.to_string(),
                        permission: None,
                        feature: None,
                    })?;
            }
            let next = match change.next_state(&state) {
                Ok(next) => next,
                Err(ChangeError::AlreadyGranted { .. } | ChangeError::NotGranted { .. }) => {
                    return Ok(());
                }
                Err(error) => return Err(ApiError::Conflict(error.to_string())),
            };
            let audit = self.audit(
                request,
                tenant_id,
                actor,
                change.action(),
                &change.target(),
                json!({ "policy_version": next.version }),
            );
            let at = Timestamp::now().to_string();
            let commit = PolicyCommit {
                tenant_id,
                state: &next,
                change,
                audit: &audit,
                at: &at,
                also,
            };
            match self.access.commit(commit).await {
                Ok(()) => {
                    self.guard.forget_tenant(tenant_id);
                    return Ok(());
                }
                Err(CommitError::Moved) => continue,
                Err(CommitError::Store(error)) => return Err(error.into()),
                Err(other) => return Err(ApiError::Conflict(other.to_string())),
            }
        }
        Err(tries.spent())
    }

    /// Asks the organisation's admins to approve `change`, a change request by `actor`, once:
    /// its id is derived from the requester and the change, so asking again makes no second
    /// one (until it expires and its item is gone).
    async fn ask_approval(
        &self,
        request: &ApiRequest,
        tenant_id: &str,
        actor: &str,
        change: Change,
    ) -> Result<(), ApiError> {
        let text = serde_json::to_string(&change).map_err(ApiError::internal)?;
        let id = format!("chg_{}", &sha256_hex(format!("{actor}\n{text}"))[..32]);
        let now = Timestamp::now();
        let (pk, sk) = ChangeRequestRecord::key(tenant_id, &id);
        let record = ChangeRequestRecord {
            pk,
            sk,
            change_request_id: id.clone(),
            change,
            requested_by: actor.to_owned(),
            created_at: now.to_string(),
            expires_at: now.as_second() + self.change_request_ttl_seconds,
            status: "pending".into(),
            decided_by: None,
            decided_at: None,
            reason: None,
        };
        let audit = self.audit(
            request,
            tenant_id,
            actor,
            "change_request.create",
            &format!("change_request:{id}"),
            json!({ "change": record.change }),
        );
        if self.access.request_once(&record, &audit).await? {
            tracing::info!(change_request = %id, %actor, "a service asked for a role change");
        }
        Ok(())
    }
}
