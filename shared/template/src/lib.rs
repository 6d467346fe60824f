//! What `template.yaml` says, read the way AWS SAM and API Gateway read it.
//!
//! The local gateway runs the stack from this reading (routes, authorizers, queue triggers,
//! schedules, resources), and the fallback route is built from the same route list, so the
//! template stays the one description of what is deployed.

mod route;
pub use route::{Method, RouteError, RouteKey, RoutePattern, RouteTable, Selected};

#[cfg(feature = "parse")]
mod intrinsic;
#[cfg(feature = "parse")]
mod model;
#[cfg(feature = "parse")]
pub use intrinsic::{Resolver, resolve, resolve_list};
#[cfg(feature = "parse")]
pub use model::{
    ApiAuth, Authorizer, Function, FunctionEvent, HttpAuth, Parameter, QueueTrigger, Resource,
    Schedule, Template, TemplateError,
};
#[cfg(feature = "parse")]
pub use serde_yaml_ng::Value;
