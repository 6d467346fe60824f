//! What opaque secret tokens share: the SHA-256 they are stored as, the shape of their
//! dot-separated parts, and the tenant-scoped token (`<tenant>.<id>.<secret>`) that
//! invitations and calendar feeds hand out.

use std::fmt;

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, as lowercase hex: tokens and pairing codes stored as their hash, files'
/// digests. A fast hash suffices for tokens that carry 256 random bits; passwords use Argon2id
/// (`identity::hashing`).
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One dot-separated part of a token: 1 to 128 of `A-Z a-z 0-9 - _` (ids and URL-safe base64).
/// Ids of every kind (members, terminals, nonces, offline items) are checked against it.
pub fn is_token_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 128
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A secret that names what it opens: `<tenant>.<id>.<secret>`, shown once and stored only as
/// its hash, so the item it opens is read by key and the hash compared.
#[derive(Clone, PartialEq, Eq)]
pub struct TenantToken {
    tenant_id: String,
    id: String,
    secret: String,
}

impl TenantToken {
    /// A new token, `secret` being 32 random bytes encoded by the caller.
    pub fn new(tenant_id: &str, id: &str, secret: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            id: id.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.split('.').collect::<Vec<_>>().as_slice() {
            [tenant, id, secret] if [tenant, id, secret].iter().all(|p| is_token_part(p)) => {
                Some(Self::new(tenant, id, secret))
            }
            _ => None,
        }
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The id of what the token opens (an invitation, a feed).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What is stored: SHA-256 of the whole token.
    pub fn hash(&self) -> String {
        sha256_hex(self.expose())
    }

    pub fn expose(&self) -> String {
        format!("{}.{}.{}", self.tenant_id, self.id, self.secret)
    }
}

impl fmt::Debug for TenantToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantToken({}.{}.redacted)", self.tenant_id, self.id)
    }
}

/// A secret that names what it opens outside any tenant (a password reset, which starts
/// before anyone is signed in): `<id>.<secret>`, shown once and stored only as its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct IdToken {
    id: String,
    secret: String,
}

impl IdToken {
    /// A new token, `secret` being 32 random bytes encoded by the caller.
    pub fn new(id: &str, secret: &str) -> Self {
        Self {
            id: id.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.split('.').collect::<Vec<_>>().as_slice() {
            [id, secret] if is_token_part(id) && is_token_part(secret) => {
                Some(Self::new(id, secret))
            }
            _ => None,
        }
    }

    /// The id of what the token opens.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What is stored: SHA-256 of the whole token.
    pub fn hash(&self) -> String {
        sha256_hex(self.expose())
    }

    pub fn expose(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdToken({}.redacted)", self.id)
    }
}

#[cfg(test)]
mod id_token_tests {
    use super::*;

    #[test]
    fn an_id_token_parses_back_and_is_stored_as_the_hash_of_all_of_it() {
        let token = IdToken::new("rst_1", "s3cr3t");
        let parsed = IdToken::parse(&token.expose()).unwrap();
        assert_eq!(parsed.id(), "rst_1");
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(IdToken::new("rst_1", "other").hash(), token.hash());
        assert!(!format!("{token:?}").contains("s3cr3t"));
        for bad in [
            "",
            "rst_1",
            "rst_1.",
            ".s3cr3t",
            "a.b.c",
            "rst 1.s3cr3t",
            "rst_1.s3/cr3t",
        ] {
            assert!(IdToken::parse(bad).is_none(), "{bad}");
        }
    }
}
