//! Steward's local stack: template.yaml run on one machine over the emulator.
//!
//! [`Stack::start`] creates the template's resources, builds every function from the
//! template's environment (the very handler code deployed to Lambda, linked in), and serves:
//! HTTP routed as API Gateway routes it, each queue polled and its batches handed to its
//! consumer as Lambda's event source mapping does, and schedules fired on time or on demand.

mod gateway;
mod queues;
mod registry;
mod resolver;
mod schedules;
mod services;
mod stack;

pub mod demo;

pub use registry::{FunctionInit, Registry};
pub use schedules::scheduled_event;
pub use services::HookReport;
pub use stack::{Stack, StackError, StackOptions};
