//! Changing one's email (issue 26, item 2): the new address is confirmed before it takes
//! effect, and the old one is told at once.
//!
//! `POST /v1/me/email` (signed in, with the current password) keeps a pending change and
//! queues it: the account mail function sends the new address a link and the old one a notice.
//! Whether the new address has an account is not said here (that would tell any member who
//! has one); following the link (`POST /v1/me/email/verify`) moves the account in one
//! transaction, or answers 409 if the address is taken.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_access::{new_id, new_secret};
use steward_authz::Permission;
use steward_domain::digest::IdToken;

use steward_domain::identity::recovery::SIGN_UP_HOURS;
use steward_domain::identity::{Email, Password};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::account_mail::AccountMail;
use steward_store::email_change::{EmailChangeError, PendingEmailChange};

use crate::emailed::{LinkToken, accepted, refused};
use crate::handlers::{Identity, current_password};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AskChange {
    new_email: Email,
    current_password: Password,
}

fn spent() -> ApiError {
    refused("new address")
}

impl Identity {
    /// `POST /v1/me/email`: 202; the change waits for the new address to be confirmed.
    pub(crate) async fn ask_email_change(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MeUpdate).await?;
        let user = &caller.user;
        let body: AskChange = request.json()?;
        let account = self.account_of(user).await?;
        current_password(&account, &body.current_password)?;
        if body.new_email.as_str() == account.email {
            return Err(ApiError::validation(
                "new_email",
                "is the account's address already",
            ));
        }
        let now = Timestamp::now();
        let change_id = new_id("emc");
        let token = IdToken::new(&change_id, &new_secret());
        let (pk, sk) = PendingEmailChange::key(&change_id);
        let pending = PendingEmailChange {
            pk,
            sk,
            change_id: change_id.clone(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.user_id.clone(),
            old_email: user.email.clone(),
            new_email: body.new_email.to_string(),
            token_hash: token.hash(),
            created_at: now.to_string(),
            expires_at: now.as_second() + SIGN_UP_HOURS * 3_600,
        };
        let audit = self.audit(
            request,
            &user.tenant_id,
            &user.user_id,
            "user.email_change_request",
            &format!("user:{}", user.user_id),
            json!({ "change_id": change_id }),
        );
        self.email_changes.ask(&pending, &audit).await?;
        self.account_mail
            .send(&AccountMail::EmailChange {
                old_email: pending.old_email,
                new_email: pending.new_email,
                name: user.name.clone(),
                token: token.expose(),
            })
            .await?;
        accepted(format!(
            "We sent a link to the new address to confirm it is yours, and told the current one. \
             The change takes effect when the link is followed (within {SIGN_UP_HOURS} hours)."
        ))
    }

    /// `POST /v1/me/email/verify`: the account moves to its new address, once.
    pub(crate) async fn confirm_email_change(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let body: LinkToken = request.json()?;
        let token = IdToken::parse(&body.token).ok_or_else(spent)?;
        let now = Timestamp::now().as_second();
        let change = self
            .email_changes
            .pending(token.id())
            .await?
            .filter(|c| c.token_hash == token.hash() && c.expires_at > now)
            .ok_or_else(spent)?;
        let asker = self
            .store
            .user(&change.tenant_id, &change.user_id)
            .await?
            .ok_or_else(spent)?;
        let (account, memberships) = self
            .account_partition_of(&asker)
            .await
            .map_err(|_| spent())?;
        let audits = self.audit_in_each(
            request,
            &memberships,
            "user.email_change",
            &json!({ "change_id": change.change_id, "email": change.new_email }),
        );
        match self
            .email_changes
            .confirm(&change, &token.hash(), &account, &memberships, &audits)
            .await
        {
            Ok(()) => {}
            Err(EmailChangeError::Taken) => {
                return Err(ApiError::Conflict(
                    "that address has a Steward account already".into(),
                ));
            }
            Err(EmailChangeError::Spent) => return Err(spent()),
            Err(EmailChangeError::Store(error)) => return Err(error.into()),
        }
        api::json(StatusCode::OK, &json!({ "email": change.new_email }))
    }
}
