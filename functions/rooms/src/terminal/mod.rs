//! The terminal API (SPEC §D, docs/terminals.md): what a door terminal does, every request
//! signed with its own secret ([`auth`]). A terminal reads its room's state, checks people in
//! by PIN or badge, books walk-ups, ends and extends the booking under way, beats its heart and
//! uploads what it captured offline ([`offline`]). Pairing exchanges a one-time code for the
//! secret. Every booking change goes through the room's calendar like any other.

mod actions;
mod auth;
mod kept;
mod offline;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use lambda_http::{Body, Response};
use steward_access::TenantCacheConfig;
use steward_kit::ApiError;
use steward_kit::api::{Api, ApiRequest, HttpFunction};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::secret::Secret;
use steward_store::{SdkConfig, Table};

use crate::Rooms;
pub(crate) use auth::Device;

pub struct Terminals {
    rooms: Rooms,
    /// The key each terminal's secret is derived under.
    secrets: [u8; 32],
    /// The key source addresses are hashed under to count their pairing attempts.
    throttle: [u8; 32],
    kept: kept::Kept,
}

impl Terminals {
    fn new(rooms: Rooms, signing_secret: &Secret, kept_for: Duration) -> Self {
        Self {
            rooms,
            secrets: signing_secret.derive("terminal-secret"),
            throttle: signing_secret.derive("throttle"),
            kept: kept::Kept::new(kept_for),
        }
    }
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Terminals>, ConfigError> {
    let common: Common = env.parse()?;
    let table = Table::new(aws, &common.table);
    let caches: TenantCacheConfig = env.parse()?;
    let kept_for = if caches.cache_enabled {
        kept::KEPT_FOR
    } else {
        Duration::ZERO
    };
    let terminals = Terminals::new(
        crate::rooms(env, aws, &common, &table)?,
        &common.signing_secret,
        kept_for,
    );
    HttpFunction::new(common.function_name, terminals, common.cors_allowed_origins)
        .with_request_counts(env)?
        .with_recorded_latencies(&table, env)
}

type Answer<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;

impl Terminals {
    fn route<'a>(&'a self, request: &'a ApiRequest, device: Device) -> Answer<'a> {
        match request.route.as_str() {
            "GET /v1/terminal/status" => Box::pin(self.status(device)),
            "POST /v1/terminal/walk-up" => Box::pin(self.walk_up(request, device)),
            "POST /v1/terminal/end" => Box::pin(self.end(request, device)),
            "POST /v1/terminal/extend" => Box::pin(self.extend(request, device)),
            "POST /v1/terminal/heartbeat" => Box::pin(self.heartbeat(request, device)),
            "POST /v1/terminal/sync" => Box::pin(self.sync(request, device)),
            other => {
                let other = other.to_owned();
                Box::pin(async move { Err(ApiError::NotFound(format!("route {other}"))) })
            }
        }
    }
}

impl Api for Terminals {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        match request.route.as_str() {
            "POST /v1/terminals/pair" => return self.pair(request).await,
            // It uses its nonce in its own write.
            "POST /v1/terminal/check-in" => return self.check_in(request).await,
            _ => {}
        }
        let device = self.authenticate(request).await?;
        self.route(request, device).await
    }
}
