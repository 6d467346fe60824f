//! The second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of skew
//! either side, the common authenticator apps' settings), its secret sealed at rest, and the
//! single-use recovery codes that stand in for a lost authenticator.

use totp_rs::{Builder, Secret, Totp};

use crate::digest::sha256_hex;
use crate::sealed;
pub use crate::sealed::SealError;

/// What authenticator apps show above the codes.
pub const ISSUER: &str = "Steward";

/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;

/// The key purpose a secret is sealed under (derived from the signing secret).
pub const SEALING_PURPOSE: &str = "totp-seal";

/// Recovery codes' letters: no 0/o, 1/l/i, so that a code read off paper is typed right.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A TOTP secret: 20 random bytes (RFC 4226's recommended 160 bits).
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source works");
        Self(bytes)
    }

    fn totp(&self, account_name: &str) -> Totp {
        Builder::new()
            .with_secret(Secret::from(self.0.clone()))
            .with_account_name(account_name)
            .with_issuer(Some(ISSUER))
            .build()
            .expect("20 bytes, 6 digits and a plain account name are RFC 6238's")
    }

    /// The secret as authenticator apps take it typed in (RFC 4648 base32).
    pub fn base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    /// The `otpauth://totp/...` URI a QR code carries, naming the account by `email`.
    pub fn uri(&self, email: &str) -> String {
        self.totp(email)
            .to_url()
            .expect("an issuer and an email make a valid otpauth URI")
    }

    /// The time step `code` is the code of at `now` (unix seconds), within one step either
    /// side; `None` for a wrong code.
    pub fn step_of(&self, code: &str, now: i64) -> Option<u64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.totp("").check(code, u64::try_from(now).ok()?)
    }

    /// The code of `now`'s step (what an authenticator shows; for tests and tools).
    pub fn code_at(&self, now: i64) -> String {
        self.totp("")
            .generate(u64::try_from(now).unwrap_or(0))
            .to_string()
    }

    /// The secret sealed under `key`, bound to `account_id` (crate::sealed).
    pub fn seal(&self, key: &[u8; 32], account_id: &str) -> String {
        sealed::seal(&self.0, key, account_id)
    }

    pub fn open(sealed: &str, key: &[u8; 32], account_id: &str) -> Result<Self, SealError> {
        sealed::open(sealed, key, account_id).map(Self)
    }
}

/// Ten new recovery codes (`xxxxx-xxxxx`, about 49 bits each), shown once.
pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut random = [0u8; 10];
            aws_lc_rs::rand::fill(&mut random).expect("the system's random source works");
            let letters: String = random
                .iter()
                .map(|byte| CODE_ALPHABET[usize::from(*byte) % CODE_ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &letters[..5], &letters[5..])
        })
        .collect()
}

/// What is stored of a recovery code: SHA-256 of it as typed, less case, spaces and dashes.
/// Its 49 random bits need no slow hash: nobody guesses one in the attempts sign-in allows.
pub fn recovery_hash(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    sha256_hex(&normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" at 59 s is 94287082
    /// (8 digits); its last 6 are the 6-digit code.
    #[test]
    fn codes_are_rfc_6238s() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(1_111_111_109), "081804");
        assert_eq!(secret.step_of("287082", 59), Some(1));
        assert_eq!(secret.step_of("287082", 59 + 30), Some(1), "one step late");
        assert_eq!(secret.step_of("287082", 59 + 60), None, "two steps late");
        assert_eq!(secret.step_of("28708", 59), None);
        assert_eq!(secret.step_of("abcdef", 59), None);
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_account_under_its_key() {
        let secret = TotpSecret::generate();
        let key = [7u8; 32];
        let sealed = secret.seal(&key, "acc_1");
        assert!(!sealed.contains(&hex::encode(&secret.0)), "not in clear");
        let opened = TotpSecret::open(&sealed, &key, "acc_1").unwrap();
        assert_eq!(opened.0, secret.0);
        assert!(TotpSecret::open(&sealed, &key, "acc_2").is_err());
        assert!(TotpSecret::open(&sealed, &[8u8; 32], "acc_1").is_err());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert!(TotpSecret::open(std::str::from_utf8(&tampered).unwrap(), &key, "acc_1").is_err());
        assert_ne!(
            secret.seal(&key, "acc_1"),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account_and_carries_the_secret() {
        let secret = TotpSecret::generate();
        let uri = secret.uri("mia@acme.test");
        assert!(
            uri.starts_with("otpauth://totp/Steward:mia%40acme.test?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", secret.base32())),
            "{uri}"
        );
        assert!(uri.contains("issuer=Steward"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hash_as_typed_loosely() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(
            codes
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            10
        );
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        assert_eq!(
            recovery_hash(code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(code), recovery_hash(&codes[1]));
    }
}
