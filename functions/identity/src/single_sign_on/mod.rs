//! Signing in with an organisation's OpenID provider (OpenID Connect Core, authorization code
//! flow with PKCE, `state` and `nonce`): `GET /v1/auth/sso/start` sends the browser to the
//! provider; `GET /v1/auth/sso/callback` takes its code, checks the ID token, makes the
//! membership on a first sign-in, and hands the web app a single-use ticket in the URL's
//! fragment (which browsers never send to a server, so no access log holds it); the app opens
//! the session with `POST /v1/auth/login/tenant`. Tokens never travel in a URL.

mod membership;
pub(crate) mod provider;
mod settings;

use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::json;
use steward_access::{Caller, new_id, new_secret};
use steward_authz::{BuiltInRole, Permission};
use steward_domain::digest::IdToken;
use steward_domain::identity::Email;
use steward_domain::identity::single_sign_on::{self, Expected, IdTokenError};
use steward_domain::sealed;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::second_factor::SignInTicket;
use steward_store::single_sign_on::{ProviderRecord, SignInStateRecord};

use crate::handlers::Identity;

/// How long a sign-in may stay at the provider.
const STATE_SECONDS: i64 = 600;
/// How long the web app has to open the session with its ticket.
const TICKET_SECONDS: i64 = 120;
/// Who the audit log names for what the provider's sign-ins do.
pub(crate) const ACTOR: &str = "identity-provider";

/// The refusal of a password for `email`, whose organisation signs it in through its identity
/// provider only.
pub(crate) fn provider_only(email: &str) -> ApiError {
    let domain = email.rsplit_once('@').map_or("", |(_, domain)| domain);
    ApiError::Forbidden {
        detail: format!(
            "addresses at {domain} sign in through their organisation's identity provider, not \
             with a password: GET /v1/auth/sso/start?email=<your address>"
        ),
        permission: None,
        feature: None,
    }
}

impl Identity {
    /// Refuses a password (a reset, or one set with a reset's link) for an address whose
    /// organisation signs it in through its identity provider only.
    pub(crate) async fn refuse_password_if_provider_only(
        &self,
        email: &str,
    ) -> Result<(), ApiError> {
        if self.sso.password_refused_for(email).await? {
            return Err(provider_only(email));
        }
        Ok(())
    }

    /// Where the provider sends the browser back: registered at the provider as is.
    pub(crate) fn sso_redirect_uri(&self) -> String {
        format!("{}/v1/auth/sso/callback", self.public_api_url)
    }

    /// The tenant's provider, if it may sign people in: its licence has `sso` and is in force.
    async fn licensed_provider(
        &self,
        tenant_id: &str,
    ) -> Result<(ProviderRecord, Caller), ApiError> {
        let provider = self
            .sso
            .provider(tenant_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("single sign-on for that organisation".into()))?;
        let tenant = self
            .guard
            .allow_service(tenant_id, ACTOR, BuiltInRole::Admin, Permission::SsoManage)
            .await?;
        Ok((provider, tenant))
    }

