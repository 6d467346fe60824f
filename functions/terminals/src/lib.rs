//! The door terminals (SPEC §D, docs/terminals.md), deployed as two functions:
//! - the terminals API: what a door terminal does, every request signed with its own secret
//!   ([`auth`]): read its room's state, check people in by PIN or badge, book walk-ups, end and
//!   extend the booking under way, beat its heart and upload what it captured offline
//!   ([`offline`]); pairing exchanges a one-time code for the secret. Beside it, the routes
//!   admins manage terminals with ([`admin`]: the registry, badges, the check-in policy);
//! - the release schedule ([`release`]): bookings nobody checked in to, released.
//!
//! Every booking change goes through the room's calendar (`steward_calendar`) like any other.

mod actions;
mod admin;
mod auth;
mod kept;
mod offline;
pub mod release;

use std::time::Duration;

use lambda_http::{Body, Response};
use steward_access::{Auditor, Guard, Instance, TenantCacheConfig};
use steward_authz::Permission;
use steward_calendar::Calendar;
use steward_kit::ApiError;
use steward_kit::api::{Api, ApiRequest, HttpFunction, Replayable};
use steward_kit::config::{ConfigError, Env};
use steward_kit::routes;
use steward_store::SdkConfig;
use steward_store::bookings::BookingStore;
use steward_store::identity::IdentityStore;
use steward_store::rooms::RoomStore;
use steward_store::terminals::TerminalStore;

pub(crate) use auth::Device;

pub struct Terminals {
    guard: Guard,
    auditor: Auditor,
    calendar: Calendar,
    bookings: BookingStore,
    rooms: RoomStore,
    identity: IdentityStore,
    terminals: TerminalStore,
    /// The key booking PINs are derived under (the rooms function shows them to members).
    pins: [u8; 32],
    /// The key each terminal's secret is derived under.
    secrets: [u8; 32],
    /// The key source addresses are hashed under to count their pairing attempts.
    throttle: [u8; 32],
    kept: kept::Kept,
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Terminals>, ConfigError> {
    let instance = Instance::new(env, aws)?;
    let caches: TenantCacheConfig = instance.parse()?;
    let kept_for = if caches.cache_enabled {
        kept::KEPT_FOR
    } else {
        Duration::ZERO
    };
    let table = instance.table();
    let terminals = Terminals {
        guard: instance.guard()?,
        auditor: instance.auditor(),
        calendar: Calendar::of(&instance)?,
        bookings: BookingStore::new(table.clone()),
        rooms: RoomStore::new(table.clone()),
        identity: IdentityStore::new(table.clone()),
        terminals: TerminalStore::new(table),
        pins: instance.derive("booking-pin"),
        secrets: instance.derive("terminal-secret"),
        throttle: instance.derive("throttle"),
        kept: kept::Kept::new(kept_for),
    };
    instance.keyed_http(terminals)
}

steward_kit::routes! {
    /// The admins' routes, signed in through the authorizer like the rest of the API.
    pub const ADMIN_ROUTES for Terminals, fn admin_route(request) {
        "POST /v1/terminals" => register_terminal,
        "GET /v1/terminals" => list_terminals,
        "DELETE /v1/terminals/{terminalId}" => revoke_terminal,
        "GET /v1/badges" => list_badges,
        "PUT /v1/badges/{badgeId}" => put_badge,
        "DELETE /v1/badges/{badgeId}" => remove_badge,
        "GET /v1/settings/check-in" => check_in_policy,
        "PUT /v1/settings/check-in" => set_check_in_policy,
    }
}

steward_kit::routes! {
    /// The terminal routes that check their own credential: a pairing code, or a signature
    /// the check-in holds in its own write (it uses its nonce there).
    pub const PAIRING_ROUTES for Terminals, fn self_checked_route(request) {
        "POST /v1/terminals/pair" => pair,
        "POST /v1/terminal/check-in" => check_in,
    }
}

steward_kit::routes! {
    /// A signed terminal's routes, answered once its signature holds.
    pub const DOOR_ROUTES for Terminals, fn door_route(request, device: Device) {
        "GET /v1/terminal/status" => status,
        "POST /v1/terminal/walk-up" => walk_up,
        "POST /v1/terminal/end" => end,
        "POST /v1/terminal/extend" => extend,
        "POST /v1/terminal/heartbeat" => heartbeat,
        "POST /v1/terminal/sync" => sync,
    }
}

impl Api for Terminals {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        if let Some(answer) = self
            .admin_route(request)
            .or_else(|| self.self_checked_route(request))
        {
            return answer.await;
        }
        let device = self.authenticate(request).await?;
        let answer = self.door_route(request, device);
        answer
            .unwrap_or_else(|| routes::unrouted(&request.route))
            .await
    }
}

/// The routes that take an `Idempotency-Key`, with the permission each one's handler checks
/// first: what a replay is allowed on. Terminals replay by nonce instead.
pub const KEYED_ROUTES: &[(&str, Permission)] =
    &[("POST /v1/terminals", Permission::TerminalsManage)];

impl Replayable for Terminals {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}

steward_kit::binaries! {
    "terminals" => init,
    "release" => release::init,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_route_tables_are_what_the_template_deploys_to_the_terminals_function() {
        let all: Vec<&str> = [
            super::ADMIN_ROUTES,
            super::PAIRING_ROUTES,
            super::DOOR_ROUTES,
        ]
        .concat();
        steward_template::Template::assert_routes("TerminalsFunction", &all);
    }
}
