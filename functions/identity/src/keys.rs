//! The keys this function derives from the signing secret, one per purpose.

use steward_kit::secret::{Secret, keyed_hash};

/// The key purpose identity providers' client secrets are sealed under.
pub const CLIENT_SECRETS_PURPOSE: &str = "sso-client-secret-seal";

#[derive(Clone)]
pub struct Keys {
    pub access_token: [u8; 32],
    /// Keys the hashes that name throttle counters (emails and addresses never stored in clear).
    throttle: [u8; 32],
    /// Seals second-factor secrets at rest.
    pub sealing: [u8; 32],
    /// Seals the client secrets of tenants' identity providers at rest.
    pub client_secrets: [u8; 32],
}

impl Keys {
    pub fn derive(secret: &Secret) -> Self {
        Self {
            access_token: secret.derive(steward_domain::identity::tokens::KEY_PURPOSE),
            throttle: secret.derive("throttle"),
            sealing: secret.derive(steward_domain::identity::second_factor::SEALING_PURPOSE),
            client_secrets: secret.derive(CLIENT_SECRETS_PURPOSE),
        }
    }

    pub fn throttle_key(&self, kind: &str, value: &str) -> String {
        format!("{kind}#{}", keyed_hash(&self.throttle, value))
    }
}
