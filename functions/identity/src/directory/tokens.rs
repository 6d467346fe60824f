//! The organisation's SCIM tokens: `POST`, `GET /v1/settings/scim/tokens` and `DELETE
//! /v1/settings/scim/tokens/{tokenId}`. A token is `<tenant>.<id>.<secret>`, shown once and
//! kept as its hash; rotating is making a new one, moving the directory to it, and revoking
//! the old.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Record, new_id, new_secret};
use steward_authz::Permission;
use steward_domain::digest::TenantToken;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, no_content};
use steward_store::directory::{DirectoryTokenRecord, MAX_TOKENS};

use crate::handlers::{Identity, name};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
}

fn view(token: &DirectoryTokenRecord) -> Value {
    json!({
        "id": token.token_id,
        "name": token.name,
        "created_at": token.created_at,
        "created_by": token.created_by,
    })
}

impl Identity {
    /// `POST /v1/settings/scim/tokens`: 201 with the token, this once.
    pub(crate) async fn create_scim_token(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::SsoManage).await?;
        let tenant_id = caller.tenant_id();
        let body: NewToken = request.json()?;
        let name = name("name", &body.name)?;
        if self.directories.tokens(tenant_id).await?.len() >= MAX_TOKENS {
            return Err(ApiError::Conflict(format!(
                "an organisation has at most {MAX_TOKENS} SCIM tokens: revoke one first"
            )));
        }
        let token_id = new_id("scim");
        let token = TenantToken::new(tenant_id, &token_id, &new_secret());
        let (pk, sk) = DirectoryTokenRecord::key(tenant_id, &token_id);
        let record = DirectoryTokenRecord {
            pk,
            sk,
            tenant_id: tenant_id.to_owned(),
            token_id: token_id.clone(),
            token_hash: token.hash(),
            name,
            created_at: Timestamp::now().to_string(),
            created_by: caller.user_id().to_owned(),
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "scim_token.create",
                target: &format!("scim_token:{token_id}"),
                before: Value::Null,
                after: view(&record),
            },
        );
        self.directories.create(&record, &audit).await?;
        let mut answer = view(&record);
        answer["token"] = json!(token.expose());
        answer["base_url"] = json!(format!("{}/scim/v2", self.public_api_url));
        api::json(StatusCode::CREATED, &answer)
    }

    /// `GET /v1/settings/scim/tokens`: the tokens, never their secrets.
    pub(crate) async fn scim_tokens(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::SsoManage).await?;
        let tokens = self.directories.tokens(caller.tenant_id()).await?;
        api::json(
            StatusCode::OK,
            &json!({ "items": tokens.iter().map(view).collect::<Vec<_>>() }),
        )
    }

    /// `DELETE /v1/settings/scim/tokens/{tokenId}`: the directory using it is refused from now.
    pub(crate) async fn revoke_scim_token(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::SsoManage).await?;
        let tenant_id = caller.tenant_id();
        let token_id = request.path_param("tokenId")?;
        let not_found = || ApiError::NotFound(format!("SCIM token {token_id}"));
        let token = self
            .directories
            .token(tenant_id, token_id)
            .await?
            .ok_or_else(not_found)?;
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "scim_token.revoke",
                target: &format!("scim_token:{token_id}"),
                before: view(&token),
                after: Value::Null,
            },
        );
        if !self.directories.revoke(tenant_id, token_id, &audit).await? {
            return Err(not_found());
        }
        no_content()
    }
}
