//! A credential's life (SPEC §E): created with its upload URL, checked by the verifier, then
//! waiting for review or verified at once; approved or rejected by a reviewer who is not its
//! provider; expired by the nightly sweep. A review is due 4 hours after the upload.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long a review may take from the upload (the SLA).
pub const REVIEW_SLA: SignedDuration = SignedDuration::from_hours(4);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    /// Created; its file not uploaded (or not checked) yet.
    AwaitingUpload,
    PendingReview,
    Verified,
    Rejected,
    Expired,
}

impl CredentialStatus {
    /// The status the verifier gives a file that passed its checks.
    pub fn after_upload(review_required: bool) -> Self {
        if review_required {
            Self::PendingReview
        } else {
            Self::Verified
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingUpload => "awaiting_upload",
            Self::PendingReview => "pending_review",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }
}

/// When a review of a file uploaded at `uploaded_at` is due.
pub fn review_due(uploaded_at: Timestamp) -> Timestamp {
    uploaded_at + REVIEW_SLA
}

/// Why a reviewer may not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("nobody reviews their own credential")]
    OwnCredential,
    #[error("the credential is {0:?}, not waiting for review")]
    NotPending(CredentialStatus),
}

/// Whether `reviewer` may decide on `provider`'s credential in `status`.
pub fn may_review(
    reviewer: &str,
    provider: &str,
    status: CredentialStatus,
) -> Result<(), ReviewRefusal> {
    if reviewer == provider {
        return Err(ReviewRefusal::OwnCredential);
    }
    if status != CredentialStatus::PendingReview {
        return Err(ReviewRefusal::NotPending(status));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_reviews_their_own_and_only_pending_ones() {
        assert_eq!(
            may_review("u1", "u1", CredentialStatus::PendingReview),
            Err(ReviewRefusal::OwnCredential)
        );
        assert_eq!(
            may_review("u2", "u1", CredentialStatus::Verified),
            Err(ReviewRefusal::NotPending(CredentialStatus::Verified))
        );
        assert!(may_review("u2", "u1", CredentialStatus::PendingReview).is_ok());
        let at: Timestamp = "2026-06-01T09:00:00Z".parse().unwrap();
        assert_eq!(review_due(at), "2026-06-01T13:00:00Z".parse().unwrap());
        assert_eq!(
            CredentialStatus::after_upload(false),
            CredentialStatus::Verified
        );
    }
}
