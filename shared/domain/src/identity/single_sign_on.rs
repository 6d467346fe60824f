//! Single sign-on with a tenant's OpenID provider (OpenID Connect Core 1.0, authorization code
//! flow with PKCE): what is checked of the provider's discovery document and of the ID token it
//! signs. Fetching them is the caller's; nothing here does I/O.

use std::collections::BTreeSet;

use base64::Engine;
use jsonwebtoken::jwk::Jwk;
pub use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The signatures an ID token may carry: public-key algorithms only. `none` is not an
/// [`Algorithm`] at all, and HMAC would verify with the provider's public key as its secret.
pub const ALLOWED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How far the provider's clock may be from ours.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// How old an ID token may be when it arrives: it is minted for this sign-in, seconds ago.
pub const MAX_AGE_SECONDS: i64 = 600;

/// What Steward reads of a provider's discovery document (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the discovery document names issuer {found:?}, not {expected:?}")]
    OtherIssuer { expected: String, found: String },
    #[error("the provider does not offer PKCE with S256")]
    NoPkce,
}

impl ProviderMetadata {
    /// Refuses a document that is not the configured issuer's (Discovery §4.3: the issuer it
    /// names is exactly the one asked for) or that cannot do PKCE with S256. A document that
    /// lists no methods is taken at its word that it accepts S256, as most providers do.
    pub fn check(&self, issuer: &str) -> Result<(), DiscoveryError> {
        if self.issuer != issuer {
            return Err(DiscoveryError::OtherIssuer {
                expected: issuer.to_owned(),
                found: self.issuer.clone(),
            });
        }
        let methods = &self.code_challenge_methods_supported;
        if !methods.is_empty() && !methods.iter().any(|method| method == "S256") {
            return Err(DiscoveryError::NoPkce);
        }
        Ok(())
    }
}

/// The `code_challenge` of a PKCE `code_verifier` (RFC 7636 §4.2, S256).
pub fn code_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the ID token must match: the sign-in it answers and this moment.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Unix seconds.
    pub now: i64,
    /// The claim that lists the person's groups (`groups` by default).
    pub groups_claim: &'a str,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    /// Lowercase, as the provider gave it (parsed into an address by the caller).
    pub email: String,
    pub name: Option<String>,
    pub groups: BTreeSet<String>,
}

/// Why an ID token was refused. Each names what failed; none repeats the token's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is not a signed JWT")]
    Malformed,
    #[error("the ID token is signed with {0}, which is not accepted")]
    Algorithm(String),
    #[error("no key of the provider has the ID token's key id")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error("the ID token is from another issuer")]
    Issuer,
    #[error("the ID token is for another client")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token was issued in the future or too long ago")]
    IssuedAt,
    #[error("the ID token answers another sign-in (nonce)")]
    Nonce,
    #[error("the provider did not say the address is verified")]
    EmailNotVerified,
    #[error("the ID token lacks {0}")]
    Missing(&'static str),
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Verified>,
    /// Entra ID's "email domain owner verified" (its tokens carry no `email_verified`).
    #[serde(default)]
    xms_edov: Option<Verified>,
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// `email_verified` is a boolean, but some providers send the string `"true"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Verified {
    Flag(bool),
    Text(String),
}

impl Verified {
    fn is_true(&self) -> bool {
        match self {
            Self::Flag(flag) => *flag,
            Self::Text(text) => text == "true",
        }
    }
}

/// The provider's key that signed `id_token`: the one with its `kid`, or the only one when it
/// names none. [`IdTokenError::UnknownKey`] tells the caller to fetch the keys again (the
/// provider may have rotated them) and try once more.
fn signing_key<'k>(keys: &'k JwkSet, kid: Option<&str>) -> Result<&'k Jwk, IdTokenError> {
    match kid {
        Some(kid) => keys.find(kid).ok_or(IdTokenError::UnknownKey),
        None => match keys.keys.as_slice() {
            [only] => Ok(only),
            _ => Err(IdTokenError::UnknownKey),
        },
    }
}

/// Verifies `id_token` (Core §3.1.3.7): its signature with the provider's key under an
/// allowed algorithm, its issuer, audience (and `azp` when several), expiry, issue time and
/// nonce, and that it carries a verified address (`email_verified`, or Entra ID's
/// `xms_edov`).
pub fn verify(
    id_token: &str,
    keys: &JwkSet,
    expected: Expected<'_>,
) -> Result<Identity, IdTokenError> {
    // An `alg` jsonwebtoken does not know (`none` among them) fails to parse here.
    let header = jsonwebtoken::decode_header(id_token).map_err(|_| IdTokenError::Malformed)?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(IdTokenError::Algorithm(format!("{:?}", header.alg)));
    }
    let jwk = signing_key(keys, header.kid.as_deref())?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| IdTokenError::Signature)?;
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    // Checked below against `expected`, so that each failure is named and time is the caller's.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_) => IdTokenError::Missing("a required claim"),
            _ => IdTokenError::Signature,
        })?
        .claims;
    if claims.iss != expected.issuer {
        return Err(IdTokenError::Issuer);
    }
    let audiences = match &claims.aud {
        Audience::One(one) => vec![one.as_str()],
        Audience::Many(many) => many.iter().map(String::as_str).collect(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    if (audiences.len() > 1 || claims.azp.is_some())
        && claims.azp.as_deref() != Some(expected.client_id)
    {
        return Err(IdTokenError::Audience);
    }
    if claims.exp + CLOCK_SKEW_SECONDS <= expected.now {
        return Err(IdTokenError::Expired);
    }
    if claims.iat > expected.now + CLOCK_SKEW_SECONDS || claims.iat + MAX_AGE_SECONDS < expected.now
    {
        return Err(IdTokenError::IssuedAt);
    }
    let nonce = claims.nonce.as_deref().ok_or(IdTokenError::Nonce)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        nonce.as_bytes(),
        expected.nonce.as_bytes(),
    )) {
        return Err(IdTokenError::Nonce);
    }
    let email = claims.email.ok_or(IdTokenError::Missing("email"))?;
    let verified = [&claims.email_verified, &claims.xms_edov]
        .into_iter()
        .any(|claim| claim.as_ref().is_some_and(Verified::is_true));
    if !verified {
        return Err(IdTokenError::EmailNotVerified);
    }
    let groups = match claims.rest.get(expected.groups_claim) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => BTreeSet::from([one.clone()]),
        _ => BTreeSet::new(),
    };
    Ok(Identity {
        subject: claims.sub,
        email: email.to_lowercase(),
        name: claims.name,
        groups,
    })
}

#[cfg(test)]
mod tests;
