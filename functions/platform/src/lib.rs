//! The platform function: `GET /v1/health`, and the API's `$default` route, which answers a
//! request no route matched with a 404 problem, or a 405 problem naming the allowed methods.

use std::time::{Duration, Instant};

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use steward_kit::ApiError;
use steward_kit::api::{self, Api, ApiRequest, HttpFunction};
use steward_kit::config::{ConfigError, Env};
use steward_store::{SdkConfig, Table};
use steward_template::{Method, RouteKey, RouteTable};

mod routes {
    include!(concat!(env!("OUT_DIR"), "/routes.rs"));
}

/// The routes of the whole API, from template.yaml at build time.
pub fn route_table() -> RouteTable {
    RouteTable::new(
        routes::ROUTE_KEYS
            .iter()
            .map(|key| RouteKey::parse(key).expect("build.rs wrote valid keys")),
    )
}

pub use routes::ROUTE_KEYS;

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the binary was built from (`make build` sets it), or `dev`.
const BUILD: &str = match option_env!("STEWARD_BUILD_ID") {
    Some(build) => build,
    None => "dev",
};
/// A dependency slower than this counts as down: health must answer quickly to be useful.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Platform {
    table: Table,
    routes: RouteTable,
}

#[derive(Debug, Serialize)]
struct Check {
    status: &'static str,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    build: &'static str,
    checks: Checks,
}

#[derive(Debug, Serialize)]
struct Checks {
    dynamodb: Check,
}

impl Platform {
    async fn health(&self, _request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let started = Instant::now();
        let outcome = tokio::time::timeout(CHECK_TIMEOUT, self.table.ping()).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let dynamodb = match outcome {
            Ok(Ok(())) => Check {
                status: "ok",
                latency_ms,
                error: None,
            },
            Ok(Err(error)) => {
                tracing::warn!(error = %api::Chain(&error), "health: DynamoDB check failed");
                Check {
                    status: "down",
                    latency_ms,
                    error: Some("request failed"),
                }
            }
            Err(_) => Check {
                status: "down",
                latency_ms,
                error: Some("timed out"),
            },
        };
        let healthy = dynamodb.status == "ok";
        let health = Health {
            status: if healthy { "ok" } else { "down" },
            version: VERSION,
            build: BUILD,
            checks: Checks { dynamodb },
        };
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        api::json(status, &health)
    }

    /// What no route took: 404 for a path the API does not have; for one it has, the methods it
    /// allows, as `Allow` of a 405 problem, or of a 204 answer to a plain `OPTIONS` (RFC 9110
    /// §9.3.7; a CORS preflight never gets here, `HttpFunction` answers it).
    fn fallback(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let allowed = self.routes.methods_at(&request.path);
        if allowed.is_empty() {
            return Err(ApiError::RouteNotFound {
                method: request.method.to_string(),
                path: request.path.clone(),
            });
        }
        let mut allowed: Vec<String> = allowed.iter().map(Method::to_string).collect();
        allowed.push("OPTIONS".to_owned());
        if request.method == http::Method::OPTIONS {
            let mut answer = api::no_content()?;
            let allow = http::HeaderValue::from_str(&allowed.join(", "))
                .expect("method names are header-safe");
            answer.headers_mut().insert(http::header::ALLOW, allow);
            return Ok(answer);
        }
        Err(ApiError::MethodNotAllowed {
            method: request.method.to_string(),
            path: request.path.clone(),
            allowed,
        })
    }
}

steward_kit::routes! {
    /// Health; every other request is the `$default` route's ([`Platform::fallback`]).
    pub const ROUTES for Platform, fn route(request) {
        "GET /v1/health" => health,
    }
}

impl Api for Platform {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        match self.route(request) {
            Some(answer) => answer.await,
            None => self.fallback(request),
        }
    }
}

/// Builds the function from its environment and the shared SDK configuration.
pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Platform>, ConfigError> {
    let common: steward_kit::config::Common = env.parse()?;
    let platform = Platform {
        table: Table::new(aws, &common.table),
        routes: route_table(),
    };
    Ok(HttpFunction::new(
        common.function_name,
        platform,
        common.cors_allowed_origins,
    ))
}

steward_kit::binaries! {
    "platform" => init,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table_and_the_default_route_are_what_the_template_deploys_to_the_function() {
        let all: Vec<&str> = [ROUTES, &["$default"]].concat();
        steward_template::Template::assert_routes("PlatformFunction", &all);
    }

    #[test]
    fn the_compiled_route_table_is_the_templates() {
        assert!(ROUTE_KEYS.contains(&"GET /v1/health"));
        assert!(ROUTE_KEYS.contains(&"$default"));
        assert_eq!(route_table().methods_at("/v1/health"), vec![Method::Get]);
    }
}
