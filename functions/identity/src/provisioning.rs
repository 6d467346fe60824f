//! A member made without an invitation, by the tenant's identity provider (a first sign-in) or
//! its directory (SCIM): the account for an address that has none (with no usable password:
//! the person signs in through the provider, or sets one by a password reset), the membership
//! taking a seat, and the policy's next version, in one commit.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};
use steward_access::{Caller, new_id};
use steward_domain::access::{Change, PolicyState, RoleRef};
use steward_domain::identity::Email;
use steward_domain::identity::hashing::NOBODYS_HASH;
use steward_kit::ApiError;
use steward_kit::api::ApiRequest;
use steward_store::access::{Also, CommitError, PolicyCommit};
use steward_store::accounts::AccountRecord;
use steward_store::identity::UserRecord;

use crate::handlers::Identity;

/// Who joins, as the provider or directory names them.
pub(crate) struct Newcomer<'a> {
    pub email: &'a Email,
    /// The name to show; the address's local part when empty.
    pub name: &'a str,
    /// Who the audit log names as making the member.
    pub actor: &'a str,
    /// What the audit entry adds (the issuer, the directory's token).
    pub how: Value,
}

impl Identity {
    /// One try at `newcomer`'s membership of `tenant`, with the roles `roles` gives in the
    /// state read (`account`: the address's account, if it has one). `None`: another sign-in
    /// or change committed first (or the account joined meanwhile); read again. 402 when the
    /// licence is enforced and no seat is left.
    pub(crate) async fn first_membership(
        &self,
        request: &ApiRequest,
        tenant: &Caller,
        newcomer: &Newcomer<'_>,
        account: Option<&AccountRecord>,
        roles: impl Fn(&PolicyState) -> BTreeSet<RoleRef>,
    ) -> Result<Option<UserRecord>, ApiError> {
        let tenant_id = tenant.tenant_id();
        let (record, state) = self
            .access
            .load(tenant_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let licence = &record.licence;
        if tenant.licence_enforced && licence.seats_used >= licence.limits.seats {
            return Err(ApiError::LicenceLimit {
                limit: "seats".into(),
                allowed: licence.limits.seats,
            });
        }
        let now = Timestamp::now().to_string();
        let email = newcomer.email.as_str();
        let name: String = match newcomer.name.trim() {
            "" => email.split('@').next().unwrap_or("").to_owned(),
            name => name.chars().take(100).collect(),
        };
        let new_account = match account {
            Some(_) => None,
            None => Some(AccountRecord::new(
                &new_id("acc"),
                email,
                &name,
                NOBODYS_HASH,
                &now,
            )),
        };
        let account_id = account
            .or(new_account.as_ref())
            .map(|account| account.account_id.clone())
            .unwrap_or_default();
        let roles = roles(&state);
        let user_id = new_id("usr");
        let (pk, sk) = UserRecord::key(tenant_id, &user_id);
        let user = UserRecord {
            pk,
            sk,
            user_id: user_id.clone(),
            tenant_id: tenant_id.to_owned(),
            email: email.to_owned(),
            name,
            account_id,
            status: "active".into(),
            roles: roles.iter().map(ToString::to_string).collect(),
            created_at: now.clone(),
        };
        let change = Change::AddMember {
            user_id: user_id.clone(),
            roles: roles.clone(),
        };
        let next = change
            .next_state(&state)
            .map_err(|error| ApiError::Conflict(error.to_string()))?;
        let audit = self.audit(
            request,
            tenant_id,
            newcomer.actor,
            "member.provision",
            &format!("user:{user_id}"),
            json!({
                "user_id": user_id,
                "roles": roles,
                "policy_version": next.version,
                "new_account": new_account.is_some(),
                "by": newcomer.how,
            }),
        );
        let commit = PolicyCommit {
            tenant_id,
            state: &next,
            change: &change,
            audit: &audit,
            at: &now,
            also: Also::Provision {
                user: &user,
                account: new_account.as_ref(),
                tenant_name: &record.name,
                enforce_seat_limit: tenant.licence_enforced,
            },
        };
        match self.access.commit(commit).await {
            Ok(()) => Ok(Some(user)),
            Err(CommitError::Moved | CommitError::EmailTaken | CommitError::AlreadyMember) => {
                Ok(None)
            }
            Err(CommitError::Store(error)) => Err(error.into()),
            Err(other) => Err(ApiError::Conflict(other.to_string())),
        }
    }
}
