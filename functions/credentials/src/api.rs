//! The credentials API (SPEC §E): the tenant's credential types (admins); a provider's
//! credentials, created with a presigned upload URL valid for minutes (key under the tenant's
//! prefix; content type, length and write-once signed), listed and read; the review queue,
//! decisions and short-lived downloads (reviewers); a member's trust score.

use std::time::Duration;

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Auditor, Guard, Record, new_id};
use steward_authz::Permission;
use steward_domain::credential::Held;
use steward_domain::credential::file::FileKind;
use steward_domain::credential::kind::CredentialTypeInput;
use steward_domain::credential::status::{CredentialStatus, ReviewRefusal, may_review};
use steward_domain::credential::trust::{Weighed, trust_score};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::credentials::{
    CredentialRecord, CredentialStore, CredentialTypeRecord, CredentialWriteError, object_key,
};
use steward_store::objects::Bucket;

/// How long an upload URL can be used.
pub const UPLOAD_VALID: Duration = Duration::from_secs(10 * 60);

pub struct CredentialsApi {
    pub(crate) guard: Guard,
    pub(crate) store: CredentialStore,
    pub(crate) bucket: Bucket,
    pub(crate) auditor: Auditor,
    pub(crate) identity: steward_store::identity::IdentityStore,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCredential {
    type_id: String,
    content_type: String,
    size: u64,
    #[serde(default)]
    expires_at: Option<Timestamp>,
}

fn type_view(record: &CredentialTypeRecord) -> Value {
    let mut view = json!(record.kind);
    view["id"] = json!(record.type_id);
    view["version"] = json!(record.version);
    view
}

fn view(record: &CredentialRecord) -> Value {
    json!({
        "id": record.credential_id,
        "provider": record.provider,
        "type_id": record.type_id,
        "content_type": record.file_kind,
        "declared_bytes": record.declared_bytes,
        "status": record.status,
        "sha256": record.sha256,
        "uploaded_at": record.uploaded_at,
        "review_due": record.review_due,
        "expires_at": record.expires_at,
        "decided_by": record.decided_by,
        "reason": record.reason,
        "version": record.version,
        "created_at": record.created_at,
    })
}

/// When a URL presigned now for `valid` stops working.
fn valid_until(valid: Duration) -> Result<String, ApiError> {
    let valid = jiff::SignedDuration::try_from(valid).map_err(ApiError::internal)?;
    Ok((Timestamp::now() + valid).to_string())
}

fn stale(error: CredentialWriteError) -> ApiError {
    match error {
        CredentialWriteError::Stale => ApiError::Conflict("it changed meanwhile; try again".into()),
        CredentialWriteError::Store(error) => error.into(),
    }
}

impl CredentialsApi {
    /// `POST /v1/credential-types`.
    async fn create_type(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialTypesManage)
            .await?;
        let kind = request
            .json::<CredentialTypeInput>()?
            .parse()
            .map_err(ApiError::invalid)?;
        let tenant_id = caller.tenant_id();
        let type_id = new_id("ct");
        let now = Timestamp::now().to_string();
        let (pk, sk) = CredentialTypeRecord::key(tenant_id, &type_id);
        let record = CredentialTypeRecord {
            pk,
            sk,
            type_id: type_id.clone(),
            tenant_id: tenant_id.to_owned(),
            kind,
            version: 1,
            created_at: now.clone(),
            updated_at: now,
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "credential_type.create",
                target: &format!("credential_type:{type_id}"),
                before: Value::Null,
                after: type_view(&record),
            },
        );
        self.store
            .put_type(&record, None, &audit)
            .await
            .map_err(stale)?;
        api::json(StatusCode::CREATED, &type_view(&record))
    }

    /// `GET /v1/credential-types`.
    async fn types(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialsUpload)
            .await?;
        let types = self.store.types(caller.tenant_id()).await?;
        let items: Vec<Value> = types.iter().map(type_view).collect();
        api::json(StatusCode::OK, &json!({ "items": items }))
    }

    /// `POST /v1/credentials`: the record, and where to upload its file.
    async fn create(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialsUpload)
            .await?;
        let input: NewCredential = request.json()?;
        let tenant_id = caller.tenant_id();
        let kind = self
            .store
            .credential_type(tenant_id, &input.type_id)
            .await?
            .ok_or_else(|| ApiError::validation("type_id", "no such credential type"))?;
        let file_kind = FileKind::parse(&input.content_type)
            .filter(|k| kind.kind.accepted_types.contains(k))
            .ok_or_else(|| {
                let accepted: Vec<&str> =
                    kind.kind.accepted_types.iter().map(|k| k.mime()).collect();
                ApiError::validation("content_type", format!("one of {}", accepted.join(", ")))
            })?;
        if !(1..=kind.kind.max_bytes).contains(&input.size) {
            return Err(ApiError::validation(
                "size",
                format!("1 to {} bytes", kind.kind.max_bytes),
            ));
        }
        let now = Timestamp::now();
        match (kind.kind.expiry_required, input.expires_at) {
            (true, None) => {
                return Err(ApiError::validation("expires_at", "required for this type"));
            }
            (_, Some(at)) if at <= now => {
                return Err(ApiError::validation("expires_at", "in the future"));
            }
            _ => {}
        }
        let credential_id = new_id("cr");
        let key = object_key(tenant_id, &credential_id, file_kind);
        let (pk, sk) = CredentialRecord::key(tenant_id, &credential_id);
        let record = CredentialRecord {
            pk,
            sk,
            credential_id: credential_id.clone(),
            tenant_id: tenant_id.to_owned(),
            provider: caller.user_id().to_owned(),
            type_id: kind.type_id.clone(),
            file_kind,
            declared_bytes: input.size,
            object_key: key.clone(),
            status: CredentialStatus::AwaitingUpload,
            version: 1,
            created_at: now.to_string(),
            updated_at: now.to_string(),
            uploaded_at: None,
            sha256: None,
            review_due: None,
            escalated_at: None,
            expires_at: input.expires_at.map(|at| at.to_string()),
            reminded_at: None,
            decided_by: None,
            reason: None,
        };
        let upload = self
            .bucket
            .presign_upload(&key, file_kind.mime(), input.size, UPLOAD_VALID)
            .await?;
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "credential.create",
                target: &format!("credential:{credential_id}"),
                before: Value::Null,
                after: view(&record),
            },
        );
        self.store
            .put(&record, None, Some(&audit))
            .await
            .map_err(stale)?;
        let mut body = view(&record);
        body["upload"] = json!({
            "url": upload.url,
            "method": upload.method,
            "headers": upload.headers,
            "expires_at": valid_until(UPLOAD_VALID)?,
        });
        api::json(StatusCode::CREATED, &body)
    }

    /// `GET /v1/credentials`: the caller's own.
    async fn mine(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialsUpload)
            .await?;
        let records = self
            .store
            .of_provider(caller.tenant_id(), caller.user_id())
            .await?;
        let items: Vec<Value> = records.iter().map(view).collect();
        api::json(StatusCode::OK, &json!({ "items": items }))
    }

    /// The credential the path names, in the caller's tenant, or 404.
    async fn found(
        &self,
        caller: &steward_access::Caller,
        request: &ApiRequest,
    ) -> Result<CredentialRecord, ApiError> {
        let id = request.path_param("credentialId")?;
        self.store
            .get(caller.tenant_id(), id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("credential {id}")))
    }

    /// `GET /v1/credentials/{credentialId}`: its provider's, or a reviewer's.
    async fn read(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialsUpload)
            .await?;
        let record = self.found(&caller, request).await?;
        if record.provider != caller.user_id() {
            self.guard.also(&caller, Permission::CredentialsReview)?;
        }
        api::json(StatusCode::OK, &view(&record))
    }
}

