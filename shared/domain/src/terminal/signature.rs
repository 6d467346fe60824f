//! The terminal request signature (docs/terminals.md): HMAC-SHA256, keyed with the terminal's
//! secret, over the credential, method, path, timestamp, nonce and the body's SHA-256.
//!
//! ```text
//! Authorization: Steward-HMAC-SHA256 Credential=<tenant>/<terminal>, Timestamp=<unix s>, Nonce=<nonce>, Signature=<hex>
//! ```
//!
//! This module is the reference signer as well as the verifier: the simulator signs with
//! [`sign`], the API checks with [`SignedHeader::verify`].

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::digest::{is_token_part, sha256_hex};

/// The scheme's name, first in the header and in the signed text.
pub const SCHEME: &str = "Steward-HMAC-SHA256";

/// How far a request's timestamp may be from the server's clock, either way.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// How long a nonce is remembered: longer than any timestamp is accepted, so a replay is
/// refused either as seen or as stale.
pub const NONCE_MEMORY_SECONDS: i64 = 2 * MAX_SKEW_SECONDS;

/// Which terminal of which tenant signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub tenant_id: String,
    pub terminal_id: String,
}

impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.tenant_id, self.terminal_id)
    }
}

/// What a request's signature covers besides the credential, timestamp and nonce.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// Upper case.
    pub method: &'a str,
    /// The path as sent, with `?query` when there is one.
    pub path: &'a str,
    pub body: &'a [u8],
}

/// The parsed `Authorization` header of a terminal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    pub credential: Credential,
    pub timestamp: i64,
    pub nonce: String,
    signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed: send Authorization: {SCHEME} ...")]
    Missing,
    #[error("the Authorization header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the timestamp is {0} s from the server's clock; at most {MAX_SKEW_SECONDS} s")]
    Stale(i64),
    #[error("the signature does not match the request")]
    Mismatch,
}

fn valid_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len()) && is_token_part(nonce)
}

fn valid_id(id: &str) -> bool {
    id.len() <= 64 && is_token_part(id)
}

/// The text the signature is the HMAC of.
fn string_to_sign(
    credential: &Credential,
    timestamp: i64,
    nonce: &str,
    request: Signed<'_>,
) -> String {
    format!(
        "STEWARD-HMAC-SHA256\n{credential}\n{}\n{}\n{timestamp}\n{nonce}\n{}",
        request.method.to_ascii_uppercase(),
        request.path,
        sha256_hex(request.body),
    )
}

fn mac(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length")
}

