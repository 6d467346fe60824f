//! What a room's required credential types leave missing for a member (SPEC §E): each type the
//! room requires that the member holds no verified, unexpired credential of at the booking's
//! time.

use jiff::Timestamp;

use super::status::CredentialStatus;

/// One credential a member holds, as the check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held<'a> {
    pub type_id: &'a str,
    pub status: CredentialStatus,
    pub expires_at: Option<Timestamp>,
}

/// The types of `required` not covered by a verified credential valid through `until` (the
/// booking's end: a credential expiring during the booking does not cover it).
pub fn missing<'r>(
    required: impl IntoIterator<Item = &'r String>,
    held: &[Held<'_>],
    until: Timestamp,
) -> Vec<&'r str> {
    required
        .into_iter()
        .map(String::as_str)
        .filter(|wanted| {
            !held.iter().any(|h| {
                h.type_id == *wanted
                    && h.status == CredentialStatus::Verified
                    && h.expires_at.is_none_or(|end| end >= until)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_verified_unexpired_credentials_cover_a_requirement() {
        let at = |t: &str| -> Timestamp { t.parse().unwrap() };
        let required = vec!["ct_first_aid".to_owned(), "ct_dbs".to_owned()];
        let held = [
            Held {
                type_id: "ct_first_aid",
                status: CredentialStatus::Verified,
                expires_at: Some(at("2026-07-01T00:00:00Z")),
            },
            Held {
                type_id: "ct_dbs",
                status: CredentialStatus::PendingReview,
                expires_at: None,
            },
        ];
        assert_eq!(
            missing(&required, &held, at("2026-06-01T10:00:00Z")),
            ["ct_dbs"]
        );
        assert_eq!(
            missing(&required, &held, at("2026-07-02T10:00:00Z")),
            ["ct_first_aid", "ct_dbs"]
        );
        assert!(missing(&Vec::<String>::new(), &held, at("2026-06-01T10:00:00Z")).is_empty());
    }
}
