//! What a room's required credential types leave missing for a member (SPEC §E): each type the
//! room requires that the member holds no verified, unexpired credential of at the booking's
//! time.

use jiff::Timestamp;

use super::Held;

/// The types of `required` not covered by a credential valid through `until` (the booking's
/// end: a credential expiring during the booking does not cover it).
pub fn missing<'r>(
    required: impl IntoIterator<Item = &'r String>,
    held: &[Held<'_>],
    until: Timestamp,
) -> Vec<&'r str> {
    required
        .into_iter()
        .map(String::as_str)
        .filter(|wanted| {
            !held
                .iter()
                .any(|h| h.type_id == *wanted && h.valid_through(until))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::status::CredentialStatus;

    #[test]
    fn only_verified_unexpired_credentials_cover_a_requirement() {
        let at = |t: &str| -> Timestamp { t.parse().unwrap() };
        let required = vec!["ct_first_aid".to_owned(), "ct_dbs".to_owned()];
        let held = [
            Held {
                credential_id: "cr_1",
                type_id: "ct_first_aid",
                status: CredentialStatus::Verified,
                expires_at: Some(at("2026-07-01T00:00:00Z")),
            },
            Held {
                credential_id: "cr_2",
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
