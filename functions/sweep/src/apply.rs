//! Acting on a verdict: the status transition, the expiry notices (each once), and, with
//! `SELF_HEALING_ENABLED`, the safe fixes. Every write is audited as the sweep's and is
//! conditioned on what was read, so a message processed twice changes nothing twice.

use jiff::Timestamp;
use serde_json::json;
use steward_access::Record;
use steward_domain::access::{Change, RoleRef};
use steward_domain::licensing::sweep::{Assessment, Fix};
use steward_store::StoreError;
use steward_store::access::{Also, CommitError, PolicyCommit};
use steward_store::mail::Email;

use crate::Context;
use crate::facts::Gathered;

/// The audit log's actor for what the sweep does.
pub const SWEEP_ACTOR: &str = "system:licence-sweep";

pub async fn transition(
    context: &Context,
    run_id: &str,
    gathered: &Gathered,
    assessment: &Assessment,
) -> Result<(), StoreError> {
    let Some(to) = assessment.transition else {
        return Ok(());
    };
    let tenant_id = &gathered.tenant.tenant_id;
    let licence = &gathered.tenant.licence;
    let audit = context.auditor.system_entry(
        run_id,
        Record {
            tenant_id,
            actor: SWEEP_ACTOR,
            action: "licence.transition",
            target: &format!("tenant:{tenant_id}"),
            before: json!({ "status": licence.status, "expires_at": licence.expires_at }),
            after: json!({ "status": to, "expires_at": licence.expires_at }),
        },
    );
    // `false`: it moved meanwhile (renewed, or an earlier delivery of this message).
    context
        .sweep
        .transition(tenant_id, licence.status, to, licence.expires_at, &audit)
        .await?;
    Ok(())
}

/// Sends the notices due, each claimed first so that no later run sends it again.
pub async fn notices(
    context: &Context,
    run_id: &str,
    gathered: &Gathered,
    assessment: &Assessment,
) -> Result<u32, StoreError> {
    let tenant = &gathered.tenant;
    let Some(expires_at) = tenant.licence.expires_at else {
        return Ok(0);
    };
    let mut sent = 0;
    for &days in &assessment.notices {
        let now = Timestamp::now().to_string();
        if !context
            .sweep
            .claim_notice(&tenant.tenant_id, expires_at, days, run_id, &now)
            .await?
        {
            continue;
        }
        if !gathered.admin_emails.is_empty() {
            context
                .mailer
                .send(&notice(gathered, days, expires_at))
                .await?;
        }
        context
            .sweep
            .mark_notice_sent(&tenant.tenant_id, expires_at, days, &now)
            .await?;
        sent += 1;
    }
    Ok(sent)
}

fn notice(gathered: &Gathered, days: u32, expires_at: i64) -> Email {
    let tenant = &gathered.tenant;
    let ends = Timestamp::from_second(expires_at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let plural = if days == 1 { "" } else { "s" };
    Email {
        to: gathered.admin_emails.clone(),
        subject: format!(
            "Your Steward licence for {} ends in {days} day{plural}",
            tenant.name
        ),
        text: format!(
            "The Steward licence of {} ({}) ends on {ends}.\n\
             Renew it before then to keep booking, check-in and credentials running without a break.\n",
            tenant.name, tenant.tenant_id
        ),
        html: None,
        attachments: Vec::new(),
    }
}

/// Applies the safe fixes; each write audited and conditioned on what the sweep read.
pub async fn fixes(
    context: &Context,
    run_id: &str,
    gathered: &Gathered,
    assessment: &Assessment,
    now: i64,
) -> Result<(), StoreError> {
    let tenant_id = &gathered.tenant.tenant_id;
    for fix in &assessment.fixes {
        let target = format!("tenant:{tenant_id}");
        let record = |action, before, after| Record {
            tenant_id,
            actor: SWEEP_ACTOR,
            action,
            target: &target,
            before,
            after,
        };
        match fix {
            Fix::ExpireInvitations { .. } => {
                let ids = &gathered.expired_invitation_ids;
                let audit = context.auditor.system_entry(
                    run_id,
                    record(
                        "invitation.expire",
                        json!({ "pending": ids }),
                        json!({ "expired": ids }),
                    ),
                );
                context
                    .sweep
                    .expire_invitations(tenant_id, ids, now, &audit)
                    .await?;
            }
            Fix::RecountSeats { to } => {
                let from = gathered.facts.seats_used;
                let audit = context.auditor.system_entry(
                    run_id,
                    record(
                        "licence.recount_seats",
                        json!({ "seats_used": from }),
                        json!({ "seats_used": to }),
                    ),
                );
                context
                    .sweep
                    .recount_seats(tenant_id, from, *to, &audit)
                    .await?;
            }
            Fix::RevokeOrphanGrants { grants } => {
                for (user_id, role) in grants {
                    revoke_orphan(context, run_id, tenant_id, user_id, role).await?;
                }
            }
        }
    }
    Ok(())
}

/// Takes a grant of a deleted custom role away through the policy's versioned commit (so the
/// snapshot and the member's record move together). A member left without a role keeps the
/// built-in `member` role: nobody is locked out by a repair.
async fn revoke_orphan(
    context: &Context,
    run_id: &str,
    tenant_id: &str,
    user_id: &str,
    role: &str,
) -> Result<(), StoreError> {
    let Ok(orphan) = RoleRef::parse(role) else {
        return Ok(());
    };
    for _ in 0..5 {
        let Some((_, mut state)) = context.access.load(tenant_id).await? else {
            return Ok(());
        };
        let Some(member) = state.members.get_mut(user_id) else {
            return Ok(());
        };
        if !member.roles.remove(&orphan) {
            return Ok(());
        }
        if member.roles.is_empty() {
            member.roles.insert(RoleRef::MEMBER);
        }
        state.version += 1;
        let change = Change::RevokeRole {
            user_id: user_id.to_owned(),
            role: orphan.clone(),
        };
        let audit = context.auditor.system_entry(
            run_id,
            Record {
                tenant_id,
                actor: SWEEP_ACTOR,
                action: "role.revoke_orphan",
                target: &change.target(),
                before: json!({ "role": role }),
                after: json!({ "roles": state.members[user_id].roles }),
            },
        );
        let at = Timestamp::now().to_string();
        match context
            .access
            .commit(PolicyCommit {
                tenant_id,
                state: &state,
                change: &change,
                audit: &audit,
                at: &at,
                also: Also::Nothing,
            })
            .await
        {
            Ok(()) => return Ok(()),
            Err(CommitError::Moved) => continue,
            Err(CommitError::Store(error)) => return Err(error),
            Err(other) => return Err(StoreError::Failed(Box::new(other))),
        }
    }
    Err(StoreError::Failed(
        "the policy kept moving while an orphan grant was revoked".into(),
    ))
}
