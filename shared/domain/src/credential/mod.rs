//! Provider credentials (SPEC §E), the parts that need no storage: the tenant's credential
//! types ([`kind`]), what an uploaded file must be ([`file`]), a credential's states and its
//! review's SLA ([`status`]), a provider's trust score ([`trust`]) and what a room's
//! requirements leave missing ([`requirement`]).

pub mod file;
pub mod kind;
pub mod requirement;
pub mod status;
pub mod trust;

use jiff::Timestamp;

use status::CredentialStatus;

/// One credential a member holds, as the checks on it see it: a room's requirements
/// ([`requirement`]) and the trust score ([`trust`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held<'a> {
    pub credential_id: &'a str,
    pub type_id: &'a str,
    pub status: CredentialStatus,
    pub expires_at: Option<Timestamp>,
}

impl Held<'_> {
    /// Whether it counts through `until`: verified, and not expiring before then.
    pub fn valid_through(&self, until: Timestamp) -> bool {
        self.status == CredentialStatus::Verified && self.expires_at.is_none_or(|end| end >= until)
    }
}
