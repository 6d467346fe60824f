//! The audit log: one entry per mutation, written in the same transaction as the mutation it
//! records, so there is exactly one entry for every change that happened and none for one that
//! did not.
//!
//! Item: `pk = T#<tenant>#AUDIT`, `sk = <RFC 3339 time>#<id>` (time order); `gsi1` by actor and
//! `gsi2` by target, both time-ordered; `expires_at` retention (400 days by default).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened, by whom, to what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    pub gsi2pk: String,
    pub gsi2sk: String,
    pub entry_id: String,
    pub tenant_id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// A short summary of the state before and after, without secrets.
    pub before: Value,
    pub after: Value,
    pub request_id: String,
    /// The source address, keyed-hashed: it can be matched, not read back.
    pub source_ip_hash: String,
    pub expires_at: i64,
}

/// The facts of an entry; the keys are derived.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub tenant_id: &'a str,
    pub entry_id: &'a str,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Value,
    pub after: Value,
    pub request_id: &'a str,
    pub source_ip_hash: &'a str,
    pub expires_at: i64,
}

pub fn partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#AUDIT")
}

pub fn actor_partition(tenant_id: &str, actor: &str) -> String {
    format!("T#{tenant_id}#AUDIT#ACTOR#{actor}")
}

pub fn target_partition(tenant_id: &str, target: &str) -> String {
    format!("T#{tenant_id}#AUDIT#TARGET#{target}")
}

impl From<NewAuditEntry<'_>> for AuditEntry {
    fn from(new: NewAuditEntry<'_>) -> Self {
        let order = format!("{}#{}", new.at, new.entry_id);
        Self {
            pk: partition(new.tenant_id),
            sk: order.clone(),
            gsi1pk: actor_partition(new.tenant_id, new.actor),
            gsi1sk: order.clone(),
            gsi2pk: target_partition(new.tenant_id, new.target),
            gsi2sk: order,
            entry_id: new.entry_id.to_owned(),
            tenant_id: new.tenant_id.to_owned(),
            at: new.at.to_owned(),
            actor: new.actor.to_owned(),
            action: new.action.to_owned(),
            target: new.target.to_owned(),
            before: new.before,
            after: new.after,
            request_id: new.request_id.to_owned(),
            source_ip_hash: new.source_ip_hash.to_owned(),
            expires_at: new.expires_at,
        }
    }
}
