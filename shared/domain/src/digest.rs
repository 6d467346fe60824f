//! What opaque secret tokens share: the SHA-256 they are stored as, and the shape of their
//! dot-separated parts.

use sha2::{Digest, Sha256};

/// SHA-256 of `text`, as lowercase hex. A fast hash suffices for tokens that carry 256 random
/// bits; passwords use Argon2id (`identity::hashing`).
pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One dot-separated part of a token: 1 to 128 of `A-Z a-z 0-9 - _` (ids and URL-safe base64).
pub(crate) fn is_token_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 128
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
