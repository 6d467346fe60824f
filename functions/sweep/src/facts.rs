//! Reading what the sweep needs to know of one tenant (SPEC §F): its licence, members,
//! invitations, rooms and terminals, and the notices already sent.

use steward_authz::{BuiltInRole, Feature};
use steward_domain::access::RoleRef;
use steward_domain::licensing::sweep::TenantFacts;
use steward_store::StoreError;
use steward_store::access::InvitationRecord;
use steward_store::identity::{TenantRecord, UserRecord};

use crate::Context;

/// A tenant as read, with the facts the verdict is made from.
pub struct Gathered {
    pub tenant: TenantRecord,
    pub facts: TenantFacts,
    /// Where expiry notices go: the active owners' and admins' addresses.
    pub admin_emails: Vec<String>,
    pub expired_invitation_ids: Vec<String>,
}

/// Everything of a partition under `prefix`, page after page.
async fn all<T: serde::de::DeserializeOwned>(
    context: &Context,
    tenant_id: &str,
    prefix: &str,
) -> Result<Vec<T>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let (page, next) = context.access.page(tenant_id, prefix, 500, start).await?;
        items.extend(page);
        match next {
            Some(next) => start = Some(next),
            None => return Ok(items),
        }
    }
}

pub async fn gather(
    context: &Context,
    tenant_id: &str,
    now: i64,
) -> Result<Option<Gathered>, StoreError> {
    let Some(tenant) = context.identity.tenant(tenant_id).await? else {
        return Ok(None);
    };
    let (users, invitations, rooms, terminals) = futures::try_join!(
        all::<UserRecord>(context, tenant_id, "USER#"),
        all::<InvitationRecord>(context, tenant_id, "INVITE#"),
        context.sweep.count(tenant_id, "ROOM#"),
        context.sweep.count(tenant_id, "TERMINAL#"),
    )?;
    let licence = &tenant.licence;
    let notices_sent = match licence.expires_at {
        Some(expires_at) => context.sweep.notices_sent(tenant_id, expires_at).await?,
        None => Default::default(),
    };

    let mut admin_emails = Vec::new();
    let mut orphan_grants = Vec::new();
    for user in &users {
        let roles: Vec<RoleRef> = user
            .roles
            .iter()
            .filter_map(|role| RoleRef::parse(role).ok())
            .collect();
        let administers = roles.iter().any(|role| {
            matches!(
                role,
                RoleRef::BuiltIn(BuiltInRole::Owner | BuiltInRole::Admin)
            )
        });
        if user.status == "active" && administers {
            admin_emails.push(user.email.clone());
        }
        for role in &roles {
            if let RoleRef::Custom(name) = role
                && !tenant.custom_roles.contains_key(name)
            {
                orphan_grants.push((user.user_id.clone(), name.to_string()));
            }
        }
    }
    let lacks = |feature: Option<Feature>| feature.is_some_and(|f| !licence.features.contains(&f));
    let roles_beyond_licence = tenant
        .custom_roles
        .iter()
        .filter(|(_, role)| {
            role.permissions
                .iter()
                .any(|permission| lacks(permission.required_feature()))
        })
        .map(|(name, _)| name.to_string())
        .collect();
    let pending = |invitation: &&InvitationRecord| invitation.status == "pending";
    let pending_invitations = invitations
        .iter()
        .filter(pending)
        .filter(|i| i.expires_at > now)
        .count() as u32;
    let expired_invitation_ids: Vec<String> = invitations
        .iter()
        .filter(pending)
        .filter(|i| i.expires_at <= now)
        .map(|i| i.invitation_id.clone())
        .collect();
    let grace_days = licence.offering.map_or(0, |o| o.terms().grace_days);
    let facts = TenantFacts {
        status: licence.status,
        expires_at: licence.expires_at,
        grace_days,
        limits: licence.limits,
        seats_used: licence.seats_used,
        members: users.len() as u32,
        pending_invitations,
        expired_invitations: expired_invitation_ids.len() as u32,
        rooms,
        terminals,
        admins: admin_emails.len() as u32,
        orphan_grants,
        roles_beyond_licence,
        notices_sent,
    };
    Ok(Some(Gathered {
        tenant,
        facts,
        admin_emails,
        expired_invitation_ids,
    }))
}
