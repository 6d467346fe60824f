//! Password hashing: Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), stored as PHC
//! strings so the parameters travel with each hash and can be raised later.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::Password;

/// OWASP Password Storage Cheat Sheet: m = 19456 KiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A stored password hash (PHC string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl PasswordHashString {
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn hash(password: &Password) -> PasswordHashString {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .expect("argon2 with valid parameters");
    PasswordHashString(hash.to_string())
}

/// Whether `password` matches `stored`. A stored string that does not parse never matches.
pub fn verify(password: &Password, stored: &PasswordHashString) -> bool {
    match PasswordHash::new(&stored.0) {
        Ok(parsed) => argon2()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password nobody was ever told, with today's parameters: written once
/// (argon2-cffi) rather than computed at init, which cost each cold start a full Argon2id hash.
/// Verifying against it takes as long as against any stored hash of the same parameters.
pub const NOBODYS_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$N9JKst8+mQJZuffZ9gj0Qg$3y95GwEwN1QMqg7E+z+PfO3/kJYsPYvEGbBWGaKst0o";

/// Spends the time of one verification on a hash nobody has: called when the email is unknown,
/// so that an unknown account and a wrong password take the same time (no enumeration by timing).
pub fn verify_nothing(password: &Password) {
    let _ = verify(password, &PasswordHashString(NOBODYS_HASH.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_carries_owasp_parameters() {
        let password = Password::existing("maple tractor velvet orbit").unwrap();
        let stored = hash(&password);
        assert!(
            stored
                .as_str()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            stored.as_str()
        );
        assert!(verify(&password, &stored));
        assert!(!verify(
            &Password::existing("maple tractor velvet orbiT").unwrap(),
            &stored
        ));
        assert!(!verify(
            &password,
            &PasswordHashString::from_stored("garbage".into())
        ));
        assert_ne!(hash(&password), stored, "salted");
    }

    #[test]
    fn nobodys_hash_costs_what_a_stored_hash_costs() {
        let stored = hash(&Password::existing("maple tractor velvet orbit").unwrap());
        let parameters = |phc: &str| {
            let parsed = PasswordHash::new(phc).unwrap();
            (
                parsed.algorithm.to_string(),
                parsed.version,
                parsed.params.to_string(),
                parsed.hash.map(|h| h.len()),
            )
        };
        assert_eq!(parameters(NOBODYS_HASH), parameters(stored.as_str()));
    }
}
