//! Badge ids as NFC readers give them: hexadecimal UIDs, written in upper case without
//! separators (`04:a1:b2:c3` and `04A1B2C3` are one badge).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BadgeId(String);

impl BadgeId {
    /// 4 to 32 hexadecimal digits once `:`, `-` and spaces are taken out.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        if text.chars().count() > 64 {
            return Err("4 to 32 hexadecimal digits, such as 04A1B2C3 (64 characters at most)");
        }
        let digits: String = text
            .chars()
            .filter(|c| !matches!(c, ':' | '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if (4..=32).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(digits))
        } else {
            Err("4 to 32 hexadecimal digits, such as 04A1B2C3")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_case_do_not_make_another_badge() {
        assert_eq!(
            BadgeId::parse("04:a1:b2:c3").unwrap(),
            BadgeId::parse("04A1B2C3").unwrap()
        );
        assert!(BadgeId::parse("04A").is_err());
        assert!(BadgeId::parse("04A1B2CZ").is_err());
        assert!(BadgeId::parse(&"A".repeat(33)).is_err());
    }
}
