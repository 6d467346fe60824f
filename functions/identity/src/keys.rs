//! The keys this function derives from the signing secret, one per purpose.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use steward_kit::secret::Secret;

#[derive(Clone)]
pub struct Keys {
    pub access_token: [u8; 32],
    /// Keys the hashes that name throttle counters (emails and addresses never stored in clear).
    throttle: [u8; 32],
    /// Keys the source-address hashes of audit entries.
    source_ip: [u8; 32],
}

fn keyed_hash(key: &[u8; 32], text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Keys {
    pub fn derive(secret: &Secret) -> Self {
        Self {
            access_token: secret.derive(steward_domain::identity::tokens::KEY_PURPOSE),
            throttle: secret.derive("throttle"),
            source_ip: secret.derive("source-ip"),
        }
    }

    pub fn throttle_key(&self, kind: &str, value: &str) -> String {
        format!("{kind}#{}", keyed_hash(&self.throttle, value))
    }

    pub fn source_ip_hash(&self, ip: &str) -> String {
        keyed_hash(&self.source_ip, ip)
    }
}
