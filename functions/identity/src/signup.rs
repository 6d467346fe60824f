//! Signing up with a confirmed address (issue 26, item 2): nothing exists until the person
//! follows the link sent to the address, so nobody can squat a colleague's email.
//!
//! `POST /v1/signup` checks the form, hashes the password, keeps a pending sign-up and queues
//! its confirmation, answering 202 with one body whether or not the address has an account: the
//! account mail function sends the link, or, to an address with an account, a notice saying so.
//! `POST /v1/signup/verify` with the link's token creates the tenant, its owner and the first
//! session, and spends the token, in one transaction.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_access::{new_id, new_secret};
use steward_domain::access::RoleRef;
use steward_domain::digest::IdToken;
use steward_domain::identity::recovery::SIGN_UP_HOURS;
use steward_domain::identity::{Email, hashing};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::access::SnapshotRecord;
use steward_store::account_mail::AccountMail;
use steward_store::accounts::AccountRecord;
use steward_store::identity::{LicenceRecord, OpenedFor, SignUpError, TenantRecord, UserRecord};
use steward_store::signup::PendingSignUp;

use crate::emailed::{LinkToken, accepted, refused};
use crate::handlers::{Identity, name, new_password};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUp {
    tenant_name: String,
    name: String,
    email: Email,
    password: String,
}

fn spent() -> ApiError {
    refused("sign-up")
}

impl Identity {
    /// `POST /v1/signup`: 202 and the same body for every address.
    pub(crate) async fn sign_up(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let body: SignUp = request.json()?;
        let tenant_name = name("tenant_name", &body.tenant_name)?;
        let display_name = name("name", &body.name)?;
        let password = new_password(
            "password",
            &body.password,
            &[body.email.as_str(), &display_name],
        )?;
        self.count_ask(request, "SIGNUPASK").await?;
        let now = Timestamp::now();
        let signup_id = new_id("sgn");
        let token = IdToken::new(&signup_id, &new_secret());
        let (pk, sk) = PendingSignUp::key(&signup_id);
        let pending = PendingSignUp {
            pk,
            sk,
            signup_id,
            email: body.email.to_string(),
            name: display_name,
            tenant_name,
            password_hash: hashing::hash(&password).as_str().to_owned(),
            token_hash: token.hash(),
            created_at: now.to_string(),
            expires_at: now.as_second() + SIGN_UP_HOURS * 3_600,
        };
        self.signups.put(&pending).await?;
        self.account_mail
            .send(&AccountMail::SignUp {
                email: pending.email,
                name: pending.name,
                tenant_name: pending.tenant_name,
                token: token.expose(),
            })
            .await?;
        accepted(format!(
            "We sent a link to the address to confirm it is yours. It works once, for \
             {SIGN_UP_HOURS} hours; nothing is created until it is followed."
        ))
    }

    /// `POST /v1/signup/verify`: the tenant, its owner and a first session, once.
    pub(crate) async fn confirm_sign_up(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let body: LinkToken = request.json()?;
        let token = IdToken::parse(&body.token).ok_or_else(spent)?;
        let now = Timestamp::now();
        let pending = self
            .signups
            .pending(token.id())
            .await?
            .filter(|p| p.token_hash == token.hash() && p.expires_at > now.as_second())
            .ok_or_else(spent)?;
        let now_text = now.to_string();
        let tenant_id = new_id("tnt");
        let user_id = new_id("usr");
        let mut tenant = TenantRecord::new(&tenant_id, &pending.tenant_name, &now_text);
        if self.auto_provision {
            tenant.licence = LicenceRecord {
                seats_used: tenant.licence.seats_used,
                ..LicenceRecord::trial(now.as_second())
            };
        }
        let (pk, sk) = UserRecord::key(&tenant_id, &user_id);
        let owner = UserRecord {
            pk,
            sk,
            user_id: user_id.clone(),
            tenant_id: tenant_id.clone(),
            email: pending.email.clone(),
            name: pending.name.clone(),
            account_id: new_id("acc"),
            status: "active".into(),
            roles: vec![RoleRef::OWNER.to_string()],
            created_at: now_text.clone(),
        };
        let account = AccountRecord::new(
            &owner.account_id,
            &pending.email,
            &pending.name,
            &pending.password_hash,
            &now_text,
        );
        let snapshot =
            SnapshotRecord::founding(&tenant, &user_id, [RoleRef::OWNER].into(), &now_text);
        let (session, refresh) = self.prepare_session(request, &owner, now);
        // One entry for the whole sign-up: the tenant, its owner, and the first session.
        let audit = self.audit(
            request,
            &tenant_id,
            &user_id,
            "tenant.create",
            &format!("tenant:{tenant_id}"),
            json!({
                "name": tenant.name,
                "owner": user_id,
                "licence": tenant.licence.status,
                "session_id": session.session_id,
            }),
        );
        let token_hash = token.hash();
        let signed_up = self
            .store
            .sign_up(
                &tenant,
                &owner,
                &account,
                &snapshot,
                &audit,
                Some((&pending, token_hash.as_str())),
            )
            .await;
        match signed_up {
            Ok(()) => {}
            Err(SignUpError::EmailTaken) => {
                return Err(ApiError::Conflict(
                    "that email is already registered; sign in instead".into(),
                ));
            }
            Err(SignUpError::Spent) => return Err(spent()),
            Err(SignUpError::Store(error)) => return Err(error.into()),
        }
        let opened = OpenedFor {
            account_id: &account.account_id,
            proven: None,
        };
        self.store
            .create_session(&session, None, None, Some(opened))
            .await?;
        let tokens = self.tokens_for(&owner, &session.session_id, refresh, now);
        api::json(
            StatusCode::CREATED,
            &json!({
                "tenant": { "id": tenant_id, "name": tenant.name, "licence": tenant.licence },
                "user": { "id": user_id, "email": owner.email, "name": owner.name, "roles": owner.roles },
                "tokens": tokens,
            }),
        )
    }
}
