//! Text people type, as Steward takes it and gives it back.
//!
//! In: every text field has a length limit in characters, and no control character: none of
//! C0 (U+0000–U+001F), DEL or C1 (U+0080–U+009F), except a tab or line feed in a field that
//! holds several lines ([`Paragraph`]). A title of 60,000 characters made exports and feeds
//! pass Lambda's 6 MB answer limit; a NUL or BEL went raw into CSV and iCalendar.
//!
//! Out: [`neutralise_cell`] for every CSV cell Steward writes, so that no spreadsheet runs a
//! cell as a formula (OWASP's CSV injection), and [`printable`] for text written into a format
//! that forbids control characters (iCalendar, RFC 5545 §3.3.11), for what was stored before
//! these limits held.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("at most {max} characters")]
    TooLong { max: usize },
    #[error("no control characters{}", if *.multiline { " (a tab or line break is fine)" } else { ", tabs or line breaks" })]
    Control { multiline: bool },
}

/// A control character no text field takes; `multiline` fields take a tab and a line feed.
pub fn is_refused_control(c: char, multiline: bool) -> bool {
    c.is_control() && !(multiline && matches!(c, '\t' | '\n'))
}

/// Checks `value` as a field of at most `max` characters, on one line or several.
pub fn check(value: &str, max: usize, multiline: bool) -> Result<(), TextError> {
    if value.chars().any(|c| is_refused_control(c, multiline)) {
        return Err(TextError::Control { multiline });
    }
    if value.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    Ok(())
}

/// A booking's or a series' title.
pub type Title = Line<200>;
/// A name: of a room, a person, a tenant, a terminal, a badge.
pub type Name = Line<100>;
/// Why: a manager's override, a cancellation, a rejection.
pub type Reason = Paragraph<500>;

/// One line of text, at most `MAX` characters, no control character.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Line<const MAX: usize>(String);

/// Text of one or more lines (tabs and line feeds kept), at most `MAX` characters, no other
/// control character.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Paragraph<const MAX: usize>(String);

macro_rules! text_type {
    ($name:ident, $multiline:expr) => {
        impl<const MAX: usize> $name<MAX> {
            pub fn parse(value: impl Into<String>) -> Result<Self, TextError> {
                let value = value.into();
                check(&value, MAX, $multiline)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl<const MAX: usize> std::ops::Deref for $name<MAX> {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<const MAX: usize> fmt::Display for $name<MAX> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de, const MAX: usize> Deserialize<'de> for $name<MAX> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::parse(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_type!(Line, false);
text_type!(Paragraph, true);

/// The characters that make a spreadsheet read a cell as a formula (OWASP); a tab or carriage
/// return never starts a written cell, as control characters are dropped first.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell as Steward writes it: one that a spreadsheet would run as a formula is written
/// after a single quote, which spreadsheets show as text; control characters are dropped.
pub fn neutralise_cell(cell: &str) -> Cow<'_, str> {
    let cell = printable(cell, false);
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        cell
    }
}

/// A cell as [`neutralise_cell`] wrote it, read back (an import of an export): the quote before
/// a formula character goes.
pub fn restore_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// `text` without the control characters a field of its kind refuses (for text stored before
/// the limits held).
pub fn printable(text: &str, multiline: bool) -> Cow<'_, str> {
    if text.chars().any(|c| is_refused_control(c, multiline)) {
        Cow::Owned(
            text.chars()
                .filter(|c| !is_refused_control(*c, multiline))
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn limits_and_control_characters_are_refused() {
        assert!(Line::<5>::parse("hello").is_ok());
        assert_eq!(
            Line::<5>::parse("hello!"),
            Err(TextError::TooLong { max: 5 })
        );
        assert_eq!(
            Line::<5>::parse("héllö").map(|l| l.len()),
            Ok(7),
            "characters, not bytes"
        );
        for bad in [
            "a\u{0}b", "a\u{7}b", "a\u{7f}b", "a\u{85}b", "a\rb", "a\tb", "a\nb",
        ] {
            assert_eq!(
                Line::<50>::parse(bad),
                Err(TextError::Control { multiline: false }),
                "{bad:?}"
            );
        }
        assert!(Paragraph::<50>::parse("one\n\ttwo").is_ok());
        for bad in ["a\u{0}b", "a\rb", "a\u{1b}b", "a\u{7f}b"] {
            assert_eq!(
                Paragraph::<50>::parse(bad),
                Err(TextError::Control { multiline: true }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn json_fields_say_what_is_wrong() {
        let refused = serde_json::from_str::<Line<3>>("\"abcd\"").unwrap_err();
        assert!(
            refused.to_string().contains("at most 3 characters"),
            "{refused}"
        );
        let line: Line<10> = serde_json::from_str("\"Standup\"").unwrap();
        assert_eq!(serde_json::to_string(&line).unwrap(), "\"Standup\"");
    }

    #[test]
    fn formula_cells_are_written_as_text_and_read_back() {
        for (cell, written) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+SUM(1,2)", "'+SUM(1,2)"),
            ("-2+3", "'-2+3"),
            ("@cmd", "'@cmd"),
            ("\tTab", "Tab"),
            ("\r=1+1", "'=1+1"),
            ("Board room", "Board room"),
            ("a\u{0}b\u{7}", "ab"),
            ("2026-06-01T09:00:00Z", "2026-06-01T09:00:00Z"),
        ] {
            assert_eq!(neutralise_cell(cell), written, "{cell:?}");
        }
        assert_eq!(restore_cell("'=SUM(1)"), "=SUM(1)");
        assert_eq!(restore_cell("'quoted"), "'quoted");
    }

    proptest! {
        #[test]
        fn no_written_cell_starts_a_formula_or_holds_a_control(cell in any::<String>()) {
            let written = neutralise_cell(&cell);
            prop_assert!(!written.starts_with(FORMULA_STARTS));
            prop_assert!(!written.chars().any(char::is_control));
        }

        #[test]
        fn printable_text_passes_its_own_check(text in any::<String>(), multiline in any::<bool>()) {
            let cleaned = printable(&text, multiline);
            prop_assert!(check(&cleaned, usize::MAX, multiline).is_ok());
        }
    }
}