/// The `Authorization` header value of `request`, signed by `credential` with `secret`.
pub fn sign(
    credential: &Credential,
    secret: &str,
    timestamp: i64,
    nonce: &str,
    request: Signed<'_>,
) -> String {
    let mut mac = mac(secret);
    mac.update(string_to_sign(credential, timestamp, nonce, request).as_bytes());
    format!(
        "{SCHEME} Credential={credential}, Timestamp={timestamp}, Nonce={nonce}, Signature={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

impl SignedHeader {
    /// Parses the header; says nothing yet of whether the signature holds.
    pub fn parse(header: Option<&str>) -> Result<Self, SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let fields = header
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(SignatureError::Missing)?;
        let (mut credential, mut timestamp, mut nonce, mut signature) = (None, None, None, None);
        for field in fields.split(',') {
            let (name, value) = field
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed("fields are Name=value"))?;
            let slot = match name {
                "Credential" => &mut credential,
                "Timestamp" => &mut timestamp,
                "Nonce" => &mut nonce,
                "Signature" => &mut signature,
                _ => return Err(SignatureError::Malformed("unknown field")),
            };
            if slot.replace(value).is_some() {
                return Err(SignatureError::Malformed("a field is repeated"));
            }
        }
        let credential = credential
            .and_then(|c| c.split_once('/'))
            .filter(|(tenant, terminal)| valid_id(tenant) && valid_id(terminal))
            .map(|(tenant, terminal)| Credential {
                tenant_id: tenant.to_owned(),
                terminal_id: terminal.to_owned(),
            })
            .ok_or(SignatureError::Malformed(
                "Credential is <tenant>/<terminal>",
            ))?;
        let timestamp = timestamp
            .and_then(|t| t.parse().ok())
            .ok_or(SignatureError::Malformed("Timestamp is unix seconds"))?;
        let nonce = nonce
            .filter(|n| valid_nonce(n))
            .ok_or(SignatureError::Malformed(
                "Nonce is 16 to 64 characters of A-Z a-z 0-9 - _",
            ))?
            .to_owned();
        let signature = signature
            .filter(|s| s.len() == 64)
            .and_then(|s| hex::decode(s).ok())
            .ok_or(SignatureError::Malformed("Signature is 64 hex digits"))?;
        Ok(Self {
            credential,
            timestamp,
            nonce,
            signature,
        })
    }

    /// Whether the timestamp is within [`MAX_SKEW_SECONDS`] of `now` (unix seconds).
    pub fn fresh(&self, now: i64) -> Result<(), SignatureError> {
        let skew = now - self.timestamp;
        if skew.abs() > MAX_SKEW_SECONDS {
            return Err(SignatureError::Stale(skew));
        }
        Ok(())
    }

    /// Whether `secret` signed `request` under this header; compared in constant time.
    pub fn verify(&self, secret: &str, request: Signed<'_>) -> Result<(), SignatureError> {
        let mut mac = mac(secret);
        mac.update(
            string_to_sign(&self.credential, self.timestamp, &self.nonce, request).as_bytes(),
        );
        mac.verify_slice(&self.signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential {
            tenant_id: "t_1".into(),
            terminal_id: "tm_1".into(),
        }
    }

    const BODY: &[u8] = br#"{"pin":"123456"}"#;

    fn request(body: &[u8]) -> Signed<'_> {
        Signed {
            method: "POST",
            path: "/v1/terminal/check-in",
            body,
        }
    }

    #[test]
    fn a_signed_request_verifies_and_a_fixed_vector_stays_fixed() {
        let header = sign(
            &credential(),
            "s3cret",
            1_700_000_000,
            "nonce-0123456789ab",
            request(BODY),
        );
        // The vector docs/terminals.md gives, so that other signers can check themselves.
        assert_eq!(
            header,
            "Steward-HMAC-SHA256 Credential=t_1/tm_1, Timestamp=1700000000, \
             Nonce=nonce-0123456789ab, Signature=db5468bef77a18cd01ad06184861cc886756b9ff7373441d142f7eba9c2ce881"
        );
        let parsed = SignedHeader::parse(Some(&header)).unwrap();
        assert_eq!(parsed.credential, credential());
        parsed.verify("s3cret", request(BODY)).unwrap();
        parsed.fresh(1_700_000_300).unwrap();
    }

    #[test]
    fn every_change_after_signing_breaks_it() {
        let header = sign(
            &credential(),
            "s3cret",
            1_700_000_000,
            "nonce-0123456789ab",
            request(BODY),
        );
        let parsed = SignedHeader::parse(Some(&header)).unwrap();
        let mismatch = Err(SignatureError::Mismatch);
        assert_eq!(parsed.verify("other", request(BODY)), mismatch);
        assert_eq!(
            parsed.verify("s3cret", request(br#"{"pin":"123457"}"#)),
            mismatch
        );
        let other_path = Signed {
            path: "/v1/terminal/walk-up",
            ..request(BODY)
        };
        assert_eq!(parsed.verify("s3cret", other_path), mismatch);
        let other_method = Signed {
            method: "PUT",
            ..request(BODY)
        };
        assert_eq!(parsed.verify("s3cret", other_method), mismatch);
        let moved = header.replace("Timestamp=1700000000", "Timestamp=1700000001");
        let moved = SignedHeader::parse(Some(&moved)).unwrap();
        assert_eq!(moved.verify("s3cret", request(BODY)), mismatch);
    }

    #[test]
    fn stale_timestamps_are_refused_both_ways() {
        let header = sign(
            &credential(),
            "s",
            1_000,
            "nonce-0123456789ab",
            request(b""),
        );
        let parsed = SignedHeader::parse(Some(&header)).unwrap();
        assert_eq!(parsed.fresh(1_301), Err(SignatureError::Stale(301)));
        assert_eq!(parsed.fresh(699), Err(SignatureError::Stale(-301)));
        assert!(parsed.fresh(1_300).is_ok() && parsed.fresh(700).is_ok());
    }

    #[test]
    fn malformed_headers_are_named() {
        assert_eq!(SignedHeader::parse(None), Err(SignatureError::Missing));
        assert_eq!(
            SignedHeader::parse(Some("Bearer x")),
            Err(SignatureError::Missing)
        );
        let good = sign(&credential(), "s", 1, "nonce-0123456789ab", request(b""));
        for (from, to) in [
            ("Credential=t_1/tm_1", "Credential=t_1"),
            ("Timestamp=1", "Timestamp=soon"),
            ("Nonce=nonce-0123456789ab", "Nonce=short"),
            ("Nonce=nonce-0123456789ab", "Nonce=nonce 0123456789ab!"),
        ] {
            assert!(
                matches!(
                    SignedHeader::parse(Some(&good.replace(from, to))),
                    Err(SignatureError::Malformed(_))
                ),
                "{to}"
            );
        }
        let cut = &good[..good.len() - 2];
        assert!(matches!(
            SignedHeader::parse(Some(cut)),
            Err(SignatureError::Malformed(_))
        ));
    }
}
