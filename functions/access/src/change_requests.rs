//! Change requests (SPEC §B): a change waiting for a second admin, approved (applied atomically)
//! or rejected, expiring after 72 hours.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::Record;
use steward_authz::Permission;
use steward_domain::access::{PolicySnapshot, PolicyState};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::access::{Also, ChangeRequestRecord};

use crate::Access;
use crate::mutate::{Committed, affected};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rejection {
    #[serde(default)]
    reason: steward_domain::text::Reason,
}

/// A change request as the API shows it, its status as of `now`.
pub(crate) fn view(record: &ChangeRequestRecord, now: i64) -> Value {
    json!({
        "id": record.change_request_id,
        "change": record.change,
        "requested_by": record.requested_by,
        "created_at": record.created_at,
        "expires_at": Timestamp::from_second(record.expires_at).map(|t| t.to_string()).ok(),
        "status": record.status_at(now),
        "decided_by": record.decided_by,
        "decided_at": record.decided_at,
        "reason": record.reason,
    })
}

impl Access {
    async fn find_change_request(
        &self,
        tenant_id: &str,
        request: &ApiRequest,
    ) -> Result<ChangeRequestRecord, ApiError> {
        let id = request.path_param("changeRequestId")?;
        self.store
            .change_request(tenant_id, id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("change request {id}")))
    }

    pub(crate) async fn list_change_requests(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::ChangeRequestsList)
            .await?;
        let now = Timestamp::now().as_second();
        self.list(
            request,
            caller.tenant_id(),
            "change-requests",
            "CHANGE#",
            |r| view(r, now),
        )
        .await
    }

    pub(crate) async fn change_request(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::ChangeRequestsList)
            .await?;
        let record = self
            .find_change_request(caller.tenant_id(), request)
            .await?;
        let now = Timestamp::now().as_second();
        let mut answer = view(&record, now);
        // What approving it would do to the policy as it is now, role by role.
        answer["preview"] = if record.status_at(now) == "pending" {
            let (_, state) = self.load(caller.tenant_id()).await?;
            let mut after = state.clone();
            match record.change.apply(&mut after) {
                Ok(()) => {
                    let now_policy = PolicySnapshot::from(&state);
                    let next_policy = PolicySnapshot::from(&after);
                    json!({
                        "diff": now_policy.diff(&next_policy),
                        "roles": now_policy.sides(&next_policy),
                    })
                }
                Err(error) => json!({ "cannot_apply": error.to_string() }),
            }
        } else {
            Value::Null
        };
        api::json(StatusCode::OK, &answer)
    }

    pub(crate) async fn approve(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::ChangeRequestsDecide)
            .await?;
        let tenant_id = caller.tenant_id();
        let record = self.find_change_request(tenant_id, request).await?;
        if record.requested_by == caller.user_id() {
            return Err(ApiError::Forbidden {
                detail: "a change request is approved by someone other than its requester".into(),
                permission: None,
                feature: None,
            });
        }
        let id = &record.change_request_id;
        let change = &record.change;
        let now = Timestamp::now();
        let status = record.status_at(now.as_second());
        if status != "pending" {
            return Err(ApiError::Conflict(format!(
                "the change request is {status}"
            )));
        }
        let at = now.to_string();
        let also = Also::Approve {
            change_request_id: id,
            approver: caller.user_id(),
            at: &at,
            now: now.as_second(),
        };
        let audit = |before: &PolicyState, after: &PolicyState| {
            self.auditor.entry(
                request,
                Record {
                    tenant_id,
                    actor: caller.user_id(),
                    action: "change_request.approve",
                    target: &format!("change_request:{id}"),
                    before: affected(before, change),
                    after: json!({
                        "change": change,
                        "state": affected(after, change),
                        "policy_version": after.version,
                    }),
                },
            )
        };
        match self
            .commit_change(tenant_id, caller.user_id(), change, true, also, audit)
            .await?
        {
            Ok(Committed::Version(version)) => api::json(
                StatusCode::OK,
                &json!({ "status": "approved", "policy_version": version, "change": change }),
            ),
            Ok(Committed::AwaitsApproval) => Err(ApiError::internal(
                "an approved change cannot await approval",
            )),
            // Decided meanwhile (a concurrent approval won) or expired.
            Err(_) => {
                let current = self.find_change_request(tenant_id, request).await?;
                let status = current.status_at(Timestamp::now().as_second()).to_owned();
                Err(ApiError::Conflict(format!(
                    "the change request is {status}"
                )))
            }
        }
    }

    pub(crate) async fn reject(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::ChangeRequestsDecide)
            .await?;
        let body: Rejection = request.json()?;
        let tenant_id = caller.tenant_id();
        let record = self.find_change_request(tenant_id, request).await?;
        let id = &record.change_request_id;
        let now = Timestamp::now();
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "change_request.reject",
                target: &format!("change_request:{id}"),
                before: json!({ "status": "pending" }),
                after: json!({ "status": "rejected", "reason": body.reason }),
            },
        );
        let closed = self
            .store
            .close(
                ChangeRequestRecord::key(tenant_id, id),
                "rejected",
                caller.user_id(),
                &now.to_string(),
                Some(&body.reason),
                now.as_second(),
                &audit,
                None,
            )
            .await?;
        if !closed {
            let current = self.find_change_request(tenant_id, request).await?;
            let status = current.status_at(now.as_second()).to_owned();
            return Err(ApiError::Conflict(format!(
                "the change request is {status}"
            )));
        }
        let current = self.find_change_request(tenant_id, request).await?;
        api::json(StatusCode::OK, &view(&current, now.as_second()))
    }
}
