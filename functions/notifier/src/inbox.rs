//! A member's notifications: `GET /v1/me/notifications` (newest first, each marked read or
//! not) and `POST /v1/me/notifications/read` (everything up to a time is read). A member sees
//! and marks only their own: the key is built from the caller, never from the request.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Auditor, Guard, Record};
use steward_authz::Permission;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, Replayable};
use steward_kit::pagination::Cursors;
use steward_store::notices::{NoticeStore, NotificationRecord};

pub struct Inbox {
    pub(crate) guard: Guard,
    pub(crate) notices: NoticeStore,
    pub(crate) auditor: Auditor,
    pub(crate) cursors: Cursors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadInput {
    /// Everything at or before this is read; absent: everything so far.
    #[serde(default)]
    up_to: Option<String>,
}

fn view(record: &NotificationRecord, read_up_to: Option<&str>) -> Value {
    json!({
        "id": record.notice_id,
        "kind": record.kind,
        "at": record.at,
        "subject": record.subject,
        "summary": record.summary,
        "room_id": record.room_id,
        "booking_ids": record.booking_ids,
        "read": read_up_to.is_some_and(|up_to| record.at.as_str() <= up_to),
        "emailed": record.mailed_at.is_some(),
    })
}

impl Inbox {
    async fn list(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MeRead).await?;
        let scope = format!("{}#notifications", request.scope);
        let page = self.cursors.page_request(&scope, &request.query)?;
        let (records, next, read_up_to) = self
            .notices
            .page(caller.tenant_id(), caller.user_id(), page.limit, page.start)
            .await?;
        let items: Vec<Value> = records
            .iter()
            .map(|record| view(record, read_up_to.as_deref()))
            .collect();
        let mut body = json!(self.cursors.page(&scope, items, next));
        body["read_up_to"] = json!(read_up_to);
        api::json(StatusCode::OK, &body)
    }

    async fn mark_read(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::MeUpdate).await?;
        let input: ReadInput = request.json_or_default()?;
        let now = Timestamp::now();
        let up_to = match input.up_to.as_deref() {
            None => now,
            Some(text) => text
                .parse::<Timestamp>()
                .map_err(|_| ApiError::validation("up_to", "an RFC 3339 time with an offset"))?
                .min(now),
        };
        let up_to = up_to.to_string();
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "notifications.read",
                target: &format!("member:{}", caller.user_id()),
                before: json!(null),
                after: json!({ "read_up_to": up_to }),
            },
        );
        self.notices
            .read_up_to(caller.tenant_id(), caller.user_id(), &up_to, &audit)
            .await?;
        api::json(StatusCode::OK, &json!({ "read_up_to": up_to }))
    }
}

steward_kit::routes! {
    /// A member's notifications.
    pub const ROUTES for Inbox, fn route(request) {
        "GET /v1/me/notifications" => list,
        "POST /v1/me/notifications/read" => mark_read,
    }
}

steward_kit::routed_api!(Inbox, route);

/// The routes that take an `Idempotency-Key`, with the permission each one's handler checks
/// first: what a replay is allowed on.
pub const KEYED_ROUTES: &[(&str, Permission)] =
    &[("POST /v1/me/notifications/read", Permission::MeUpdate)];

impl Replayable for Inbox {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}

#[cfg(test)]
mod route_table {
    #[test]
    fn the_route_table_is_what_the_template_deploys_to_the_function() {
        steward_template::Template::assert_routes("NotificationsFunction", super::ROUTES);
    }
}
