//! The account mail function (`account-mail`): the account mail queue's consumer. It sends the
//! emails a person's account needs: a link to choose a new password, a notice once the
//! password changed, invitations with the link that accepts them, and a sign-up's link that
//! confirms its address (or, to an address with an account, a notice). Whether an address has an account is found out here, off the path of the
//! request that asked, so that the request's answer and time are the same for everyone.
//!
//! SQS may deliver a message twice: a reset asked for twice sends two links, of which only the
//! newer works, as when the person asks twice.

use aws_lambda_events::event::sqs::SqsMessage;
use jiff::Timestamp;
use serde::Deserialize;
use steward_access::{new_id, new_secret};
use steward_domain::digest::IdToken;
use steward_domain::identity::recovery::{
    LINK_MAIL_WINDOW_SECONDS, RESET_MINUTES, SIGN_UP_HOURS, admit_link_mail,
};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::secret::keyed_hash;
use steward_kit::sqs::{RecordHandler, SqsFunction};
use steward_mail::{
    AccountExists, AppLinks, ConfirmEmailChange, Email as _, EmailChangeAsked, Invitation,
    PasswordChanged, PasswordReset, VerifyEmail,
};
use steward_store::account_mail::{AccountMail, MessageError};
use steward_store::identity::IdentityStore;
use steward_store::mail::{Email, Mailer};
use steward_store::recovery::{RecoveryStore, ResetRecord};
use steward_store::{SdkConfig, StoreError, Table};

/// The app's pages the emails link to.
pub const RESET_PAGE: &str = "reset-password";
pub const FORGOT_PAGE: &str = "forgot-password";
pub const INVITATION_PAGE: &str = "accept-invitation";
pub const VERIFY_PAGE: &str = "verify-email";
pub const SIGN_IN_PAGE: &str = "sign-in";
pub const CONFIRM_EMAIL_PAGE: &str = "confirm-email";

