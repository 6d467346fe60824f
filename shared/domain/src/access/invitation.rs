//! The token that accepts an invitation: `<tenant>.<invitation>.<secret>`, shown once to the
//! inviter and stored only as its hash.

pub use crate::digest::TenantToken as InvitationToken;

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
