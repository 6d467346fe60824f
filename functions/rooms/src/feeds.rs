//! Calendar feeds (SPEC §C): a member subscribes a calendar client to their own bookings or to a
//! room's, through a URL holding a secret token (`<tenant>.<feed>.<secret>`, shown once, stored
//! as its hash). The feed acts for the member who made it: fetching it is checked as that
//! member doing `feeds:manage`, so removing the member, taking the permission away or losing
//! the licence's `ical_feeds` closes every feed they made, and revoking one closes it at once.

use http::{HeaderValue, StatusCode, header};
use jiff::{SignedDuration, Timestamp};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Caller, Record, new_id, new_secret};
use steward_authz::Permission;
use steward_domain::booking::rules::Slot;
use steward_domain::digest::TenantToken;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest, Principal};
use steward_store::bookings::Listing;
use steward_store::feeds::FeedRecord;
use subtle::ConstantTimeEq;

use crate::Rooms;
use steward_ical::{FeedEvent, calendar};

/// What a feed shows: bookings starting from this long ago ...
const FEED_PAST: SignedDuration = SignedDuration::from_hours(30 * 24);
/// ... to this far ahead (the longest booking horizon).
const FEED_AHEAD: SignedDuration = SignedDuration::from_hours(366 * 24);
/// The most events one feed holds; the nearest to now are kept.
const FEED_EVENTS: usize = 1000;
/// The most feeds one member holds.
const FEEDS_PER_MEMBER: usize = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedInput {
    /// The room to follow; none: the caller's own bookings.
    room_id: Option<String>,
}

fn view(feed: &FeedRecord) -> Value {
    json!({
        "id": feed.feed_id,
        "kind": if feed.room_id.is_some() { "room" } else { "member" },
        "room_id": feed.room_id,
        "created_at": feed.created_at,
    })
}

fn path_of(token: &TenantToken) -> String {
    format!("/v1/ical/{}", token.expose())
}

