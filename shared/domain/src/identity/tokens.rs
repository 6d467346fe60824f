//! Access tokens (short-lived JWTs the authorizer verifies) and refresh tokens (opaque, stored
//! hashed, rotated on every use).
//!
//! The access token's lifetime plus the authorizer's cache TTL bound how long a revoked session
//! can still be used (docs/security.md).

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "steward";
pub const AUDIENCE: &str = "steward-api";
/// The purpose label of the access-token key derived from the signing secret.
pub const KEY_PURPOSE: &str = "access-token";
/// Fifteen minutes (SPEC §A).
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;

/// What an access token says: who, in which tenant, through which session, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The tenant id.
    pub tid: String,
    /// The session id: the authorizer checks that it is still alive.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature does not verify")]
    Invalid,
    #[error("the token has expired")]
    Expired,
}

/// The HMAC-SHA256 key of access tokens, derived from the signing secret for this purpose only.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl AccessTokens {
    pub fn new(key: &[u8; 32]) -> Self {
        // Only HS256 is accepted: `alg: none` and algorithm confusion are refused by construction.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the caller's clock below, so tests can move time.
        validation.validate_exp = false;
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
        }
    }

    pub fn issue(&self, user: &str, tenant: &str, session: &str, now: i64, jti: &str) -> String {
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user.to_owned(),
            tid: tenant.to_owned(),
            sid: session.to_owned(),
            iat: now,
            exp: now + ACCESS_TTL_SECONDS,
            jti: jti.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if data.claims.iat > now + 60 {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

/// A refresh token: `<tenant>.<user>.<session>.<secret>`. Only its hash is stored; the ids let
/// the server find the session by its key, and say nothing a holder of the token does not know.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    tenant_id: String,
    user_id: String,
    session_id: String,
    secret: String,
}

impl RefreshToken {
    /// A new token, `secret` being 32 random bytes encoded by the caller.
    pub fn new(tenant_id: &str, user_id: &str, session_id: &str, secret: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            user_id: user_id.to_owned(),
            session_id: session_id.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let plain = crate::digest::is_token_part;
        let parts: Vec<&str> = text.split('.').collect();
        match parts.as_slice() {
            [tenant, user, session, secret] if parts.iter().all(|p| plain(p)) => {
                Some(Self::new(tenant, user, session, secret))
            }
            _ => None,
        }
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// What is stored: SHA-256 of the whole token (a fast hash suffices for 256 random bits).
    pub fn hash(&self) -> String {
        crate::digest::sha256_hex(self.expose())
    }

    pub fn expose(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.tenant_id, self.user_id, self.session_id, self.secret
        )
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RefreshToken({}.{}.{}.redacted)",
            self.tenant_id, self.user_id, self.session_id
        )
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn tokens() -> AccessTokens {
        AccessTokens::new(&[7; 32])
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let token = tokens().issue("u1", "t1", "s1", NOW, "j1");
        let claims = tokens().verify(&token, NOW + 10).unwrap();
        assert_eq!(
            (
                claims.sub.as_str(),
                claims.tid.as_str(),
                claims.sid.as_str()
            ),
            ("u1", "t1", "s1")
        );
        assert_eq!(
            tokens().verify(&token, NOW + ACCESS_TTL_SECONDS),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn forged_tokens_are_refused() {
        let good = tokens().issue("u1", "t1", "s1", NOW, "j1");
        // Another key.
        assert_eq!(
            AccessTokens::new(&[8; 32]).verify(&good, NOW),
            Err(TokenError::Invalid)
        );
        // alg: none, claims intact.
        let parts: Vec<&str> = good.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            tokens().verify(&format!("{none_header}.{}.", parts[1]), NOW),
            Err(TokenError::Invalid)
        );
        // Tampered claims under the original signature.
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["tid"] = "t2".into();
        let tampered = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert_eq!(
            tokens().verify(&format!("{}.{tampered}.{}", parts[0], parts[2]), NOW),
            Err(TokenError::Invalid)
        );
        // Wrong audience or issuer, signed with the right key.
        for (field, value) in [("aud", "other-api"), ("iss", "someone-else")] {
            let mut claims: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            claims[field] = value.into();
            let token = jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&[7; 32]),
            )
            .unwrap();
            assert_eq!(
                tokens().verify(&token, NOW),
                Err(TokenError::Invalid),
                "{field}"
            );
        }
        assert_eq!(
            tokens().verify("not.a.token", NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn refresh_tokens_round_trip_and_hash_stably() {
        let token = RefreshToken::new("t1", "u1", "s1", "abc_DEF-123");
        let parsed = RefreshToken::parse(&token.expose()).unwrap();
        assert_eq!(
            (parsed.tenant_id(), parsed.user_id(), parsed.session_id()),
            ("t1", "u1", "s1")
        );
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(
            RefreshToken::new("t1", "u1", "s1", "other").hash(),
            token.hash()
        );
        for bad in ["", "nodot", "a.b.c", "a.b.c.d.e", "a..c.d", "a.b.c.d!"] {
            assert!(RefreshToken::parse(bad).is_none(), "{bad}");
        }
        assert!(!format!("{token:?}").contains("abc_DEF"));
    }
}
