//! Platform operators (SPEC §F): members of the reserved `platform` tenant holding the built-in
//! `operator` role, the only role with the `platform:*` permissions. Operator endpoints
//! authorize against the platform tenant, whose resources the licences and switches are.

use jiff::Timestamp;
use serde_json::json;
use steward_authz::BuiltInRole;
use steward_domain::access::RoleRef;
use steward_domain::identity::{Email, Password, hashing};
use steward_store::access::SnapshotRecord;
use steward_store::accounts::AccountRecord;
use steward_store::audit::NewAuditEntry;
use steward_store::identity::{IdentityStore, SignUpError, TenantRecord, UserRecord};

use crate::AUDIT_RETENTION_DAYS;

/// The reserved tenant operators belong to.
pub use steward_store::platform::PLATFORM_TENANT;

/// Creates the platform tenant with its first operator (the platform's own "sign-up", run once
/// by whoever holds the table's credentials: `make run` locally, a runbook in AWS).
pub async fn bootstrap_operator(
    store: &IdentityStore,
    email: &Email,
    name: &str,
    password: &Password,
) -> Result<String, SignUpError> {
    let now = Timestamp::now();
    let at = now.to_string();
    let user_id = crate::new_id("usr");
    let operator = RoleRef::BuiltIn(BuiltInRole::Operator);
    let mut tenant = TenantRecord::new(PLATFORM_TENANT, "Steward platform", &at);
    // Not a customer: operators' tenant list never shows it.
    tenant.gsi2pk = None;
    tenant.gsi2sk = None;
    let (pk, sk) = UserRecord::key(PLATFORM_TENANT, &user_id);
    let user = UserRecord {
        pk,
        sk,
        user_id: user_id.clone(),
        tenant_id: PLATFORM_TENANT.into(),
        email: email.to_string(),
        name: name.into(),
        account_id: crate::new_id("acc"),
        status: "active".into(),
        roles: vec![operator.to_string()],
        created_at: at.clone(),
    };
    let account = AccountRecord::new(
        &user.account_id,
        email.as_str(),
        name,
        hashing::hash(password).as_str(),
        &at,
    );
    let snapshot = SnapshotRecord::founding(&tenant, &user_id, [operator].into(), &at);
    let entry_id = crate::new_id("aud");
    let audit = NewAuditEntry {
        tenant_id: PLATFORM_TENANT,
        entry_id: &entry_id,
        at: &at,
        actor: "system",
        action: "platform.bootstrap",
        target: &format!("user:{user_id}"),
        before: serde_json::Value::Null,
        after: json!({ "operator": user_id }),
        request_id: "bootstrap",
        source_ip_hash: "",
        expires_at: now.as_second() + AUDIT_RETENTION_DAYS * 86_400,
    }
    .into();
    store
        .sign_up(&tenant, &user, &account, &snapshot, &audit, None)
        .await?;
    Ok(user_id)
}

/// How long a break-glass invitation lasts.
const BREAK_GLASS_DAYS: i64 = 2;

/// An invitation to join the platform's operators, pending at once: the break-glass way to a
/// second operator, for whoever holds the table's credentials (`make operator` once the
/// platform has its first). Through the API an operator's invitation waits for a second
/// operator; this is how there comes to be one. Audited as `platform.break_glass`. Answers
/// the invitation's token, which is shown nowhere else.
pub async fn invite_operator_directly(
    access: &steward_store::access::AccessStore,
    email: &Email,
) -> Result<String, steward_store::access::InviteError> {
    use steward_domain::access::InvitationToken;
    use steward_store::access::InvitationRecord;
    let now = Timestamp::now();
    let id = crate::new_id("inv");
    let token = InvitationToken::new(PLATFORM_TENANT, &id, &crate::new_secret());
    let (pk, sk) = InvitationRecord::key(PLATFORM_TENANT, &id);
    let record = InvitationRecord {
        pk,
        sk,
        invitation_id: id.clone(),
        tenant_id: PLATFORM_TENANT.into(),
        email: email.to_string(),
        roles: [RoleRef::BuiltIn(BuiltInRole::Operator)].into(),
        invited_by: "system".into(),
        created_at: now.to_string(),
        expires_at: now.as_second() + BREAK_GLASS_DAYS * 86_400,
        status: "pending".into(),
        token_hash: token.hash(),
        accepted_by: None,
    };
    let entry_id = crate::new_id("aud");
    let at = now.to_string();
    let audit = NewAuditEntry {
        tenant_id: PLATFORM_TENANT,
        entry_id: &entry_id,
        at: &at,
        actor: "system",
        action: "platform.break_glass",
        target: &format!("invitation:{id}"),
        before: serde_json::Value::Null,
        after: json!({ "email": record.email, "roles": record.roles }),
        request_id: "break-glass",
        source_ip_hash: "",
        expires_at: now.as_second() + AUDIT_RETENTION_DAYS * 86_400,
    }
    .into();
    access.create_invitation(&record, &audit, false).await?;
    Ok(token.expose())
}
