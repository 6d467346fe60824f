//! Audit entries (SPEC §B): actor, action, target, before and after, request id, time, and the
//! source address keyed-hashed.

use jiff::Timestamp;
use serde_json::Value;
use steward_kit::api::ApiRequest;
use steward_kit::secret::{Secret, keyed_hash};
use steward_store::audit::{AuditEntry, NewAuditEntry};

/// How long audit entries are kept (SPEC §B): their TTL.
pub const AUDIT_RETENTION_DAYS: i64 = 400;

/// What one mutation did.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub tenant_id: &'a str,
    /// A user id, or `system` for what Steward does on its own.
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Value,
    pub after: Value,
}

/// Builds audit entries; one per function, from the signing secret.
#[derive(Clone)]
pub struct Auditor {
    source_ip_key: [u8; 32],
}

impl Auditor {
    pub fn new(secret: &Secret) -> Self {
        Self {
            source_ip_key: secret.derive("source-ip"),
        }
    }

    /// The entry for `record`, made by `request`, now.
    pub fn entry(&self, request: &ApiRequest, record: Record<'_>) -> AuditEntry {
        let source = self.source_ip_hash(request.source_ip.as_deref().unwrap_or(""));
        Self::build(record, &request.request_id, &source)
    }

    /// The entry for what Steward did on its own (a sweep's fix, a status transition), with
    /// `cause` (a run or message id) where a request id would be, and no source address.
    pub fn system_entry(&self, cause: &str, record: Record<'_>) -> AuditEntry {
        Self::build(record, cause, "")
    }

    fn build(record: Record<'_>, request_id: &str, source_ip_hash: &str) -> AuditEntry {
        let now = Timestamp::now();
        let entry_id = crate::new_id("aud");
        NewAuditEntry {
            tenant_id: record.tenant_id,
            entry_id: &entry_id,
            at: &now.to_string(),
            actor: record.actor,
            action: record.action,
            target: record.target,
            before: record.before,
            after: record.after,
            request_id,
            source_ip_hash,
            expires_at: now.as_second() + AUDIT_RETENTION_DAYS * 86_400,
        }
        .into()
    }

    pub fn source_ip_hash(&self, ip: &str) -> String {
        keyed_hash(&self.source_ip_key, ip)
    }
}
