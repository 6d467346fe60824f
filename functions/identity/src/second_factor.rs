//! Setting up and turning off the second factor (TOTP): `POST /v1/me/mfa/totp` (the
//! secret, as an `otpauth://` URI for a QR code), `.../confirm` (a code from the app turns it
//! on and shows ten recovery codes, once), `.../disable` (a code turns it off).

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_authz::Permission;
use steward_domain::identity::Password;
use steward_domain::identity::second_factor::{self, TotpSecret};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, no_content};
use steward_store::accounts::AccountRecord;
use steward_store::second_factor::{FactorError, PendingTotp, TotpFactor};

use crate::handlers::{Identity, current_password};

/// How long a started set-up waits for its confirming code.
const SETUP_SECONDS: i64 = 600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    current_password: Password,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Code {
    code: String,
}

fn problem(error: FactorError) -> ApiError {
    match error {
        FactorError::AlreadyOn => ApiError::Conflict(
            "a second factor is set up already: turn it off first to set up another".into(),
        ),
        FactorError::Moved => {
            ApiError::Conflict("the second factor changed meanwhile: read it again".into())
        }
        FactorError::Store(error) => error.into(),
    }
}

impl Identity {
    /// The caller's account, and the audit entries of an account-wide change to it.
    async fn account_change(
        &self,
        request: &ApiRequest,
        action: &str,
    ) -> Result<(AccountRecord, Vec<steward_store::audit::AuditEntry>), ApiError> {
        let caller = self.guard.allow(request, Permission::MeUpdate).await?;
        let (account, memberships) = self.account_partition_of(&caller.user).await?;
        let audits = self.audit_in_each(request, &memberships, action, &json!({}));
        Ok((account, audits))
    }

    /// `POST /v1/me/mfa/totp`: a new secret to put in an authenticator app.
    pub(crate) async fn start_second_factor(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let (account, audits) = self.account_change(request, "user.mfa_setup").await?;
        let body: Start = request.json()?;
        current_password(&account, &body.current_password)?;
        let secret = TotpSecret::generate();
        let now = Timestamp::now();
        let pending = PendingTotp {
            sealed_secret: secret.seal(&self.keys.sealing, &account.account_id),
            created_at: now.to_string(),
            expires_at: now.as_second() + SETUP_SECONDS,
        };
        self.store
            .second_factor()
            .start(&account.account_id, &pending, &audits)
            .await
            .map_err(problem)?;
        api::json(
            StatusCode::CREATED,
            &json!({
                "secret": secret.base32(),
                "otpauth_uri": secret.uri(&account.email),
                "confirm_within_seconds": SETUP_SECONDS,
            }),
        )
    }

    /// `POST /v1/me/mfa/totp/confirm`: a code from the app turns the factor on; the recovery
    /// codes are in the answer, and nowhere else ever again.
    pub(crate) async fn confirm_second_factor(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let (account, audits) = self.account_change(request, "user.mfa_enable").await?;
        let body: Code = request.json()?;
        let now = Timestamp::now();
        let pending = account
            .totp_pending
            .as_ref()
            .filter(|pending| pending.expires_at > now.as_second())
            .ok_or_else(|| {
                ApiError::Conflict(
                    "no set-up is waiting (or it expired): start again with POST /v1/me/mfa/totp"
                        .into(),
                )
            })?;
        let secret = self.open_secret(&pending.sealed_secret, &account)?;
        let throttle = self
            .checked_throttle(request, "TOTP", &account.email)
            .await?;
        let Some(step) = secret.step_of(&body.code, throttle.now) else {
            throttle.fail().await?;
            return Err(ApiError::validation(
                "code",
                "is not the code the authenticator app shows for this secret now",
            ));
        };
        throttle.succeeded().await?;
        let codes = second_factor::recovery_codes();
        let factor = TotpFactor {
            sealed_secret: pending.sealed_secret.clone(),
            enabled_at: now.to_string(),
            last_step: step,
            recovery_hashes: codes
                .iter()
                .map(|code| second_factor::recovery_hash(code))
                .collect(),
        };
        self.store
            .second_factor()
            .enable(
                &account.account_id,
                &pending.sealed_secret,
                &factor,
                &audits,
            )
            .await
            .map_err(problem)?;
        api::json(StatusCode::OK, &json!({ "recovery_codes": codes }))
    }

    /// `POST /v1/me/mfa/totp/disable`: a code (or a recovery code) turns the factor off.
    pub(crate) async fn disable_second_factor(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let (account, audits) = self.account_change(request, "user.mfa_disable").await?;
        let body: Code = request.json()?;
        let Some(factor) = &account.totp else {
            return Err(ApiError::Conflict("no second factor is set up".into()));
        };
        self.check_code(request, &account, &body.code).await?;
        self.store
            .second_factor()
            .disable(&account.account_id, &factor.sealed_secret, &audits)
            .await
            .map_err(problem)?;
        no_content()
    }
}
