//! Choosing a new password with a link sent by email (issue 26, item 1).
//!
//! Asking for a link answers the same, in the same time, for every address: it counts the ask
//! against its source and queues it, and the account mail function finds out whether the
//! address has an account (`steward_store::account_mail`). Using a link is throttled as a
//! sign-in is, and sets the password, spends the link and ends every session in one write.

use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_domain::digest::IdToken;
use steward_domain::identity::hashing;
use steward_domain::identity::recovery::RESET_MINUTES;
use steward_kit::ApiError;
use steward_kit::api::{ApiRequest, no_content};
use steward_kit::retry::Optimistic;
use steward_store::account_mail::AccountMail;
use steward_store::recovery::ResetError;

use crate::emailed::{accepted, refused};
use crate::handlers::{Identity, new_password};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AskReset {
    email: steward_domain::identity::Email,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetPassword {
    token: String,
    new_password: String,
}

fn spent() -> ApiError {
    refused("password reset")
}

impl Identity {
    /// Counts one more ask of `kind` (a reset link, a sign-up) from the request's source in
    /// this window; past the per-source limit, 429. The same work for every address.
    pub(crate) async fn count_ask(&self, request: &ApiRequest, kind: &str) -> Result<(), ApiError> {
        let source = request.source_ip.as_deref().unwrap_or("");
        let now = Timestamp::now().as_second();
        let window = self.limits.window_seconds;
        let start = now - now.rem_euclid(window);
        let counter = self.keys.throttle_key(kind, source);
        let asked = self
            .store
            .count_failure(&counter, start, start + window)
            .await?;
        if asked > self.limits.per_source {
            return Err(ApiError::TooManyRequests {
                retry_after: std::time::Duration::from_secs((start + window - now).max(1) as u64),
            });
        }
        Ok(())
    }

    /// `POST /v1/auth/password-reset`: 202 and the same body for every address.
    pub(crate) async fn ask_password_reset(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let body: AskReset = request.json()?;
        self.count_ask(request, "RESETASK").await?;
        self.refuse_password_if_provider_only(body.email.as_str())
            .await?;
        self.account_mail
            .send(&AccountMail::PasswordReset {
                email: body.email.to_string(),
            })
            .await?;
        accepted(format!(
            "If an account uses this address, a link to choose a new password is on its way. It \
             works once, for {RESET_MINUTES} minutes."
        ))
    }

    /// `POST /v1/auth/password-reset/confirm`: the new password, set with the emailed token.
    pub(crate) async fn reset_password(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let body: ResetPassword = request.json()?;
        let token = IdToken::parse(&body.token);
        let reset = match &token {
            Some(token) => self.recovery.reset(token.id()).await?,
            None => None,
        };
        let email = reset
            .as_ref()
            .map_or_else(String::new, |reset| reset.email.clone());
        let throttle = self.checked_throttle(request, "RESET", &email).await?;
        let usable = match (&token, &reset) {
            (Some(token), Some(reset)) => {
                reset.token_hash == token.hash()
                    && reset.expires_at > throttle.now
                    && self.recovery.is_latest(reset).await?
            }
            _ => false,
        };
        let (Some(token), Some(reset)) = (token.filter(|_| usable), reset) else {
            throttle.fail().await?;
            return Err(spent());
        };
        let account = self
            .store
            .account(&reset.account_id)
            .await?
            .ok_or_else(spent)?;
        // A link asked for before the organisation turned password sign-in off sets nothing.
        self.refuse_password_if_provider_only(&account.email)
            .await?;
        let password = new_password("new_password", &body.new_password, &[&email, &account.name])?;
        let hash = hashing::hash(&password);
        // Conditioned on no session opened since they were read: a sign-in racing the reset
        // cannot keep a session proven with the old password.
        let mut tries = Optimistic::new();
        let mut ended = None;
        while tries.next().await {
            let sessions = self
                .open_sessions(&account.account_id)
                .await?
                .ok_or_else(spent)?;
            let audits = self.audit_each(
                request,
                &sessions,
                "user.password_reset",
                &json!({ "reset_id": reset.reset_id }),
            );
            let finished = self
                .recovery
                .finish(
                    &reset,
                    &token.hash(),
                    throttle.now,
                    hash.as_str(),
                    &Timestamp::now().to_string(),
                    &sessions,
                    &audits,
                )
                .await;
            match finished {
                Ok(()) => {
                    ended = Some(sessions);
                    break;
                }
                Err(ResetError::Moved) => continue,
                Err(ResetError::Spent) => {
                    throttle.fail().await?;
                    return Err(spent());
                }
                Err(ResetError::Store(error)) => return Err(error.into()),
            }
        }
        let sessions = ended.ok_or_else(|| tries.spent())?;
        // The password is set: a notice that fails to queue is logged, not the person's
        // problem (their link is spent, and a retry would be refused).
        // The notice names one membership; the account mail function finds the address there.
        let Some((membership, _)) = sessions.by_membership.first() else {
            return no_content();
        };
        let notice = AccountMail::PasswordChanged {
            tenant_id: membership.tenant_id.clone(),
            user_id: membership.user_id.clone(),
        };
        if let Err(error) = self.account_mail.send(&notice).await {
            tracing::error!(%error, account = %account.account_id, "the password-changed notice was not queued");
        }
        no_content()
    }
}
