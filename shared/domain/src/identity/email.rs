use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, MixedScript};

/// An email address, trimmed, NFKC-normalised and lower-cased so that one person has one
/// spelling: a fullwidth `ｊａｎｅ` or a Kelvin sign `K` is the same address as its ASCII form.
/// An address that could pass for another is refused: a character outside UTS #39's identifier
/// profile (a zero-width space, a bidi control, a symbol) beyond the ASCII punctuation an
/// address takes, or a local part or domain label that mixes scripts (a Cyrillic `е` among
/// Latin letters). Otherwise only the shape is checked (one `@`, a dotted domain, no spaces,
/// at most 254 characters): deliverability is for the invitation mail to prove.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must be an email address such as name@example.com")]
    Shape,
    #[error("must be at most 254 characters")]
    TooLong,
    #[error(
        "must not hold invisible characters or mix scripts (such as a Cyrillic letter among Latin ones)"
    )]
    Confusable,
}

/// The ASCII punctuation an address's local part may hold (RFC 5322's atext, and the dot).
const ATEXT_PUNCTUATION: &str = ".!#$%&'*+-/=?^_`{|}~";

/// Whether `part` (a local part or a domain label) could pass for another: a character outside
/// the identifier profile, other than ASCII punctuation, or more than one script.
fn confusable(part: &str) -> bool {
    let odd = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || ATEXT_PUNCTUATION.contains(c))
        } else {
            !c.identifier_allowed()
        }
    };
    part.chars().any(odd) || !part.is_single_script()
}

impl Email {
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim().nfkc().collect::<String>().to_lowercase();
        if text.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = text.rsplit_once('@').ok_or(EmailError::Shape)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !text.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(EmailError::Shape);
        }
        if confusable(local) || domain.split('.').any(confusable) {
            return Err(EmailError::Confusable);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What follows the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Email::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_bad_shapes_refused() {
        assert_eq!(
            Email::parse("  Jane.Doe@Example.COM ").unwrap().as_str(),
            "jane.doe@example.com"
        );
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "jane@.example.com",
            "ja ne@example.com",
            "a@b@c.com",
            "jane@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
    }

    #[test]
    fn look_alikes_are_one_address_or_refused() {
        // NFKC: fullwidth letters and the Kelvin sign are their ASCII selves.
        for same in [
            "ｊａｎｅ@example.com",
            "JANE@EXAMPLE.COM",
            "jane@ｅｘａｍｐｌｅ.com",
        ] {
            assert_eq!(
                Email::parse(same).unwrap().as_str(),
                "jane@example.com",
                "{same}"
            );
        }
        assert_eq!(
            Email::parse("\u{212a}im@example.com").unwrap().as_str(),
            "kim@example.com"
        );
        // Invisible characters and mixed scripts could pass for another address.
        for bad in [
            "jane\u{200b}@example.com",
            "ja\u{200d}ne@example.com",
            "jane@exam\u{200b}ple.com",
            "j\u{0430}ne@example.com",
            "jane@ex\u{0430}mple.com",
            "\u{202e}jane@example.com",
            "jane\u{2665}@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Confusable), "{bad:?}");
        }
        // One script throughout is someone's real address.
        assert!(Email::parse("δοκιμή@example.com").is_ok());
        assert!(Email::parse("o'brien+rooms@example.com").is_ok());
    }
}
