//! Every email Steward sends, as compiled templates (askama, in `templates/`): a text part and an HTML part from the same values, the HTML escaped by
//! default (an `.html` template escapes every value it shows), and a link to the page of the
//! web app where the person acts.

use askama::Template;

/// Why an email could not be rendered.
pub use askama::Error as TemplateError;

/// An email ready for the mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// An email Steward sends: its subject, and its two parts from its templates.
pub trait Email {
    fn subject(&self) -> String;
    fn text(&self) -> askama::Result<String>;
    fn html(&self) -> askama::Result<String>;

    fn compose(&self) -> askama::Result<Composed> {
        Ok(Composed {
            subject: self.subject(),
            text: self.text()?,
            html: self.html()?,
        })
    }
}

/// Where the web app is (the template's `AppBaseUrl`): the emails link to its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLinks {
    base: String,
}

impl AppLinks {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The app's `page`.
    pub fn page(&self, page: &str) -> String {
        format!("{}/{page}", self.base)
    }

    /// The app's `page`, handed `token` in the fragment: a browser never sends a fragment to
    /// a server, so the token stays out of access logs and `Referer` headers.
    pub fn with_token(&self, page: &str, token: &str) -> String {
        format!("{}/{page}#token={token}", self.base)
    }
}

/// Declares an email's two templates, its text and its HTML, each given the email as `mail`,
/// and implements [`Email`] with them.
macro_rules! email {
    ($email:ident, $text:literal, $html:literal, |$mail:ident| $subject:expr) => {
        const _: () = {
            #[derive(Template)]
            #[template(path = $text)]
            struct Text<'a> {
                mail: &'a $email<'a>,
            }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> {
                mail: &'a $email<'a>,
            }

            impl Email for $email<'_> {
                fn subject(&self) -> String {
                    let $mail = self;
                    $subject
                }

                fn text(&self) -> askama::Result<String> {
                    Text { mail: self }.render()
                }

                fn html(&self) -> askama::Result<String> {
                    Html { mail: self }.render()
                }
            }
        };
    };
}

/// A link to choose a new password, sent to an account's address when someone asks for it.
#[derive(Debug, Clone)]
pub struct PasswordReset<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub link: &'a str,
    /// How long the link works.
    pub minutes: i64,
}

email!(
    PasswordReset,
    "password_reset.txt",
    "password_reset.html",
    |_mail| "Choose a new Steward password".to_owned()
);

/// What an account's owner is told once its password was changed, by a reset or by them.
#[derive(Debug, Clone)]
pub struct PasswordChanged<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// Where to ask for a reset if it was not them.
    pub reset_link: &'a str,
}

email!(
    PasswordChanged,
    "password_changed.txt",
    "password_changed.html",
    |_mail| "Your Steward password was changed".to_owned()
);

/// An invitation to join an organisation, with the link that accepts it.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    /// Who invited, by name.
    pub inviter: &'a str,
    /// The tenant's name.
    pub organisation: &'a str,
    /// The roles offered, in words (`member`, `admin and manager`).
    pub roles: &'a str,
    pub link: &'a str,
    /// When the invitation lapses, as a reader reads it (UTC).
    pub expires: &'a str,
}

email!(
    Invitation,
    "invitation.txt",
    "invitation.html",
    |mail| format!(
        "{} invited you to {} on Steward",
        mail.inviter, mail.organisation
    )
);

/// A link that confirms a sign-up's address, sent when the address has no account yet.
#[derive(Debug, Clone)]
pub struct VerifyEmail<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// The tenant being signed up.
    pub organisation: &'a str,
    pub link: &'a str,
    pub hours: i64,
}

email!(
    VerifyEmail,
    "verify_email.txt",
    "verify_email.html",
    |_mail| "Confirm your email address for Steward".to_owned()
);

/// What an account's owner is told when someone signs up with its address again.
#[derive(Debug, Clone)]
pub struct AccountExists<'a> {
    /// The account's own name (not what the sign-up said).
    pub name: &'a str,
    pub email: &'a str,
    pub sign_in_link: &'a str,
    pub reset_link: &'a str,
}

email!(
    AccountExists,
    "account_exists.txt",
    "account_exists.html",
    |_mail| "You already have a Steward account".to_owned()
);

/// A link that confirms the new address of an account, sent to that address.
#[derive(Debug, Clone)]
pub struct ConfirmEmailChange<'a> {
    pub name: &'a str,
    pub old_email: &'a str,
    pub new_email: &'a str,
    pub link: &'a str,
    pub hours: i64,
}

email!(
    ConfirmEmailChange,
    "confirm_email_change.txt",
    "confirm_email_change.html",
    |_mail| "Confirm your new email address for Steward".to_owned()
);

/// What the old address is told when its account asks to move to another.
#[derive(Debug, Clone)]
pub struct EmailChangeAsked<'a> {
    pub name: &'a str,
    pub old_email: &'a str,
    pub new_email: &'a str,
    pub reset_link: &'a str,
}

email!(
    EmailChangeAsked,
    "email_change_asked.txt",
    "email_change_asked.html",
    |_mail| "Your Steward account is moving to another address".to_owned()
);

/// A booking notice as one reader reads it (the notifier words it: `functions/notifier`).
#[derive(Debug, Clone)]
pub struct BookingNotice<'a> {
    pub subject: &'a str,
    pub reader: &'a str,
    /// The sentence that says what happened.
    pub lead: &'a str,
    /// The bookings, one line each.
    pub lines: &'a [String],
    /// Check-in PINs, for the organiser of a room that needs a check-in.
    pub pins: &'a [String],
    /// Why, for a rejection or a cancellation.
    pub reason: Option<&'a str>,
}

email!(
    BookingNotice,
    "booking_notice.txt",
    "booking_notice.html",
    |mail| mail.subject.to_owned()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_person_typed_is_escaped_in_html_and_kept_in_text() {
        let reset = PasswordReset {
            name: "<script>alert(1)</script> & Co",
            email: "ada@example.com",
            link: "https://app.example/reset-password#token=a.b",
            minutes: 30,
        };
        let mail = reset.compose().unwrap();
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&#60;script&#62;") || mail.html.contains("&lt;script&gt;"));
        assert!(mail.text.contains("<script>alert(1)</script> & Co"));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("reset-password#token=a.b"), "{part}");
            assert!(part.contains("30 minutes"), "{part}");
        }
    }

    #[test]
    fn a_link_carries_its_token_in_the_fragment_under_the_app_base() {
        let links = AppLinks::new("https://app.example/steward/");
        assert_eq!(
            links.with_token("reset-password", "rst_1.s3cr3t"),
            "https://app.example/steward/reset-password#token=rst_1.s3cr3t"
        );
    }
}
