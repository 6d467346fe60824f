//! The tenants' OpenID providers over HTTP: their discovery documents and signing keys, read
//! once and kept for an hour (the keys read again, at most twice a minute, when a token names
//! one not yet seen: the provider rotated them), and the exchange of a code for tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use steward_domain::identity::single_sign_on::{JwkSet, ProviderMetadata};
use steward_kit::ApiError;

/// How long a discovery document and its keys are trusted without reading them again.
const KEPT_FOR: Duration = Duration::from_secs(3600);
/// The least time between two reads of a provider's keys for an unknown key id: tokens naming
/// made-up ids make at most one request to the provider in this while.
const KEYS_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// A sign-in waits this long for the provider at most, per request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// What a person is told to wait when the provider does not answer.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// One provider as read: its document and keys, and when each was read.
#[derive(Clone)]
struct Known {
    metadata: ProviderMetadata,
    keys: JwkSet,
    read_at: Instant,
    /// When the keys were last read again for a key id not among them.
    read_again_at: Option<Instant>,
}

/// The tokens a code is exchanged for; only the ID token is used.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    pub id_token: String,
}

/// The client built once per instance, and what it learnt of each provider.
pub struct Providers {
    http: reqwest::Client,
    known: Mutex<HashMap<String, Known>>,
}

impl Providers {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            // A provider's answers are read as they come: a redirect is not followed to
            // wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("a client with TLS and timeouts builds");
        Self {
            http,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, issuer: &str) -> Option<Known> {
        self.known
            .lock()
            .expect("the provider cache is never poisoned")
            .get(issuer)
            .filter(|known| known.read_at.elapsed() < KEPT_FOR)
            .cloned()
    }

    fn keep(&self, issuer: &str, known: Known) {
        self.known
            .lock()
            .expect("the provider cache is never poisoned")
            .insert(issuer.to_owned(), known);
    }

    /// `issuer`'s discovery document and keys, read now unless kept.
    pub async fn discover(&self, issuer: &str) -> Result<(ProviderMetadata, JwkSet), ApiError> {
        if let Some(known) = self.cached(issuer) {
            return Ok((known.metadata, known.keys));
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let metadata: ProviderMetadata = self.get_json(&url, "its discovery document").await?;
        metadata
            .check(issuer)
            .map_err(|error| ApiError::ProviderFailed(error.to_string()))?;
        let keys: JwkSet = self.get_json(&metadata.jwks_uri, "its keys").await?;
        self.keep(
            issuer,
            Known {
                metadata: metadata.clone(),
                keys: keys.clone(),
                read_at: Instant::now(),
                read_again_at: None,
            },
        );
        Ok((metadata, keys))
    }

    /// `issuer`'s keys read again (a token named a key not among them), unless they were read
    /// moments ago: `None` then, and the token stays refused.
    pub async fn keys_again(&self, issuer: &str) -> Result<Option<JwkSet>, ApiError> {
        let Some(known) = self.cached(issuer) else {
            return Ok(Some(self.discover(issuer).await?.1));
        };
        if known
            .read_again_at
            .is_some_and(|at| at.elapsed() < KEYS_AT_MOST_EVERY)
        {
            return Ok(None);
        }
        let keys: JwkSet = self.get_json(&known.metadata.jwks_uri, "its keys").await?;
        self.keep(
            issuer,
            Known {
                keys: keys.clone(),
                read_again_at: Some(Instant::now()),
                ..known
            },
        );
        Ok(Some(keys))
    }

    /// Exchanges `code` at the token endpoint (RFC 6749 §4.1.3 with PKCE's verifier), the
    /// client authenticated with HTTP Basic (`client_secret_basic`, the default of OpenID
    /// providers). A provider that refuses the code (used, expired, not this client's) is a
    /// refused sign-in; what it said is logged, not answered.
    pub async fn exchange(
        &self,
        token_endpoint: &str,
        client: (&str, &str),
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenAnswer, ApiError> {
        let (client_id, client_secret) = client;
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let response = self
            .http
            .post(token_endpoint)
            .basic_auth(encode(client_id), Some(encode(client_secret)))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier),
            ])
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status.is_server_error() {
            return Err(unreachable(format!("the token endpoint answered {status}")));
        }
        if !status.is_success() {
            let said = response.text().await.unwrap_or_default();
            tracing::warn!(%status, answer = %said.chars().take(300).collect::<String>(), "the provider refused the code");
            return Err(ApiError::SignInRefused(
                "the identity provider did not accept the sign-in's code (used already, expired, or \
                 not this organisation's): sign in again"
                    .into(),
            ));
        }
        response
            .json()
            .await
            .map_err(|_| ApiError::ProviderFailed("its token answer has no ID token".into()))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, ApiError> {
        let response = self.http.get(url).send().await.map_err(unreachable)?;
        let status = response.status();
        if status.is_server_error() {
            return Err(unreachable(format!("{url} answered {status}")));
        }
        if !status.is_success() {
            return Err(ApiError::ProviderFailed(format!(
                "{what} answered {status}"
            )));
        }
        response.json().await.map_err(|_| {
            ApiError::ProviderFailed(format!("{what} is not what OpenID Connect describes"))
        })
    }
}

impl Default for Providers {
    fn default() -> Self {
        Self::new()
    }
}

/// A provider that did not answer (refused, timed out, 5xx): logged with its cause, answered
/// 503 with a while to wait.
fn unreachable(cause: impl std::fmt::Debug) -> ApiError {
    tracing::warn!(?cause, "the identity provider did not answer");
    ApiError::ProviderUnavailable {
        retry_after: RETRY_AFTER,
    }
}
