//! The audit log (SPEC §B): by time range, and by actor or target, newest first, paginated.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use steward_authz::Permission;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::audit::{self, AuditEntry};
use steward_store::{Index, Query};

use crate::Access;

fn instant(field: &str, text: Option<&String>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| {
        t.parse::<Timestamp>()
            .map_err(|_| ApiError::validation(field, "must be an RFC 3339 instant"))
    })
    .transpose()
}

/// `2026-03-01T09:30:15`: a prefix of the key of every entry in that second, and of no other.
fn whole_second(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn within(entry: &AuditEntry, from: Option<Timestamp>, to: Option<Timestamp>) -> bool {
    // Every entry's time was written by `Timestamp::to_string`: one that does not parse is kept.
    let Ok(at) = entry.at.parse::<Timestamp>() else {
        return true;
    };
    from.is_none_or(|from| from <= at) && to.is_none_or(|to| at <= to)
}

fn view(entry: &AuditEntry) -> Value {
    json!({
        "id": entry.entry_id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "request_id": entry.request_id,
        "source_ip_hash": entry.source_ip_hash,
    })
}

impl Access {
    pub(crate) async fn audit_log(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::AuditRead).await?;
        let tenant_id = caller.tenant_id();
        let query = &request.query;
        let from = instant("from", query.get("from"))?;
        let to = instant("to", query.get("to"))?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(ApiError::validation("from", "must not be after to"));
        }
        let (partition, index) = match (query.get("actor"), query.get("target")) {
            (Some(_), Some(_)) => {
                return Err(ApiError::validation(
                    "target",
                    "filter by actor or by target, not both",
                ));
            }
            (Some(actor), None) => (audit::actor_partition(tenant_id, actor), Index::Gsi1),
            (None, Some(target)) => (audit::target_partition(tenant_id, target), Index::Gsi2),
            (None, None) => (audit::partition(tenant_id), Index::Primary),
        };
        // Sort keys are `<RFC 3339 instant>#<id>` with as many fraction digits as the instant
        // needs, so text order is time order only to the second: the key range covers the
        // bounds' whole seconds ("0" sorts before every instant, "~" after every id; DynamoDB
        // refuses an empty key value), and the entries of those edge seconds are compared as
        // instants below.
        let first = from.map_or_else(|| "0".to_owned(), whole_second);
        let last = to.map_or_else(|| "~".to_owned(), |t| format!("{}~", whole_second(t)));
        // The cursor is bound to the filters too: it cannot move a query to other ones.
        let scope = format!("{}#audit#{partition}#{first}#{last}", request.scope);
        let page = self.cursors.page_request(&scope, query)?;
        let (entries, next) = self
            .store
            .query::<AuditEntry>(
                Query::partition(&partition)
                    .on(index)
                    .between(&first, &last)
                    .descending(),
                page.limit,
                page.start,
            )
            .await?;
        let items: Vec<Value> = entries
            .iter()
            .filter(|entry| within(entry, from, to))
            .map(view)
            .collect();
        api::json(StatusCode::OK, &self.cursors.page(&scope, items, next))
    }
}
