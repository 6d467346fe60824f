//! A tenant's credential types (SPEC §E): what files each accepts, how large, whether the
//! credential must carry an expiry date and whether a person reviews it, and what it weighs in a
//! provider's trust score. Parsed whole: every field's problem is reported at once.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::file::FileKind;

/// The largest file any credential type may accept.
pub const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;

/// A credential type as a client sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialTypeInput {
    pub name: String,
    /// MIME types, from those of [`FileKind`].
    pub accepted_types: Vec<String>,
    pub max_bytes: u64,
    #[serde(default)]
    pub expiry_required: bool,
    #[serde(default = "yes")]
    pub review_required: bool,
    /// Its weight in a provider's trust score (0 to 100).
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn yes() -> bool {
    true
}

fn default_weight() -> u32 {
    10
}

/// A valid credential type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialType {
    pub name: String,
    pub accepted_types: BTreeSet<FileKind>,
    pub max_bytes: u64,
    pub expiry_required: bool,
    pub review_required: bool,
    pub weight: u32,
}

impl CredentialTypeInput {
    pub fn parse(self) -> Result<CredentialType, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            problems.push(("name".to_owned(), "1 to 100 characters".to_owned()));
        } else if let Err(error) = crate::text::check(&name, 100, false) {
            problems.push(("name".to_owned(), error.to_string()));
        }
        let mut accepted = BTreeSet::new();
        for (i, mime) in self.accepted_types.iter().enumerate() {
            match FileKind::parse(mime) {
                Some(kind) => {
                    accepted.insert(kind);
                }
                None => problems.push((
                    format!("accepted_types[{i}]"),
                    "one of application/pdf, image/png, image/jpeg".to_owned(),
                )),
            }
        }
        if self.accepted_types.is_empty() {
            problems.push((
                "accepted_types".to_owned(),
                "at least one file type".to_owned(),
            ));
        }
        if !(1..=MAX_FILE_BYTES).contains(&self.max_bytes) {
            problems.push(("max_bytes".to_owned(), format!("1 to {MAX_FILE_BYTES}")));
        }
        if self.weight > 100 {
            problems.push(("weight".to_owned(), "0 to 100".to_owned()));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CredentialType {
            name,
            accepted_types: accepted,
            max_bytes: self.max_bytes,
            expiry_required: self.expiry_required,
            review_required: self.review_required,
            weight: self.weight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> CredentialTypeInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_type_parses_with_its_defaults() {
        let parsed = input(serde_json::json!({
            "name": " First aid ", "accepted_types": ["application/pdf", "image/png"], "max_bytes": 1000
        }))
        .parse()
        .unwrap();
        assert_eq!(parsed.name, "First aid");
        assert!(parsed.review_required && !parsed.expiry_required);
        assert_eq!(parsed.accepted_types.len(), 2);
        assert_eq!(parsed.weight, 10);
    }

    #[test]
    fn every_bad_field_is_named() {
        let problems = input(serde_json::json!({
            "name": "", "accepted_types": ["text/plain"], "max_bytes": 0, "weight": 101
        }))
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["name", "accepted_types[0]", "max_bytes", "weight"]);
    }
}
