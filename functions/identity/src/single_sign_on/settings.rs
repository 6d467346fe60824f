//! An organisation's OpenID provider, as its admins configure it: `GET`, `PUT` and `DELETE
//! /v1/settings/sso`. The client secret is sealed before it is stored and never answered; the
//! provider's discovery document is read before anything is saved, so a typo in the issuer is
//! told at once.

use std::collections::{BTreeMap, BTreeSet};

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Caller, Record};
use steward_authz::Permission;
use steward_domain::access::{Change, RoleRef};
use steward_domain::sealed;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, no_content};
use steward_store::audit::AuditEntry;
use steward_store::single_sign_on::{ProviderRecord, ProviderWriteError};

use crate::handlers::Identity;

/// The most domains one provider covers, and groups it maps.
const MAX_DOMAINS: usize = 20;
const MAX_GROUPS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderSettings {
    issuer: String,
    client_id: String,
    /// Needed the first time; kept as it is when left out of a change.
    #[serde(default)]
    client_secret: Option<String>,
    domains: Vec<String>,
    #[serde(default = "member")]
    default_role: String,
    #[serde(default = "groups")]
    groups_claim: String,
    #[serde(default)]
    group_roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    sso_only: bool,
}

fn member() -> String {
    "member".into()
}

fn groups() -> String {
    "groups".into()
}

/// An issuer Steward may call: `https://`, or plain HTTP on this machine's loopback when the
/// API itself is served there (a local stack and its test provider), never anything else.
pub(crate) fn issuer(text: &str, public_api_url: &str) -> Result<String, ApiError> {
    let refuse = |why: &str| ApiError::validation("issuer", why);
    let url = url::Url::parse(text).map_err(|_| refuse("is not a URL"))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(refuse(
            "has no query, fragment or user (OpenID Connect Discovery §2)",
        ));
    }
    let loopback =
        |url: &url::Url| matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let local_stack =
        url::Url::parse(public_api_url).is_ok_and(|api| api.scheme() == "http" && loopback(&api));
    match url.scheme() {
        "https" => {}
        "http" if local_stack && loopback(&url) => {}
        _ => return Err(refuse("must be an https:// URL")),
    }
    // As the provider names itself: the discovery document must say exactly this.
    Ok(text.trim_end_matches('/').to_owned())
}

/// A lowercase DNS name of at least two labels.
fn domain(text: &str) -> Result<String, ApiError> {
    let domain = text.trim().to_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if domain.len() > 253 || domain.split('.').count() < 2 || !domain.split('.').all(label_ok) {
        return Err(ApiError::validation(
            "domains",
            format!("{text:?} is not an email domain (example.com)"),
        ));
    }
    Ok(domain)
}

