//! The signing secret and the keys derived from it, one per purpose.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer};
use sha2::Sha256;

/// Shorter secrets are refused at init: 32 characters of a random alphabet carry enough entropy
/// for HMAC-SHA256 keys.
const MIN_LENGTH: usize = 32;

#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(value: impl Into<Vec<u8>>) -> Result<Self, String> {
        let value = value.into();
        if value.len() < MIN_LENGTH {
            return Err(format!(
                "the signing secret must be at least {MIN_LENGTH} characters long"
            ));
        }
        Ok(Self(value))
    }

    /// A key for one purpose (`"cursor"`, `"ip-hash"`…): a leak of one derived key exposes
    /// nothing of the others.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"steward/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// HMAC-SHA256 of `text` under a derived `key`, as hex: a value that can be matched but not
/// read back (emails in throttle keys, source addresses in audit entries).
pub fn keyed_hash(key: &[u8; 32], text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Secret::new(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_different_stable_keys_and_short_secrets_are_refused() {
        let secret = Secret::new("x".repeat(40)).unwrap();
        assert_eq!(secret.derive("cursor"), secret.derive("cursor"));
        assert_ne!(secret.derive("cursor"), secret.derive("ip-hash"));
        assert!(Secret::new("short").is_err());
        assert_eq!(format!("{secret:?}"), "Secret(redacted)");
    }
}
