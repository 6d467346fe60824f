//! The token that accepts an invitation: `<tenant>.<invitation>.<secret>`, shown once to the
//! inviter and stored only as its hash.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken {
    tenant_id: String,
    invitation_id: String,
    secret: String,
}

impl InvitationToken {
    /// A new token, `secret` being 32 random bytes encoded by the caller.
    pub fn new(tenant_id: &str, invitation_id: &str, secret: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            invitation_id: invitation_id.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let plain = crate::digest::is_token_part;
        match text.split('.').collect::<Vec<_>>().as_slice() {
            [tenant, invitation, secret]
                if [tenant, invitation, secret].iter().all(|p| plain(p)) =>
            {
                Some(Self::new(tenant, invitation, secret))
            }
            _ => None,
        }
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub fn invitation_id(&self) -> &str {
        &self.invitation_id
    }

    /// What is stored: SHA-256 of the whole token.
    pub fn hash(&self) -> String {
        crate::digest::sha256_hex(&self.expose())
    }

    pub fn expose(&self) -> String {
        format!("{}.{}.{}", self.tenant_id, self.invitation_id, self.secret)
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InvitationToken({}.{}.redacted)",
            self.tenant_id, self.invitation_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_malformed_ones_are_refused() {
        let token = InvitationToken::new("tnt_1", "inv_2", "s3cr3t");
        let parsed = InvitationToken::parse(&token.expose()).unwrap();
        assert_eq!(parsed, token);
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(
            InvitationToken::new("tnt_1", "inv_2", "other").hash(),
            token.hash()
        );
        for bad in ["", "a.b", "a.b.c.d", "a..c", "a.b.c d", "a/b.c.d"] {
            assert!(InvitationToken::parse(bad).is_none(), "{bad}");
        }
        assert!(!format!("{token:?}").contains("s3cr3t"));
    }
}
