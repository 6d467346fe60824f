//! The deploy check's principal: the one member of the reserved `deploy-check` tenant, which
//! holds nothing, with the built-in member and auditor roles (reads, and nothing to write to). The pre-traffic hook opens a session for it for a few minutes and makes
//! signed-in reads of a new release through it before the release takes any traffic.
//!
//! It has no email, so nobody signs in as it with a password; its tenant is in no tenant
//! index, so sweeps, reports and tenant lists never meet it; its licence never ends, so a
//! release is checked the same whether licensing enforcement is on or off.

use std::collections::BTreeSet;

use jiff::Timestamp;
use steward_authz::{BuiltInRole, LicenceStatus};
use steward_domain::access::RoleRef;
use steward_domain::licensing::Offering;
use steward_store::StoreError;
use steward_store::access::SnapshotRecord;
use steward_store::identity::{
    IdentityStore, LicenceRecord, SessionRecord, TenantRecord, UserRecord,
};

/// The reserved tenant.
pub const DEPLOY_CHECK_TENANT: &str = "deploy-check";
/// Its one user.
pub const DEPLOY_CHECK_USER: &str = "usr_deploy_check";
/// How long a check's session lives if the check ends before closing it.
const SESSION_SECONDS: i64 = 5 * 60;

/// Writes the tenant, its user (a member) and its policy, unless they are there.
pub async fn ensure_principal(store: &IdentityStore) -> Result<(), StoreError> {
    let at = Timestamp::now().to_string();
    let terms = Offering::Enterprise.terms();
    let mut tenant = TenantRecord::new(DEPLOY_CHECK_TENANT, "Steward deploy check", &at);
    tenant.gsi1pk = None;
    tenant.gsi2pk = None;
    tenant.gsi2sk = None;
    tenant.gsi1sk = None;
    tenant.licence = LicenceRecord {
        status: LicenceStatus::Active,
        offering: Some(terms.offering),
        features: terms.features,
        limits: terms.limits,
        seats_used: 1,
        ..LicenceRecord::default()
    };
    let roles = BTreeSet::from([
        RoleRef::BuiltIn(BuiltInRole::Member),
        RoleRef::BuiltIn(BuiltInRole::Auditor),
    ]);
    let (pk, sk) = UserRecord::key(DEPLOY_CHECK_TENANT, DEPLOY_CHECK_USER);
    let user = UserRecord {
        pk,
        sk,
        user_id: DEPLOY_CHECK_USER.into(),
        tenant_id: DEPLOY_CHECK_TENANT.into(),
        email: String::new(),
        name: "Deploy check".into(),
        account_id: String::new(),
        status: "active".into(),
        roles: roles.iter().map(ToString::to_string).collect(),
        created_at: at.clone(),
    };
    let snapshot = SnapshotRecord::founding(&tenant, DEPLOY_CHECK_USER, roles, &at);
    store.reserve_principal(&tenant, &user, &snapshot).await
}

/// A session for the principal, alive for a few minutes: its id.
pub async fn open_session(store: &IdentityStore, now: Timestamp) -> Result<String, StoreError> {
    let session_id = crate::new_id("ses");
    let (pk, sk) = SessionRecord::key(DEPLOY_CHECK_TENANT, DEPLOY_CHECK_USER, &session_id);
    let at = now.to_string();
    let session = SessionRecord {
        pk,
        sk,
        session_id: session_id.clone(),
        tenant_id: DEPLOY_CHECK_TENANT.into(),
        user_id: DEPLOY_CHECK_USER.into(),
        created_at: at.clone(),
        refreshed_at: at,
        status: "active".into(),
        // No refresh token is ever handed out for it.
        refresh_hash: String::new(),
        rotated: Vec::new(),
        user_agent: "deploy-check".into(),
        expires_at: now.as_second() + SESSION_SECONDS,
        second_factor: false,
    };
    // Its principal has no account: nobody signs in as it.
    store.create_session(&session, None, None, None).await?;
    Ok(session_id)
}

/// Ends the session `open_session` opened.
pub async fn close_session(store: &IdentityStore, session_id: &str) -> Result<(), StoreError> {
    store
        .revoke_sessions(
            DEPLOY_CHECK_TENANT,
            DEPLOY_CHECK_USER,
            &[session_id.to_owned()],
            None,
        )
        .await
}
