//! Signing in: the password, then the second factor if the account has one, then the
//! organisation: named, the only one, or chosen afterwards with a ticket.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_access::{new_id, new_secret};
use steward_domain::digest::IdToken;
use steward_domain::identity::hashing::{self, PasswordHashString};
use steward_domain::identity::{Email, Password};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::accounts::{AccountRecord, Membership};
use steward_store::identity::{OpenedFor, SignedIn};
use steward_store::second_factor::SignInTicket;

use crate::accounts::{self, Chosen, MembershipView, SignedInView};
use crate::handlers::Identity;
use crate::throttle::{Counted, Throttle, ThrottleKeys};

/// How long a sign-in waits for its organisation to be chosen.
const TICKET_SECONDS: i64 = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: Email,
    password: Password,
    /// Which organisation to sign in to; needed when the account has several.
    #[serde(default)]
    tenant_id: Option<String>,
    /// The second factor's code, or a recovery code, for an account that has one.
    #[serde(default)]
    code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToTenant {
    ticket: String,
    tenant_id: String,
}

impl Identity {
    /// `POST /v1/auth/login`.
    pub(crate) async fn login(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let body: Login = request.json()?;
        let source = request.source_ip.as_deref().unwrap_or("");
        let email = body.email.as_str();
        let throttle = Throttle {
            store: &self.store,
            limits: self.limits,
            keys: ThrottleKeys::of(&self.keys, "", email, source),
            now: Timestamp::now().as_second(),
        };
        let reads = self
            .store
            .sign_in_reads(
                throttle.counters(),
                throttle.window_start(),
                throttle.now,
                &throttle.keys.pair,
                email,
            )
            .await?;
        let [pair, source_failures, per_account] = reads.failures;
        throttle.check(&Counted {
            pair,
            source: source_failures,
            account: per_account,
            known_source: reads.known_source,
        })?;
        // Said before any password is checked, for every address of the domain: it tells
        // nothing of whether this one has an account.
        if reads.provider_only {
            return Err(crate::single_sign_on::provider_only(email));
        }
        // The account and its memberships in one read; their users only once it is proven.
        let (account, links) = match &reads.account_id {
            Some(account_id) => self.store.account_partition(account_id).await?,
            None => (None, Vec::new()),
        };
        // The same work and the same answer whether the account exists or the password is wrong.
        let verified = match &account {
            Some(account) => hashing::verify(
                &body.password,
                &PasswordHashString::from_stored(account.password_hash.clone()),
            ),
            None => {
                hashing::verify_nothing(&body.password);
                false
            }
        };
        let Some(account) = account.filter(|_| verified) else {
            throttle.fail().await?;
            return Err(ApiError::InvalidCredentials);
        };
        // Nothing of the account (its organisations) is told before its second factor.
        let second_factor = match (&account.totp, body.code.as_deref()) {
            (None, _) => false,
            (Some(_), None) => {
                return api::json(StatusCode::OK, &json!({ "status": "code_required" }));
            }
            (Some(_), Some(code)) => {
                self.check_code(request, &account, code).await?;
                true
            }
        };
        let memberships = self.store.memberships_of_links(links).await?;
        let user = match accounts::choose(&memberships, body.tenant_id.as_deref())? {
            Chosen::Member(user) => user,
            Chosen::Ask => {
                let signed_in = throttle.signed_in();
                return self
                    .ask_tenant(&account, second_factor, signed_in, memberships)
                    .await;
            }
        };
        let tokens = self
            .open_session(
                request,
                &user,
                second_factor,
                Some(throttle.signed_in()),
                OpenedFor {
                    account_id: &account.account_id,
                    proven: Some(&account.password_changed_at),
                },
            )
            .await?;
        api::json(
            StatusCode::OK,
            &SignedInView::new(&user.tenant_id, tokens, second_factor, memberships),
        )
    }

    /// The answer to a proven sign-in of an account with several organisations: the list,
    /// and a ticket that opens one of them (`POST /v1/auth/login/tenant`) within five minutes,
    /// once, without asking for the password or a code again.
    async fn ask_tenant(
        &self,
        account: &AccountRecord,
        second_factor: bool,
        signed_in: SignedIn<'_>,
        memberships: Vec<Membership>,
    ) -> Result<Response<Body>, ApiError> {
        let ticket_id = new_id("sgn");
        let token = IdToken::new(&ticket_id, &new_secret());
        let (pk, sk) = SignInTicket::key(&ticket_id);
        let ticket = SignInTicket {
            pk,
            sk,
            ticket_id,
            account_id: account.account_id.clone(),
            token_hash: token.hash(),
            second_factor,
            throttle_pair: signed_in.pair.to_owned(),
            throttle_window_start: signed_in.window_start,
            throttle_known_until: signed_in.known_until,
            password_changed_at: account.password_changed_at.clone(),
            expires_at: Timestamp::now().as_second() + TICKET_SECONDS,
            provider_tenant: None,
        };
        self.store.second_factor().put_ticket(&ticket).await?;
        let memberships: Vec<MembershipView> =
            memberships.into_iter().map(MembershipView::from).collect();
        api::json(
            StatusCode::OK,
            &json!({
                "status": "choose_tenant",
                "memberships": memberships,
                "ticket": token.expose(),
                "ticket_expires_in": TICKET_SECONDS,
            }),
        )
    }

