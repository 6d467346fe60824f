//! The terminal API (SPEC §D, docs/terminals.md): what a door terminal does, every request
//! signed with its own secret ([`auth`]). A terminal reads its room's state, checks people in
//! by PIN or badge, books walk-ups, ends and extends the booking under way, beats its heart and
//! uploads what it captured offline ([`offline`]). Pairing exchanges a one-time code for the
//! secret. Every booking change goes through the room's calendar like any other.

mod actions;
mod auth;
mod offline;

use std::future::Future;
use std::pin::Pin;

use lambda_http::{Body, Response};
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
}

impl Terminals {
    fn new(rooms: Rooms, signing_secret: &Secret) -> Self {
        Self {
            rooms,
            secrets: signing_secret.derive("terminal-secret"),
        }
    }
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Terminals>, ConfigError> {
    let common: Common = env.parse()?;
    let table = Table::new(aws, &common.table);
    let terminals = Terminals::new(
        crate::rooms(env, aws, &common, &table)?,
        &common.signing_secret,
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
            "POST /v1/terminal/check-in" => Box::pin(self.check_in(request, device)),
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
        if request.route == "POST /v1/terminals/pair" {
            return self.pair(request).await;
        }
        let device = self.authenticate(request).await?;
        self.route(request, device).await
    }
}
