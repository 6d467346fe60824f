use std::fmt;

use serde::{Deserialize, Deserializer};

/// A password as a person chose it: 12 to 128 characters, no composition rules, and not one
/// that is common or easily guessed (OWASP ASVS V2.1, NIST SP 800-63B §5.1.1.2). Never printed.
#[derive(Clone)]
pub struct Password(String);

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("is too common or too easy to guess; a few unrelated words make a strong one")]
    Common,
}

impl Password {
    /// A new password: length, and the common-password check (zxcvbn's frequency lists of leaked
    /// passwords, names and words, with the person's own email and name as extra inputs).
    pub fn new(text: &str, personal: &[&str]) -> Result<Self, PasswordError> {
        let password = Self::existing(text)?;
        let estimate = zxcvbn::zxcvbn(text, personal);
        if (estimate.score() as u8) < 3 {
            return Err(PasswordError::Common);
        }
        Ok(password)
    }

    /// A password presented to sign in: only the length bounds (which also cap hashing cost).
    pub fn existing(text: &str) -> Result<Self, PasswordError> {
        let chars = text.chars().count();
        if chars < MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(redacted)")
    }
}

/// Deserializes as a presented password (length only); new passwords go through [`Password::new`].
impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Password::existing(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(
            Password::existing("short").unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::existing(&"é".repeat(12)).is_ok());
        assert_eq!(
            Password::existing(&"x".repeat(129)).unwrap_err(),
            PasswordError::TooLong
        );
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for common in [
            "password1234",
            "123456789012",
            "qwertyuiop12",
            "aaaaaaaaaaaa",
            "iloveyou1234",
            "Password123!",
        ] {
            assert_eq!(
                Password::new(common, &[]).unwrap_err(),
                PasswordError::Common,
                "{common}"
            );
        }
        assert_eq!(
            Password::new("janedoe12345", &["janedoe", "jane@example.com"]).unwrap_err(),
            PasswordError::Common
        );
    }

    #[test]
    fn unrelated_words_pass_without_composition_rules() {
        for good in [
            "maple tractor velvet orbit",
            "fjord-lantern-quartz-42",
            "correct staple harbour engine",
        ] {
            assert!(Password::new(good, &[]).is_ok(), "{good}");
        }
    }

    #[test]
    fn debug_hides_the_value() {
        assert_eq!(
            format!("{:?}", Password::existing("hunter2hunter2").unwrap()),
            "Password(redacted)"
        );
    }
}
