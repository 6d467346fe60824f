//! The account mail queue: what the account mail function is asked to send. A request that
//! may concern an address nobody has (a password reset) only queues it, the same message
//! whoever asks, so that its answer and its time say nothing of who has an account; the
//! function finds out, off the request's path.

use serde::{Deserialize, Serialize};

/// One message of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountMail {
    /// Someone asked for a link to choose a new password for the account `email` names, if
    /// one does.
    PasswordReset { email: String },
    /// Someone signed up with `email`: a link that confirms it (carrying the pending sign-up's
    /// token), or, to an address that has an account already, a notice saying so.
    SignUp {
        email: String,
        name: String,
        tenant_name: String,
        token: String,
    },
    /// An account asked to move to `new_email`: a link that confirms it goes there, and a
    /// notice to `old_email`.
    EmailChange {
        old_email: String,
        new_email: String,
        name: String,
        token: String,
    },
    /// The password of this account was changed: its owner is told.
    PasswordChanged { tenant_id: String, user_id: String },
    /// An invitation to send to its invitee, with the token that accepts it (the message is
    /// the only place besides the admin's answer where the token is whole: the queue is
    /// encrypted at rest and keeps it for a day at most).
    Invitation {
        email: String,
        token: String,
        tenant_name: String,
        inviter_name: String,
        roles: Vec<String>,
        /// Unix seconds.
        expires_at: i64,
    },
}

/// The version of the message this build writes and reads (docs/architecture.md, "Account
/// mail": a reader learns a new version before any writer sends it).
const VERSION: &str = "1";

/// The wire form: the mail, tagged with its version.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    version: String,
    #[serde(flatten)]
    mail: AccountMail,
}

/// Why a queue message was not account mail this build reads.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("not an account mail message: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("an account mail message of version {0:?}, which this build does not read")]
    Version(String),
}

impl AccountMail {
    pub fn to_message(&self) -> String {
        let message = Message {
            version: VERSION.to_owned(),
            mail: self.clone(),
        };
        serde_json::to_string(&message).expect("an account mail message serializes")
    }

    pub fn from_message(body: &str) -> Result<Self, MessageError> {
        let message: Message = serde_json::from_str(body)?;
        if message.version != VERSION {
            return Err(MessageError::Version(message.version));
        }
        Ok(message.mail)
    }
}

#[cfg(feature = "sqs")]
#[derive(Clone, Debug)]
pub struct AccountMailQueue {
    queue: crate::queue::Queue,
}

#[cfg(feature = "sqs")]
impl AccountMailQueue {
    pub fn new(config: &crate::SdkConfig, url: impl Into<String>) -> Self {
        Self {
            queue: crate::queue::Queue::new(config, url),
        }
    }

    pub async fn send(&self, mail: &AccountMail) -> Result<(), crate::StoreError> {
        self.queue.send(&mail.to_message()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_of_version_1_is_held_fixed() {
        let body = r#"{"version":"1","kind":"password_reset","email":"ada@example.com"}"#;
        let mail = AccountMail::from_message(body).unwrap();
        assert_eq!(
            mail,
            AccountMail::PasswordReset {
                email: "ada@example.com".into()
            }
        );
        assert_eq!(mail.to_message(), body);
        let changed = AccountMail::PasswordChanged {
            tenant_id: "tnt_1".into(),
            user_id: "usr_2".into(),
        };
        assert_eq!(
            AccountMail::from_message(&changed.to_message()).unwrap(),
            changed
        );
    }

    #[test]
    fn a_message_of_another_version_or_shape_is_refused() {
        let later = r#"{"version":"2","kind":"password_reset","email":"ada@example.com"}"#;
        assert!(matches!(
            AccountMail::from_message(later),
            Err(MessageError::Version(version)) if version == "2"
        ));
        for bad in [
            r#"{"kind":"password_reset","email":"a@b.c"}"#,
            "{}",
            "not json",
        ] {
            assert!(AccountMail::from_message(bad).is_err(), "{bad}");
        }
    }
}
