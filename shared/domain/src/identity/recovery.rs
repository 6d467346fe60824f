//! Links sent by email: how long a reset or a sign-up's confirmation works, and how often one
//! address is sent one.

/// How long a password-reset token works after it was sent.
pub const RESET_MINUTES: i64 = 30;

/// Emails of one kind (reset links, sign-up links) one address is sent within
/// [`LINK_MAIL_WINDOW_SECONDS`]: more asks are dropped without a word, so that nobody can flood
/// a person's inbox through Steward.
pub const LINK_MAILS_PER_WINDOW: u32 = 5;

pub const LINK_MAIL_WINDOW_SECONDS: i64 = 3_600;

/// How long a sign-up's confirmation link works.
pub const SIGN_UP_HOURS: i64 = 24;