/// The name a credential's file is saved under: its id and the type it was checked to be
/// (`cr_0193….pdf`, the last part of its key).
fn download_name(record: &CredentialRecord) -> String {
    record
        .object_key
        .rsplit('/')
        .next()
        .unwrap_or(&record.credential_id)
        .to_owned()
}

/// How long a reviewer's download URL can be used.
pub const DOWNLOAD_VALID: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    #[serde(default)]
    reason: Option<steward_domain::text::Reason>,
}

impl CredentialsApi {
    /// `GET /v1/credential-reviews`: the files waiting for review, oldest upload first, each
    /// flagged `overdue` past its SLA.
    async fn review_queue(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialsReview)
            .await?;
        let now = Timestamp::now();
        let queue = self.store.review_queue(caller.tenant_id(), 500).await?;
        let items: Vec<Value> = queue
            .iter()
            .map(|record| {
                let mut item = view(record);
                let due = record
                    .review_due
                    .as_deref()
                    .and_then(|d| d.parse::<Timestamp>().ok());
                item["overdue"] = json!(due.is_some_and(|due| now > due));
                item
            })
            .collect();
        api::json(StatusCode::OK, &json!({ "items": items }))
    }

    /// The credential `credentialId`, for a reviewer.
    async fn for_review(
        &self,
        request: &ApiRequest,
    ) -> Result<(steward_access::Caller, CredentialRecord), ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialsReview)
            .await?;
        let record = self.found(&caller, request).await?;
        Ok((caller, record))
    }

    /// `POST /v1/credentials/{credentialId}/approve` and `/reject` (a reason required).
    async fn decide(
        &self,
        request: &ApiRequest,
        approve: bool,
    ) -> Result<Response<Body>, ApiError> {
        let (caller, current) = self.for_review(request).await?;
        let reason = request
            .json_or_default::<Decision>()?
            .reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if !approve && reason.is_none() {
            return Err(ApiError::validation("reason", "required to reject"));
        }
        may_review(caller.user_id(), &current.provider, current.status).map_err(|refusal| {
            match refusal {
                ReviewRefusal::OwnCredential => ApiError::Forbidden {
                    detail: refusal.to_string(),
                    permission: None,
                    feature: None,
                },
                ReviewRefusal::NotPending(_) => ApiError::Conflict(refusal.to_string()),
            }
        })?;
        let now = Timestamp::now().to_string();
        let mut next = current.revised(&now);
        next.status = if approve {
            CredentialStatus::Verified
        } else {
            CredentialStatus::Rejected
        };
        next.decided_by = Some(caller.user_id().to_owned());
        next.reason = reason;
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: if approve {
                    "credential.approve"
                } else {
                    "credential.reject"
                },
                target: &format!("credential:{}", current.credential_id),
                before: view(&current),
                after: view(&next),
            },
        );
        self.store
            .put(&next, Some(current.version), Some(&audit))
            .await
            .map_err(stale)?;
        api::json(StatusCode::OK, &view(&next))
    }

    /// `GET /v1/credentials/{credentialId}/download`: a short-lived URL of its file, for
    /// reviewers only.
    async fn download(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let (_, record) = self.for_review(request).await?;
        if matches!(
            record.status,
            CredentialStatus::AwaitingUpload | CredentialStatus::Rejected
        ) {
            return Err(ApiError::Conflict(format!(
                "credential {} has no file to download ({})",
                record.credential_id,
                record.status.as_str()
            )));
        }
        let url = self
            .bucket
            .presign_download(&record.object_key, &download_name(&record), DOWNLOAD_VALID)
            .await?;
        api::json(
            StatusCode::OK,
            &json!({ "url": url.url, "expires_at": valid_until(DOWNLOAD_VALID)? }),
        )
    }
}

