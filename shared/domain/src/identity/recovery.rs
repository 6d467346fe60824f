//! Password recovery: how long a reset link works, and how often one address is sent one.

/// How long a password-reset token works after it was sent.
pub const RESET_MINUTES: i64 = 30;

/// Reset emails one address is sent within [`RESET_MAIL_WINDOW_SECONDS`]: more asks are
/// dropped without a word, so that nobody can flood a person's inbox through Steward.
pub const RESET_MAILS_PER_WINDOW: u32 = 5;

pub const RESET_MAIL_WINDOW_SECONDS: i64 = 3_600;
