//! Secrets kept at rest sealed with AES-256-GCM (aws-lc-rs) under a key derived for their
//! purpose, and bound to what they belong to (the associated data: sealed for one account or
//! tenant, a secret opens for no other). Stored as hex of the nonce and the ciphertext.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// A sealed secret that does not open: tampered with, sealed for another owner, or under
/// another key (the signing secret was rotated since).
#[derive(Debug, thiserror::Error)]
#[error("the sealed secret does not open")]
pub struct SealError;

/// `secret` sealed under `key`, bound to `owner`.
pub fn seal(secret: &[u8], key: &[u8; 32], owner: &str) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).expect("the system's random source works");
    let mut sealed = secret.to_vec();
    sealing_key(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(owner.as_bytes()),
            &mut sealed,
        )
        .expect("AES-GCM seals a secret of any size under 64 GiB");
    let mut text = hex::encode(nonce);
    text.push_str(&hex::encode(sealed));
    text
}

/// The secret [`seal`] sealed under `key` for `owner`.
pub fn open(sealed: &str, key: &[u8; 32], owner: &str) -> Result<Vec<u8>, SealError> {
    let bytes = hex::decode(sealed).map_err(|_| SealError)?;
    if bytes.len() <= NONCE_LEN {
        return Err(SealError);
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
    let mut ciphertext = ciphertext.to_vec();
    let opened = sealing_key(key)
        .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut ciphertext)
        .map_err(|_| SealError)?;
    Ok(opened.to_vec())
}

fn sealing_key(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_owner_under_its_key() {
        let key = [7u8; 32];
        let sealed = seal(b"client secret", &key, "tenant-a");
        assert_eq!(open(&sealed, &key, "tenant-a").unwrap(), b"client secret");
        assert!(open(&sealed, &key, "tenant-b").is_err());
        assert!(open(&sealed, &[8u8; 32], "tenant-a").is_err());
        assert!(!sealed.contains(&hex::encode(b"client secret")));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert!(open(std::str::from_utf8(&tampered).unwrap(), &key, "tenant-a").is_err());
        assert!(open("", &key, "tenant-a").is_err());
    }
}