    /// `GET /v1/auth/sso/start?email=…` (the provider covering the address's domain) or
    /// `?tenant=…`: a redirect to the provider's sign-in.
    pub(crate) async fn sso_start(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let email = match request.query.get("email") {
            Some(text) => Some(
                Email::parse(text)
                    .map_err(|error| ApiError::validation("email", error.to_string()))?,
            ),
            None => None,
        };
        let tenant_id = match (request.query.get("tenant"), &email) {
            (Some(tenant), _) => tenant.clone(),
            (None, Some(email)) => self
                .sso
                .tenant_of_domain(email.domain())
                .await?
                .ok_or_else(|| ApiError::NotFound("single sign-on for that address".into()))?,
            (None, None) => {
                return Err(ApiError::validation(
                    "email",
                    "name your address (email) or your organisation (tenant)",
                ));
            }
        };
        let (provider, _) = self.licensed_provider(&tenant_id).await?;
        let (metadata, _) = self.providers.discover(&provider.issuer).await?;
        let state_id = new_id("sso");
        let state = IdToken::new(&state_id, &new_secret());
        let (pk, sk) = SignInStateRecord::key(&state_id);
        let record = SignInStateRecord {
            pk,
            sk,
            state_id,
            state_hash: state.hash(),
            tenant_id: tenant_id.clone(),
            nonce: new_secret(),
            code_verifier: new_secret(),
            expires_at: Timestamp::now().as_second() + STATE_SECONDS,
        };
        self.sso.put_state(&record).await?;
        let redirect_uri = self.sso_redirect_uri();
        let challenge = single_sign_on::code_challenge(&record.code_verifier);
        let state_text = state.expose();
        let mut parameters = vec![
            ("response_type", "code"),
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", "openid email profile"),
            ("state", state_text.as_str()),
            ("nonce", record.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(email) = &email {
            parameters.push(("login_hint", email.as_str()));
        }
        let location = url::Url::parse_with_params(&metadata.authorization_endpoint, &parameters)
            .map_err(|_| {
            ApiError::ProviderFailed("its authorization endpoint is not a URL".into())
        })?;
        tracing::info!(tenant = %tenant_id, "single sign-on started");
        api::see_other(location.as_str())
    }

    /// `GET /v1/auth/sso/callback?code=…&state=…`.
    pub(crate) async fn sso_callback(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let query = |name: &str| request.query.get(name).map(String::as_str);
        let spent = || {
            ApiError::SignInRefused(
                "this sign-in is unknown, used already or expired: start again".into(),
            )
        };
        let state = query("state").and_then(IdToken::parse).ok_or_else(spent)?;
        let now = Timestamp::now().as_second();
        // Taken first, whatever follows: a state works once.
        let state = self
            .sso
            .take_state(state.id(), &state.hash(), now)
            .await?
            .ok_or_else(spent)?;
        let tenant_id = state.tenant_id.clone();
        let refuse = |reason: String| async move {
            self.audit_refusal(request, &tenant_id, &reason).await;
            Err(ApiError::SignInRefused(reason))
        };
        if let Some(error) = query("error") {
            // The provider's own code (RFC 6749 §4.1.2.1), never its description.
            let code: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return refuse(format!(
                "the identity provider did not sign you in ({code})"
            ))
            .await;
        }
        let Some(code) = query("code") else {
            return refuse("the identity provider sent no code".into()).await;
        };
        let (provider, tenant) = self.licensed_provider(&state.tenant_id).await?;
        let (metadata, keys) = self.providers.discover(&provider.issuer).await?;
        let secret = sealed::open(
            &provider.sealed_client_secret,
            &self.keys.client_secrets,
            &provider.tenant_id,
        )
        .map_err(|_| {
            tracing::error!(tenant = %provider.tenant_id, "the provider's client secret does not open");
            ApiError::Conflict(
                "the organisation's single sign-on needs its client secret entered again".into(),
            )
        })?;
        let secret = String::from_utf8(secret).map_err(ApiError::internal)?;
        let answer = match self
            .providers
            .exchange(
                &metadata.token_endpoint,
                (&provider.client_id, &secret),
                code,
                &state.code_verifier,
                &self.sso_redirect_uri(),
            )
            .await
        {
            Ok(answer) => answer,
            Err(ApiError::SignInRefused(reason)) => return refuse(reason).await,
            Err(other) => return Err(other),
        };
        let expected = Expected {
            issuer: &provider.issuer,
            client_id: &provider.client_id,
            nonce: &state.nonce,
            now,
            groups_claim: &provider.groups_claim,
        };
        let verified = match single_sign_on::verify(&answer.id_token, &keys, expected) {
            // A key not seen yet: the provider may have rotated its keys.
            Err(IdTokenError::UnknownKey) => {
                match self.providers.keys_again(&provider.issuer).await? {
                    Some(keys) => single_sign_on::verify(&answer.id_token, &keys, expected),
                    None => Err(IdTokenError::UnknownKey),
                }
            }
            other => other,
        };
        let person = match verified {
            Ok(person) => person,
            Err(error) => return refuse(error.to_string()).await,
        };
        let Ok(email) = Email::parse(&person.email) else {
            return refuse("the identity provider's address for you is not a usable one".into())
                .await;
        };
        if !provider
            .domains
            .iter()
            .any(|domain| domain == email.domain())
        {
            return refuse(format!(
                "{} is not among the domains this organisation's sign-in covers",
                email.domain()
            ))
            .await;
        }
        let (account_id, user) = self
            .provider_member(request, &provider, &tenant, &person, &email)
            .await?;
        if user.status != "active" {
            return refuse("your membership of this organisation is suspended".into()).await;
        }
        let audit = self.audit(
            request,
            &user.tenant_id,
            &user.user_id,
            "sso.sign_in",
            &format!("user:{}", user.user_id),
            json!({ "issuer": provider.issuer, "subject": person.subject }),
        );
        self.hand_over(&account_id, &user.tenant_id, &audit).await
    }

    /// A single-use ticket for the web app, which opens the session with it: in the fragment
    /// of a redirect to the app, or, where no app is deployed, in the answer's body.
    async fn hand_over(
        &self,
        account_id: &str,
        tenant_id: &str,
        audit: &steward_store::audit::AuditEntry,
    ) -> Result<Response<Body>, ApiError> {
        let ticket_id = new_id("sgn");
        let token = IdToken::new(&ticket_id, &new_secret());
        let (pk, sk) = SignInTicket::key(&ticket_id);
        let ticket = SignInTicket {
            pk,
            sk,
            ticket_id,
            account_id: account_id.to_owned(),
            token_hash: token.hash(),
            // The provider's sign-in policy is the organisation's: it stands for the second
            // factor the organisation may require (docs/architecture.md).
            second_factor: true,
            throttle_pair: String::new(),
            throttle_window_start: 0,
            throttle_known_until: 0,
            // A provider's ticket proves no password (login_to_tenant opens its session
            // unbound to one): nothing to read for it.
            password_changed_at: String::new(),
            expires_at: Timestamp::now().as_second() + TICKET_SECONDS,
            provider_tenant: Some(tenant_id.to_owned()),
        };
        self.sso.signed_in(&ticket, audit).await?;
        let ticket = token.expose();
        if self.app_base_url.is_empty() {
            return api::json(
                http::StatusCode::OK,
                &json!({ "ticket": ticket, "tenant_id": tenant_id, "ticket_expires_in": TICKET_SECONDS }),
            );
        }
        api::see_other(&format!(
            "{}/sso#ticket={ticket}&tenant_id={tenant_id}",
            self.app_base_url
        ))
    }

    /// Writes a refused sign-in to the tenant's audit log (a failed write is logged: the
    /// refusal is answered all the same).
    async fn audit_refusal(&self, request: &ApiRequest, tenant_id: &str, reason: &str) {
        let audit = self.audit(
            request,
            tenant_id,
            ACTOR,
            "sso.refused",
            &format!("tenant:{tenant_id}"),
            json!({ "reason": reason }),
        );
        tracing::warn!(tenant = %tenant_id, %reason, "single sign-on refused");
        if let Err(error) = self.sso.note(&audit).await {
            tracing::error!(%error, "the refusal's audit entry was not written");
        }
    }
}