impl Rooms {
    /// `POST /v1/feeds`: a new feed of the caller's bookings, or of a room's; the answer holds
    /// the token and its URL, which are never shown again.
    pub(crate) async fn create_feed(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::FeedsManage).await?;
        let input: FeedInput = request.json_or_default()?;
        let tenant_id = caller.tenant_id();
        if let Some(room_id) = &input.room_id {
            self.guard.also(&caller, Permission::RoomsRead)?;
            if self.store.get(tenant_id, room_id).await?.is_none() {
                return Err(ApiError::NotFound(format!("room {room_id}")));
            }
        }
        if self
            .feeds
            .owned_by(tenant_id, caller.user_id(), FEEDS_PER_MEMBER)
            .await?
            .len()
            >= FEEDS_PER_MEMBER
        {
            return Err(ApiError::Conflict(format!(
                "a member holds at most {FEEDS_PER_MEMBER} feeds: revoke one first"
            )));
        }
        let feed_id = new_id("feed");
        let token = TenantToken::new(tenant_id, &feed_id, &new_secret());
        let (pk, sk) = FeedRecord::key(tenant_id, &feed_id);
        let record = FeedRecord {
            pk,
            sk,
            feed_id: feed_id.clone(),
            tenant_id: tenant_id.to_owned(),
            owner: caller.user_id().to_owned(),
            room_id: input.room_id,
            token_hash: token.hash(),
            created_at: Timestamp::now().to_string(),
        };
        let audit = self.feed_audit(
            request,
            &caller,
            "feed.create",
            json!(null),
            view(&record),
            &feed_id,
        );
        self.feeds.create(&record, &audit).await?;
        let path = path_of(&token);
        let mut body = view(&record);
        body["token"] = json!(token.expose());
        body["url"] = json!(self.public_url.as_ref().map(|base| format!("{base}{path}")));
        body["path"] = json!(path);
        let mut response = api::json(StatusCode::CREATED, &body)?;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }

    /// `GET /v1/feeds`: the caller's feeds (their tokens are not kept, so not shown).
    pub(crate) async fn feeds(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::FeedsManage).await?;
        let feeds = self
            .feeds
            .owned_by(caller.tenant_id(), caller.user_id(), FEEDS_PER_MEMBER)
            .await?;
        let items: Vec<Value> = feeds.iter().map(view).collect();
        api::json(StatusCode::OK, &json!({ "items": items }))
    }

    /// `DELETE /v1/feeds/{feedId}`: revokes one of the caller's feeds; its URL answers 404 from
    /// then on.
    pub(crate) async fn revoke_feed(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::FeedsManage).await?;
        let feed_id = request.path_param("feedId")?;
        let not_found = || ApiError::NotFound(format!("feed {feed_id}"));
        let feed = self
            .feeds
            .get(caller.tenant_id(), feed_id)
            .await?
            .filter(|feed| feed.owner == caller.user_id())
            .ok_or_else(not_found)?;
        let audit = self.feed_audit(
            request,
            &caller,
            "feed.revoke",
            view(&feed),
            json!(null),
            feed_id,
        );
        if !self.feeds.revoke(&feed, &audit).await? {
            return Err(not_found());
        }
        api::no_content()
    }

    /// `GET /v1/ical/{token}` (no sign-in: the token is the credential): the feed as
    /// `text/calendar`. Every refusal is the same 404, so a token cannot be probed.
    pub(crate) async fn ical(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let not_found = || ApiError::NotFound("feed".into());
        let text = request.path_param("token")?;
        let token = TenantToken::parse(text.trim_end_matches(".ics")).ok_or_else(not_found)?;
        let feed = self
            .feeds
            .get(token.tenant_id(), token.id())
            .await?
            .filter(|feed| bool::from(feed.token_hash.as_bytes().ct_eq(token.hash().as_bytes())))
            .ok_or_else(not_found)?;
        let owner = Principal {
            user_id: feed.owner.clone(),
            tenant_id: feed.tenant_id.clone(),
            session_id: format!("feed:{}", feed.feed_id),
            second_factor: false,
        };
        let caller = self
            .guard
            .allow_principal(&owner, Permission::FeedsManage)
            .await
            .map_err(|error| match error {
                // A licence without feeds is worth saying: the tenant can change it.
                ApiError::Forbidden {
                    feature: Some(_), ..
                } => error,
                _ => not_found(),
            })?;
        let now = Timestamp::now();
        let window = Slot {
            start: now - FEED_PAST,
            end: now + FEED_AHEAD,
        };
        let tenant_id = caller.tenant_id();
        let listing = match &feed.room_id {
            Some(room_id) => Listing::Room(room_id),
            None => Listing::Organiser(&feed.owner),
        };
        let (bookings, _more) = self
            .bookings
            .all(tenant_id, listing, window, FEED_EVENTS)
            .await?;
        let rooms = match &feed.room_id {
            // The room itself, for its name even while it has no bookings.
            Some(room_id) => vec![
                self.store
                    .get(tenant_id, room_id)
                    .await?
                    .ok_or_else(not_found)?,
            ],
            None => self.store.of_bookings(tenant_id, &bookings).await?,
        };
        let name = match (&feed.room_id, rooms.first()) {
            (Some(_), Some(room)) => format!("{} (Steward)", room.room.name),
            _ => format!("{}'s bookings (Steward)", caller.user.name),
        };
        let events: Vec<FeedEvent<'_>> = bookings
            .iter()
            .filter_map(|booking| {
                let room = rooms.iter().find(|room| room.room_id == booking.room_id)?;
                Some(FeedEvent {
                    booking,
                    room: &room.room,
                })
            })
            .collect();
        let mut response = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/calendar; charset=utf-8")
            .header(header::CACHE_CONTROL, "private, max-age=300")
            .body(Body::from(calendar(&name, &events)))
            .map_err(ApiError::internal)?;
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline; filename=\"steward.ics\""),
        );
        Ok(response)
    }

    fn feed_audit(
        &self,
        request: &ApiRequest,
        caller: &Caller,
        action: &str,
        before: Value,
        after: Value,
        feed_id: &str,
    ) -> steward_store::audit::AuditEntry {
        self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action,
                target: &format!("feed:{feed_id}"),
                before,
                after,
            },
        )
    }
}
