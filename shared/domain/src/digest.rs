//! The SHA-256 that stored secret tokens are kept as.

use sha2::{Digest, Sha256};

/// SHA-256 of `text`, as lowercase hex. A fast hash suffices for tokens that carry 256 random
/// bits; passwords use Argon2id (`identity::hashing`).
pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