    /// `POST /v1/auth/login/tenant`: a sign-in's ticket and the organisation chosen.
    pub(crate) async fn login_to_tenant(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let body: ToTenant = request.json()?;
        let spent = || ApiError::InvalidToken("the sign-in expired: sign in again".into());
        let token = IdToken::parse(&body.ticket).ok_or_else(spent)?;
        let now = Timestamp::now().as_second();
        let ticket = self
            .store
            .second_factor()
            .ticket(token.id())
            .await?
            .filter(|ticket| ticket.token_hash == token.hash() && ticket.expires_at > now)
            .ok_or_else(spent)?;
        // A provider's ticket opens its own tenant only.
        if ticket
            .provider_tenant
            .as_ref()
            .is_some_and(|tenant| *tenant != body.tenant_id)
        {
            return Err(ApiError::NotFound("membership".into()));
        }
        let memberships = self.store.memberships(&ticket.account_id).await?;
        // Checked before the ticket is spent: choosing a suspended membership leaves it usable.
        let user = accounts::named(&memberships, &body.tenant_id)?;
        if !self
            .store
            .second_factor()
            .spend_ticket(&ticket.ticket_id, &token.hash(), now)
            .await?
        {
            return Err(spent());
        }
        // A password's sign-in forgets its throttle counter and outlives no change of password;
        // a provider's proved no password.
        let (signed_in, proven) = match ticket.provider_tenant {
            Some(_) => (None, None),
            None => (
                Some(SignedIn {
                    pair: &ticket.throttle_pair,
                    window_start: ticket.throttle_window_start,
                    known_until: ticket.throttle_known_until,
                }),
                Some(ticket.password_changed_at.as_str()),
            ),
        };
        let tokens = self
            .open_session(
                request,
                &user,
                ticket.second_factor,
                signed_in,
                OpenedFor {
                    account_id: &ticket.account_id,
                    proven,
                },
            )
            .await?;
        api::json(
            StatusCode::OK,
            &SignedInView::new(&user.tenant_id, tokens, ticket.second_factor, memberships),
        )
    }

    /// Refuses `code` unless it is the account's current TOTP code, not used before, or one
    /// of its unused recovery codes (then spent). Wrong codes are counted against the account
    /// and the source as wrong passwords are, on counters of their own.
    pub(crate) async fn check_code(
        &self,
        request: &ApiRequest,
        account: &AccountRecord,
        code: &str,
    ) -> Result<(), ApiError> {
        let Some(factor) = &account.totp else {
            return Err(ApiError::Conflict("no second factor is set up".into()));
        };
        let throttle = self
            .checked_throttle(request, "TOTP", &account.email)
            .await?;
        let factors = self.store.second_factor();
        // A secret sealed under a signing secret since rotated does not open: its codes are
        // refused, and the recovery codes (plain hashes) still work, to turn it off and set it
        // up again (docs/runbooks/rotate-signing-secret.md).
        let step = match self.open_secret(&factor.sealed_secret, account) {
            Ok(secret) => secret.step_of(code, throttle.now),
            Err(error) => {
                tracing::error!(%error, account = %account.account_id, "a second factor's secret does not open");
                None
            }
        };
        let accepted = match step {
            Some(step) => factors.use_step(&account.account_id, step).await?,
            None => {
                let hash = steward_domain::identity::second_factor::recovery_hash(code);
                match factor
                    .recovery_hashes
                    .iter()
                    .position(|known| *known == hash)
                {
                    Some(index) => {
                        factors
                            .use_recovery_code(&account.account_id, index, &hash)
                            .await?
                    }
                    None => false,
                }
            }
        };
        if !accepted {
            throttle.fail().await?;
            return Err(ApiError::validation(
                "code",
                "is not the authenticator's current code (each works once) or an unused recovery code",
            ));
        }
        throttle.succeeded().await
    }

    pub(crate) fn open_secret(
        &self,
        sealed: &str,
        account: &AccountRecord,
    ) -> Result<steward_domain::identity::second_factor::TotpSecret, ApiError> {
        steward_domain::identity::second_factor::TotpSecret::open(
            sealed,
            &self.keys.sealing,
            &account.account_id,
        )
        .map_err(|error| ApiError::internal(error.to_string()))
    }
}
