//! The events API Gateway would send a function version: built with the event types the
//! functions themselves read, so a check's request is one the functions take from the gateway.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpResponse,
};
use serde_json::Value;

/// A request for `route` (`GET /v1/me`), with the authorizer's context when signed in.
pub(crate) fn request(route: &'static str, signed_in: Option<&HashMap<String, Value>>) -> Value {
    let mut context = context(route);
    if let Some(fields) = signed_in {
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.fields = fields.clone();
        context.authorizer = Some(authorizer);
    }
    let mut request = ApiGatewayV2httpRequest::default();
    request.version = Some("2.0".into());
    request.route_key = Some(route.into());
    request.raw_path = context.http.path.clone();
    request.request_context = context;
    serde_json::to_value(request).expect("an event serializes")
}

/// The authorizer's event for a request to `route` carrying `authorization`.
pub(crate) fn authorization(route: &'static str, authorization: String) -> Value {
    let mut request = ApiGatewayV2CustomAuthorizerV2Request::default();
    request.version = Some("2.0".into());
    request.type_ = Some("REQUEST".into());
    request.route_key = Some(route.into());
    request.identity_source = Some(vec![authorization]);
    request.request_context = context(route);
    request.raw_path = request.request_context.http.path.clone();
    serde_json::to_value(request).expect("an event serializes")
}

/// The status of an HTTP answer, or `None` for an answer that is not one.
pub(crate) fn status(answer: Value) -> Option<u16> {
    serde_json::from_value::<ApiGatewayV2httpResponse>(answer)
        .ok()
        .and_then(|response| u16::try_from(response.status_code).ok())
}

fn context(route: &'static str) -> ApiGatewayV2httpRequestContext {
    let (method, path) = route
        .split_once(' ')
        .expect("a route key is `METHOD /path`");
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route.into());
    context.stage = Some("$default".into());
    context.request_id = Some(steward_access::new_id("deploy-check"));
    context.http.method = method.parse().expect("a route key's method");
    context.http.path = Some(path.into());
    context
}
