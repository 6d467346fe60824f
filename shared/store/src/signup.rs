//! Sign-ups waiting for their address to be confirmed.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | a pending sign-up (TTL `expires_at`) | `SIGNUP#<signup>` | `SIGNUP` |
//!
//! Nothing else of a sign-up exists until its emailed link is followed: then the tenant, its
//! owner and the email claim are written, and the pending item deleted, in one transaction
//! ([`crate::identity::IdentityStore::sign_up`]).

use serde::{Deserialize, Serialize};

use crate::{StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignUp {
    pub pk: String,
    pub sk: String,
    pub signup_id: String,
    pub email: String,
    pub name: String,
    pub tenant_name: String,
    /// The password as the owner's item will hold it (Argon2id).
    pub password_hash: String,
    /// SHA-256 of the whole confirmation token.
    pub token_hash: String,
    pub created_at: String,
    /// Unix seconds: when the link stops working, and the item's TTL.
    pub expires_at: i64,
}

impl PendingSignUp {
    pub fn key(signup_id: &str) -> (String, String) {
        (format!("SIGNUP#{signup_id}"), "SIGNUP".into())
    }
}

#[derive(Clone, Debug)]
pub struct SignUpStore {
    table: Table,
}

impl SignUpStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn put(&self, pending: &PendingSignUp) -> Result<(), StoreError> {
        self.table.put(pending).await
    }

    pub async fn pending(&self, signup_id: &str) -> Result<Option<PendingSignUp>, StoreError> {
        let (pk, sk) = PendingSignUp::key(signup_id);
        self.table.get(pk, sk, true).await
    }
}