#[derive(Debug, thiserror::Error)]
pub enum AccountMailError {
    #[error(transparent)]
    Unreadable(#[from] MessageError),
    #[error("rendering an email: {0}")]
    Template(#[from] steward_mail::TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct AccountMailer {
    identity: IdentityStore,
    recovery: RecoveryStore,
    mailer: Mailer,
    links: AppLinks,
    /// Keys the hashes that count reset emails per address (no address stored in clear).
    counting: [u8; 32],
}

impl RecordHandler for AccountMailer {
    type Error = AccountMailError;

    async fn handle(&self, record: &SqsMessage) -> Result<(), AccountMailError> {
        let mail = AccountMail::from_message(record.body.as_deref().unwrap_or_default())?;
        match mail {
            AccountMail::PasswordReset { email } => self.password_reset(&email).await,
            AccountMail::SignUp {
                email,
                name,
                tenant_name,
                token,
            } => self.sign_up(&email, &name, &tenant_name, &token).await,
            AccountMail::EmailChange {
                old_email,
                new_email,
                name,
                token,
            } => {
                self.email_change(&old_email, &new_email, &name, &token)
                    .await
            }
            AccountMail::PasswordChanged { tenant_id, user_id } => {
                self.password_changed(&tenant_id, &user_id).await
            }
            AccountMail::Invitation {
                email,
                token,
                tenant_name,
                inviter_name,
                roles,
                expires_at,
            } => {
                let link = self.links.with_token(INVITATION_PAGE, &token);
                let expires = Timestamp::from_second(expires_at)
                    .map(|at| at.strftime("%A %-d %B %Y, %H:%M UTC").to_string())
                    .unwrap_or_default();
                let composed = Invitation {
                    inviter: &inviter_name,
                    organisation: &tenant_name,
                    roles: &roles.join(" and "),
                    link: &link,
                    expires: &expires,
                }
                .compose()?;
                self.send(&email, composed).await
            }
        }
    }
}

impl AccountMailer {
    /// A link to choose a new password, to the account `email` names; nothing for an address
    /// nobody has, or one sent more reset emails this hour than a person asks for.
    async fn password_reset(&self, email: &str) -> Result<(), AccountMailError> {
        let Some(account) = self.identity.account_by_email(email).await? else {
            tracing::info!("a password reset was asked for an address with no account");
            return Ok(());
        };
        let now = Timestamp::now();
        if !self
            .within_mail_limit("RESETMAIL", email, now.as_second())
            .await?
        {
            tracing::warn!(
                account = %account.account_id,
                "password reset emails to one address past the hourly limit: dropped"
            );
            return Ok(());
        }
        let reset_id = new_id("rst");
        let token = IdToken::new(&reset_id, &new_secret());
        let (pk, sk) = ResetRecord::key(&reset_id);
        let reset = ResetRecord {
            pk,
            sk,
            reset_id,
            email: email.to_owned(),
            account_id: account.account_id.clone(),
            token_hash: token.hash(),
            created_at: now.to_string(),
            expires_at: now.as_second() + RESET_MINUTES * 60,
        };
        if !self.recovery.start(&reset).await? {
            tracing::info!("the address moved to another account while its reset was made");
            return Ok(());
        }
        let link = self.links.with_token(RESET_PAGE, &token.expose());
        let composed = PasswordReset {
            name: &account.name,
            email,
            link: &link,
            minutes: RESET_MINUTES,
        }
        .compose()?;
        self.send(email, composed).await
    }

    /// The link that confirms a sign-up's address; to an address that has an account
    /// already, a notice instead (the sign-up's answer was the same either way).
    async fn sign_up(
        &self,
        email: &str,
        name: &str,
        tenant_name: &str,
        token: &str,
    ) -> Result<(), AccountMailError> {
        let now = Timestamp::now().as_second();
        if !self.within_mail_limit("SIGNUPMAIL", email, now).await? {
            tracing::warn!("sign-up emails to one address past the hourly limit: dropped");
            return Ok(());
        }
        let mut account = self.identity.account_by_email(email).await?;
        // An account whose last membership ended and was not closed then is closed now: the
        // address signs up afresh.
        if let Some(orphan) = account.take_if(|account| account.memberships == 0) {
            self.identity.close_if_orphaned(&orphan.account_id).await?;
        }
        let composed = match account {
            Some(account) => {
                let sign_in_link = self.links.page(SIGN_IN_PAGE);
                let reset_link = self.links.page(FORGOT_PAGE);
                AccountExists {
                    name: &account.name,
                    email,
                    sign_in_link: &sign_in_link,
                    reset_link: &reset_link,
                }
                .compose()?
            }
            None => {
                let link = self.links.with_token(VERIFY_PAGE, token);
                VerifyEmail {
                    name,
                    email,
                    organisation: tenant_name,
                    link: &link,
                    hours: SIGN_UP_HOURS,
                }
                .compose()?
            }
        };
        self.send(email, composed).await
    }

    /// The link that confirms an account's new address, to that address, and a notice to the
    /// old one (which keeps working until the link is followed).
    async fn email_change(
        &self,
        old_email: &str,
        new_email: &str,
        name: &str,
        token: &str,
    ) -> Result<(), AccountMailError> {
        let reset_link = self.links.page(FORGOT_PAGE);
        let notice = EmailChangeAsked {
            name,
            old_email,
            new_email,
            reset_link: &reset_link,
        }
        .compose()?;
        self.send(old_email, notice).await?;
        let now = Timestamp::now().as_second();
        if !self
            .within_mail_limit("EMAILCHANGEMAIL", new_email, now)
            .await?
        {
            tracing::warn!("email-change links to one address past the hourly limit: dropped");
            return Ok(());
        }
        let link = self.links.with_token(CONFIRM_EMAIL_PAGE, token);
        let composed = ConfirmEmailChange {
            name,
            old_email,
            new_email,
            link: &link,
            hours: SIGN_UP_HOURS,
        }
        .compose()?;
        self.send(new_email, composed).await
    }

    /// Tells the account's owner that its password changed.
    async fn password_changed(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<(), AccountMailError> {
        let Some(user) = self.identity.user(tenant_id, user_id).await? else {
            return Ok(());
        };
        let reset_link = self.links.page(FORGOT_PAGE);
        let composed = PasswordChanged {
            name: &user.name,
            email: &user.email,
            reset_link: &reset_link,
        }
        .compose()?;
        self.send(&user.email, composed).await
    }

    async fn send(
        &self,
        to: &str,
        composed: steward_mail::Composed,
    ) -> Result<(), AccountMailError> {
        let email = Email {
            to: vec![to.to_owned()],
            subject: composed.subject,
            text: composed.text,
            html: Some(composed.html),
            attachments: Vec::new(),
        };
        Ok(self.mailer.send(&email).await?)
    }

    /// Logs one more email of `kind` (reset links, sign-up links) to `email` if the address has
    /// been sent fewer than the limit within the last window: whether it may go.
    async fn within_mail_limit(
        &self,
        kind: &str,
        email: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let log = format!("{kind}#{}", keyed_hash(&self.counting, email));
        self.identity
            .log_if(&log, now + LINK_MAIL_WINDOW_SECONDS, |sent| {
                admit_link_mail(sent, now)
            })
            .await
    }
}

/// Where the emails link to and who they come from (template.yaml).
#[derive(Debug, Clone, Deserialize)]
struct AccountMailConfig {
    notification_sender: String,
    /// The web app's address (`AppBaseUrl`).
    app_base_url: String,
}

/// Messages an instance handles at once (each a few requests and an email, mostly waiting).
const CONCURRENCY: usize = 4;

pub fn init(env: &Env, aws: &SdkConfig) -> Result<SqsFunction<AccountMailer>, ConfigError> {
    let common: Common = env.parse()?;
    let config: AccountMailConfig = env.parse()?;
    let table = Table::new(aws, &common.table);
    Ok(SqsFunction::new(
        AccountMailer {
            identity: IdentityStore::new(table.clone()),
            recovery: RecoveryStore::new(table),
            mailer: Mailer::new(aws, config.notification_sender),
            links: AppLinks::new(&config.app_base_url),
            counting: common.signing_secret.derive("reset-mail"),
        },
        CONCURRENCY,
    ))
}

steward_kit::binaries! {
    "account-mail" => init,
}