impl CredentialsApi {
    /// `GET /v1/members/{userId}/trust`: a provider's trust score with its breakdown; the
    /// member themselves, or a reviewer.
    async fn trust(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::CredentialsUpload)
            .await?;
        let member = request.path_param("userId")?;
        if member != caller.user_id() {
            self.guard.also(&caller, Permission::CredentialsReview)?;
        }
        let tenant_id = caller.tenant_id();
        // Another tenant's member (or nobody) is not found, like any other tenant's id.
        if self.identity.user(tenant_id, member).await?.is_none() {
            return Err(ApiError::NotFound(format!("member {member}")));
        }
        let (types, held) = tokio::try_join!(
            self.store.types(tenant_id),
            self.store.of_provider(tenant_id, member),
        )?;
        let weighed: Vec<Weighed<'_>> = types
            .iter()
            .map(|t| Weighed {
                type_id: &t.type_id,
                name: &t.kind.name,
                weight: t.kind.weight,
            })
            .collect();
        let holdings: Vec<Held<'_>> = held.iter().map(CredentialRecord::held).collect();
        let mut score = json!(trust_score(&weighed, &holdings, Timestamp::now()));
        score["member_id"] = json!(member);
        api::json(StatusCode::OK, &score)
    }
}

steward_kit::routes! {
    /// The credentials API: credential types, uploads, the review queue, trust scores and downloads.
    pub const ROUTES for CredentialsApi, fn route(request) {
        "POST /v1/credential-types" => create_type,
        "GET /v1/credential-types" => types,
        "POST /v1/credentials" => create,
        "GET /v1/credentials" => mine,
        "GET /v1/credentials/{credentialId}" => read,
        "GET /v1/credential-reviews" => review_queue,
        "GET /v1/members/{userId}/trust" => trust,
        "POST /v1/credentials/{credentialId}/approve" => approve,
        "POST /v1/credentials/{credentialId}/reject" => reject,
        "GET /v1/credentials/{credentialId}/download" => download,
    }
}

steward_kit::routed_api!(CredentialsApi, route);

impl CredentialsApi {
    /// `POST …/approve`.
    async fn approve(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.decide(request, true).await
    }

    /// `POST …/reject`.
    async fn reject(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        self.decide(request, false).await
    }
}

#[cfg(test)]
mod route_table {
    #[test]
    fn the_route_table_is_what_the_template_deploys_to_the_function() {
        steward_template::Template::assert_routes("CredentialsFunction", super::ROUTES);
    }
}
