//! The Lambda kit every Steward function is built from.
//!
//! A function's `main` reads its [`config::Env`], loads the SDK configuration once, builds its
//! handler and hands it to [`runtime::run`]; the local gateway instead erases the same handler
//! with [`runtime::erase`] and invokes it in-process with the very JSON events AWS would send.

pub mod api;
pub mod body;
pub mod config;
pub mod cors;
pub mod idempotency;
pub mod latency;
pub mod mask;
pub mod metrics;
pub mod pagination;
pub mod problem;
pub mod recent;
pub mod retry;
pub mod routes;
pub mod runtime;
pub mod secret;
pub mod sqs;
pub mod telemetry;
pub mod traces;
pub mod viewer;

pub use problem::{ApiError, FieldError, Obstacle};
