//! Declared routes: each function's routes in one table (`"METHOD /path"`, as template.yaml
//! names them, to the handler), from which its dispatch is generated and against which a test
//! holds the template ([`routes!`]).

use std::future::Future;
use std::pin::Pin;

pub use lambda_http::{Body, Response};

use crate::problem::ApiError;

/// A handler's answer, still to come, boxed: one plain function picks it, so that polling it
/// does not carry every route's future in one stack frame (over a megabyte in a debug build of
/// the rooms API, which overflowed a test thread's stack).
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;

/// The answer to a route no table of the function holds: the gateway sent it a route the
/// template does not give it.
pub fn unrouted(route: &str) -> Answer<'static> {
    let route = route.to_owned();
    Box::pin(async move { Err(ApiError::NotFound(format!("route {route}"))) })
}

/// Declares a function's routes: a `pub const` table of them, and a method of the handler
/// type that answers a request on one of them (`None` for any other route).
///
/// ```ignore
/// steward_kit::routes! {
///     /// The rooms API.
///     pub const ROUTES for Rooms, fn route(request) {
///         "POST /v1/rooms" => create,
///         "GET /v1/rooms" => list,
///     }
/// }
/// ```
///
/// Each handler is called as `self.handler(request)`, or `self.handler(request, extra)` where
/// the dispatch method declares one more argument (a door terminal's `device`).
#[macro_export]
macro_rules! routes {
    (
        $(#[$meta:meta])*
        $vis:vis const $table:ident for $api:ty, fn $dispatch:ident($request:ident) {
            $($route:literal => $handler:ident),+ $(,)?
        }
    ) => {
        $crate::routes! {
            @table $(#[$meta])* $vis $table, $api, $dispatch, $request, [], ($request),
            $($route => $handler),+
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis const $table:ident for $api:ty, fn $dispatch:ident($request:ident, $arg:ident: $ty:ty) {
            $($route:literal => $handler:ident),+ $(,)?
        }
    ) => {
        $crate::routes! {
            @table $(#[$meta])* $vis $table, $api, $dispatch, $request, [$arg: $ty,], ($request, $arg),
            $($route => $handler),+
        }
    };
    // The table and its dispatch: `$params` are the parameters after `request`, `$call` the
    // arguments each handler is called with (one token tree, so that every route repeats it).
    (
        @table $(#[$meta:meta])* $vis:vis $table:ident, $api:ty, $dispatch:ident, $request:ident,
        [$($params:tt)*], $call:tt, $($route:literal => $handler:ident),+
    ) => {
        $(#[$meta])*
        $vis const $table: &[&str] = &[$($route),+];

        impl $api {
            /// The handler of `request`'s route in the table, if it is one of them.
            fn $dispatch<'a>(
                &'a self,
                $request: &'a $crate::api::ApiRequest,
                $($params)*
            ) -> Option<$crate::routes::Answer<'a>> {
                Some(match $request.route.as_str() {
                    $($route => Box::pin(self.$handler $call),)+
                    _ => return None,
                })
            }
        }
    };
}

/// `impl Api` for a handler type answering exactly its route table's routes through the
/// dispatch [`routes!`] generated (`steward_kit::routed_api!(Rooms, route)`): any other route is
/// [`unrouted`].
#[macro_export]
macro_rules! routed_api {
    ($api:ty, $dispatch:ident) => {
        impl $crate::api::Api for $api {
            async fn handle(
                &self,
                request: &$crate::api::ApiRequest,
            ) -> Result<$crate::routes::Response<$crate::routes::Body>, $crate::ApiError> {
                let answer = self.$dispatch(request);
                answer
                    .unwrap_or_else(|| $crate::routes::unrouted(&request.route))
                    .await
            }
        }
    };
}
