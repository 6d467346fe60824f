//! The member a provider's sign-in is: made on the first sign-in of a covered address (one
//! membership however many first sign-ins race: the membership's and the address's items are
//! conditional puts, and a loser reads again and finds it), and given, at every sign-in, the
//! roles the person's groups map to.

use std::collections::BTreeSet;

use serde_json::json;
use steward_access::Caller;
use steward_domain::access::{Change, PolicyState, RoleRef};
use steward_domain::identity::Email;
use steward_domain::identity::single_sign_on::Identity as Person;
use steward_kit::ApiError;
use steward_kit::api::ApiRequest;
use steward_kit::retry::Optimistic;
use steward_store::identity::UserRecord;
use steward_store::single_sign_on::ProviderRecord;

use super::ACTOR;
use crate::handlers::Identity;
use crate::provisioning::Newcomer;

/// The roles `groups` map to under `provider`, or its default role when none does. Roles the
/// tenant no longer has (a custom role deleted since) are left out.
fn mapped_roles(
    provider: &ProviderRecord,
    groups: &BTreeSet<String>,
    state: &PolicyState,
) -> BTreeSet<RoleRef> {
    let mapped: BTreeSet<RoleRef> = groups
        .iter()
        .filter_map(|group| provider.group_roles.get(group))
        .flatten()
        .filter_map(|text| RoleRef::parse(text).ok())
        .filter(|role| *role != RoleRef::OWNER && state.role_exists(role))
        .collect();
    if mapped.is_empty() {
        RoleRef::parse(&provider.default_role)
            .ok()
            .filter(|role| state.role_exists(role))
            .map_or_else(
                || BTreeSet::from([RoleRef::MEMBER]),
                |role| BTreeSet::from([role]),
            )
    } else {
        mapped
    }
}

impl Identity {
    /// The account and member `person` is in `provider`'s tenant, made now on a first sign-in.
    pub(super) async fn provider_member(
        &self,
        request: &ApiRequest,
        provider: &ProviderRecord,
        tenant: &Caller,
        person: &Person,
        email: &Email,
    ) -> Result<(String, UserRecord), ApiError> {
        let tenant_id = provider.tenant_id.as_str();
        let mut tries = Optimistic::new();
        while tries.next().await {
            let account = self.store.account_by_email(email.as_str()).await?;
            if let Some(account) = &account
                && let Some(link) = self
                    .store
                    .membership_of(&account.account_id, tenant_id)
                    .await?
                && let Some(user) = self.store.user(tenant_id, &link.user_id).await?
            {
                let user = self
                    .apply_group_roles(request, provider, user, person)
                    .await?;
                return Ok((account.account_id.clone(), user));
            }
            let newcomer = Newcomer {
                email,
                name: person.name.as_deref().unwrap_or(""),
                actor: ACTOR,
                how: json!({ "issuer": provider.issuer }),
            };
            let roles = |state: &PolicyState| mapped_roles(provider, &person.groups, state);
            if let Some(user) = self
                .first_membership(request, tenant, &newcomer, account.as_ref(), roles)
                .await?
            {
                return Ok((user.account_id.clone(), user));
            }
        }
        Err(tries.spent())
    }

    /// `user`'s roles made the ones `person`'s groups map to, when the provider maps groups
    /// (with no mapping, roles are managed in Steward); under dual approval, asked of an admin
    /// as the directory's are (service_changes.rs). The owner role is never the provider's to
    /// give or take.
    async fn apply_group_roles(
        &self,
        request: &ApiRequest,
        provider: &ProviderRecord,
        user: UserRecord,
        person: &Person,
    ) -> Result<UserRecord, ApiError> {
        if provider.group_roles.is_empty() {
            return Ok(user);
        }
        let tenant_id = provider.tenant_id.as_str();
        let (_, state) = self
            .access
            .load(tenant_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let Some(member) = state.members.get(&user.user_id) else {
            return Ok(user);
        };
        let wanted = mapped_roles(provider, &person.groups, &state);
        let held: BTreeSet<RoleRef> = member
            .roles
            .iter()
            .filter(|role| **role != RoleRef::OWNER)
            .cloned()
            .collect();
        // Grants first: a member never passes through holding no role.
        let changes: Vec<Change> = wanted
            .difference(&held)
            .map(|role| Change::GrantRole {
                user_id: user.user_id.clone(),
                role: role.clone(),
            })
            .chain(held.difference(&wanted).map(|role| Change::RevokeRole {
                user_id: user.user_id.clone(),
                role: role.clone(),
            }))
            .collect();
        if changes.is_empty() {
            return Ok(user);
        }
        let asked = state.dual_approval;
        self.change_roles_as(request, tenant_id, ACTOR, &state, changes)
            .await?;
        if asked {
            return Ok(user);
        }
        Ok(self
            .store
            .user(tenant_id, &user.user_id)
            .await?
            .unwrap_or(user))
    }
}
