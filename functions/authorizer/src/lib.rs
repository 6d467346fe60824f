//! The HTTP API's Lambda authorizer (payload format 2.0, simple responses).
//!
//! It authenticates: the bearer token's signature, issuer, audience and expiry, and that its
//! session is still alive. It does not authorize: the function that owns a resource decides with
//! Cedar. It always answers `isAuthorized: true` with a context saying whether the caller is
//! authenticated, because an HTTP API authorizer can only deny with a bare 403, while Steward
//! answers a refused token with a 401 problem; steward-kit refuses such a context before any
//! handler runs (docs/architecture.md). API Gateway caches each answer per Authorization header
//! for the template's AuthorizerCacheSeconds: the bound on how late a revocation takes effect.

use jiff::Timestamp;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use steward_domain::identity::tokens::{self, AccessTokens, TokenError};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::runtime::{Error, Function};
use steward_store::identity::IdentityStore;
use steward_store::{SdkConfig, Table};

pub struct Authorizer {
    tokens: AccessTokens,
    store: IdentityStore,
}

/// Why a caller is not authenticated; logged, and named to the client only as "invalid token".
fn refused(reason: &str) -> Value {
    json!({ "isAuthorized": true, "context": { "authenticated": "false", "reason": reason } })
}

impl Authorizer {
    pub async fn decide(
        &self,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<Value, steward_store::StoreError> {
        let Some(token) = authorization.and_then(|value| value.strip_prefix("Bearer ")) else {
            return Ok(refused("no bearer token"));
        };
        let claims = match self.tokens.verify(token.trim(), now) {
            Ok(claims) => claims,
            Err(TokenError::Expired) => return Ok(refused("token expired")),
            Err(TokenError::Invalid) => return Ok(refused("token invalid")),
        };
        let session = self
            .store
            .session(&claims.tid, &claims.sub, &claims.sid)
            .await?
            .filter(|session| session.is_alive(now));
        let Some(session) = session else {
            return Ok(refused("session ended"));
        };
        Ok(json!({
            "isAuthorized": true,
            "context": {
                "authenticated": "true",
                "user_id": claims.sub,
                "tenant_id": claims.tid,
                "session_id": claims.sid,
                "second_factor": if session.second_factor { "true" } else { "false" },
            },
        }))
    }
}

impl Function for Authorizer {
    type Event = Value;
    type Output = Value;

    async fn call(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let payload = &event.payload;
        let authorization = payload["identitySource"][0]
            .as_str()
            .or_else(|| payload["headers"]["authorization"].as_str());
        let answer = self
            .decide(authorization, Timestamp::now().as_second())
            .await?;
        if answer["context"]["authenticated"] == "false" {
            tracing::info!(reason = %answer["context"]["reason"], route = %payload["routeKey"], "caller not authenticated");
        }
        Ok(answer)
    }
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<Authorizer, ConfigError> {
    let common: Common = env.parse()?;
    Ok(Authorizer {
        tokens: AccessTokens::new(&common.signing_secret.derive(tokens::KEY_PURPOSE)),
        store: IdentityStore::new(Table::new(aws, &common.table)),
    })
}

steward_kit::binaries! {
    "authorizer" => init,
}