fn bounded(field: &str, text: &str, most: usize) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.len() > most || text.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            format!("must be 1 to {most} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// What is answered of a provider: everything but the secret, and what to register at it.
fn view(identity: &Identity, provider: &ProviderRecord) -> Value {
    json!({
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret_set": true,
        "domains": provider.domains,
        "default_role": provider.default_role,
        "groups_claim": provider.groups_claim,
        "group_roles": provider.group_roles,
        "sso_only": provider.sso_only,
        "updated_at": provider.updated_at,
        "redirect_uri": identity.sso_redirect_uri(),
        "sign_in_url": format!(
            "{}/v1/auth/sso/start?tenant={}",
            identity.public_api_url, provider.tenant_id
        ),
    })
}

impl Identity {
    /// The audit entry of a change of the settings, from `before` to `after`.
    fn settings_audit(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        before: Value,
        after: Value,
    ) -> AuditEntry {
        self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "settings.sso",
                target: &format!("tenant:{}", caller.tenant_id()),
                before,
                after,
            },
        )
    }

    /// `GET /v1/settings/sso`.
    pub(crate) async fn sso_settings(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::SsoManage).await?;
        let provider = self
            .sso
            .provider(caller.tenant_id())
            .await?
            .ok_or_else(|| ApiError::NotFound("single sign-on settings".into()))?;
        api::json(StatusCode::OK, &view(self, &provider))
    }

    /// `PUT /v1/settings/sso`.
    pub(crate) async fn set_sso_settings(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::SsoManage).await?;
        let tenant_id = caller.tenant_id();
        let body: ProviderSettings = request.json()?;
        if self.public_api_url.is_empty() {
            return Err(ApiError::Conflict(
                "this deployment has no PublicApiUrl, which the provider redirects back to".into(),
            ));
        }
        let issuer = issuer(&body.issuer, &self.public_api_url)?;
        let client_id = bounded("client_id", &body.client_id, 255)?;
        let mut domains = BTreeSet::new();
        for text in &body.domains {
            domains.insert(domain(text)?);
        }
        if domains.is_empty() || domains.len() > MAX_DOMAINS {
            return Err(ApiError::validation(
                "domains",
                format!("name 1 to {MAX_DOMAINS} email domains"),
            ));
        }
        let groups_claim = bounded("groups_claim", &body.groups_claim, 64)?;
        if body.group_roles.len() > MAX_GROUPS {
            return Err(ApiError::validation(
                "group_roles",
                format!("map at most {MAX_GROUPS} groups"),
            ));
        }
        // Every role named exists, none is owner (owners are made by people), and the admin
        // holds what each grants: a mapping hands out no more than its author may.
        let (_, state) = self
            .access
            .load(tenant_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let role = |field: &str, text: &str| -> Result<RoleRef, ApiError> {
            let role = RoleRef::parse(text)
                .map_err(|_| ApiError::validation(field, format!("{text:?} is not a role")))?;
            if role == RoleRef::OWNER || !state.role_exists(&role) || role.as_str() == "operator" {
                return Err(ApiError::validation(
                    field,
                    format!("{text:?} is not a role this organisation can hand out by sign-in"),
                ));
            }
            Ok(role)
        };
        let mut named: BTreeSet<RoleRef> =
            BTreeSet::from([role("default_role", &body.default_role)?]);
        for roles in body.group_roles.values() {
            for text in roles {
                named.insert(role("group_roles", text)?);
            }
        }
        Change::AddMember {
            user_id: String::new(),
            roles: named,
        }
        .authorised_for(caller.user_id(), &state)
        .map_err(|error| ApiError::Forbidden {
            detail: error.to_string(),
            permission: None,
            feature: None,
        })?;
        let previous = self.sso.provider(tenant_id).await?;
        let sealed_client_secret = match (&body.client_secret, &previous) {
            (Some(secret), _) => sealed::seal(
                bounded("client_secret", secret, 512)?.as_bytes(),
                &self.keys.client_secrets,
                tenant_id,
            ),
            (None, Some(previous)) => previous.sealed_client_secret.clone(),
            (None, None) => {
                return Err(ApiError::validation(
                    "client_secret",
                    "is needed the first time",
                ));
            }
        };
        // The provider answers as the issuer it is said to be, before anything is kept.
        self.providers.discover(&issuer).await?;
        let (pk, sk) = ProviderRecord::key(tenant_id);
        let provider = ProviderRecord {
            pk,
            sk,
            tenant_id: tenant_id.to_owned(),
            issuer,
            client_id,
            sealed_client_secret,
            domains: domains.into_iter().collect(),
            default_role: body.default_role.trim().to_owned(),
            groups_claim,
            group_roles: body.group_roles,
            sso_only: body.sso_only,
            updated_at: Timestamp::now().to_string(),
            version: previous.as_ref().map_or(1, |p| p.version + 1),
        };
        let audit = self.settings_audit(
            request,
            &caller,
            previous.as_ref().map_or(Value::Null, |p| view(self, p)),
            view(self, &provider),
        );
        match self.sso.save(&provider, previous.as_ref(), &audit).await {
            Ok(()) => api::json(StatusCode::OK, &view(self, &provider)),
            Err(ProviderWriteError::DomainTaken(domain)) => Err(ApiError::Conflict(format!(
                "{domain} is covered by another organisation's single sign-on"
            ))),
            Err(ProviderWriteError::Moved) => Err(ApiError::Conflict(
                "the single sign-on settings changed meanwhile: read them again".into(),
            )),
            Err(ProviderWriteError::Store(error)) => Err(error.into()),
        }
    }

    /// `DELETE /v1/settings/sso`: its members sign in with passwords again (those made by
    /// sign-in have none: they set one through a password reset).
    pub(crate) async fn remove_sso_settings(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::SsoManage).await?;
        let tenant_id = caller.tenant_id();
        let provider = self
            .sso
            .provider(tenant_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("single sign-on settings".into()))?;
        let audit = self.settings_audit(request, &caller, view(self, &provider), Value::Null);
        match self.sso.remove(&provider, &audit).await {
            Ok(()) => no_content(),
            Err(ProviderWriteError::Store(error)) => Err(error.into()),
            Err(_) => Err(ApiError::Conflict(
                "the single sign-on settings changed meanwhile: read them again".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuer_is_https_or_on_the_loopback_of_a_local_stack() {
        let deployed = "https://rooms.example.com";
        let local = "http://127.0.0.1:3000";
        assert_eq!(
            issuer("https://login.example.com/tenant/", deployed).unwrap(),
            "https://login.example.com/tenant"
        );
        assert!(issuer("http://127.0.0.1:9000", local).is_ok());
        for (text, api) in [
            ("http://127.0.0.1:9000", deployed),
            ("http://login.example.com", local),
            ("http://169.254.169.254", local),
            ("ftp://login.example.com", deployed),
            ("https://login.example.com?x=1", deployed),
            ("not a url", deployed),
        ] {
            assert!(issuer(text, api).is_err(), "{text} with {api}");
        }
    }

    #[test]
    fn domains_are_lowercase_names_of_two_labels_or_more() {
        assert_eq!(
            domain(" People.Example.COM ").unwrap(),
            "people.example.com"
        );
        for text in [
            "localhost",
            "-bad.com",
            "a..b",
            "spa ce.com",
            "ex_ample.com",
            "",
        ] {
            assert!(domain(text).is_err(), "{text}");
        }
    }
}
