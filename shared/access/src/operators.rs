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
pub const PLATFORM_TENANT: &str = "platform";

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
    let tenant = TenantRecord::new(PLATFORM_TENANT, "Steward platform", &at);
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
