//! The refresh token in a cookie, for the web app: a request that carries `Steward-Refresh:
//! cookie` is answered its refresh token in an HttpOnly, Secure, SameSite=Strict cookie scoped to
//! `/v1/auth/` instead of in the body, so that no script of the page can read it, and it sends
//! that header again to refresh from the cookie or to sign out. Why a cookie and not storage:
//! docs/architecture.md, "The web app's tokens".

use cookie::{Cookie, SameSite};
use http::{HeaderValue, header};
use lambda_http::{Body, Response};
use serde_json::Value;
use steward_kit::ApiError;
use steward_kit::api::ApiRequest;

/// The header by which a client asks for the cookie (and, refreshing, presents it): a cross-site
/// form cannot send it, so the cookie alone never refreshes.
pub(crate) const ASK_HEADER: &str = "steward-refresh";
const ASKED: &str = "cookie";
const NAME: &str = "steward_refresh";
const PATH: &str = "/v1/auth/";

/// Whether the request asks for the cookie.
pub(crate) fn asked(request: &ApiRequest) -> bool {
    request
        .headers
        .get(ASK_HEADER)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(ASKED.as_bytes()))
}

/// The refresh token of the request's cookie, when it asks for the cookie and has one.
pub(crate) fn presented(request: &ApiRequest) -> Option<String> {
    if !asked(request) {
        return None;
    }
    request
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == NAME)
        .map(|cookie| cookie.value().to_owned())
}

/// The answer as the request asked for it: a refresh token in the body (at its top or under
/// `tokens`) moved into the cookie; the cookie cleared by a sign-out. (A refused refresh leaves
/// it: it opens nothing any more, and the app signs in again.)
pub(crate) fn deliver(
    request: &ApiRequest,
    lifetime_seconds: i64,
    answer: Result<Response<Body>, ApiError>,
) -> Result<Response<Body>, ApiError> {
    if !asked(request) {
        return answer;
    }
    let ends_session = matches!(
        request.route.as_str(),
        "POST /v1/auth/logout" | "POST /v1/auth/logout-all"
    );
    match answer {
        Ok(response) if ends_session && response.status().is_success() => {
            Ok(with_cookie(response, cleared()))
        }
        Ok(response) => Ok(moved_into_cookie(response, lifetime_seconds)),
        Err(error) => Err(error),
    }
}

fn moved_into_cookie(response: Response<Body>, lifetime_seconds: i64) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let mut json: Value = match serde_json::from_slice(body.as_ref()) {
        Ok(json) => json,
        Err(_) => return Response::from_parts(parts, body),
    };
    let token = json
        .as_object_mut()
        .and_then(|top| top.remove("refresh_token"))
        .or_else(|| {
            json.get_mut("tokens")
                .and_then(Value::as_object_mut)
                .and_then(|tokens| tokens.remove("refresh_token"))
        });
    let Some(Value::String(token)) = token else {
        return Response::from_parts(parts, body);
    };
    let cookie = Cookie::build((NAME, token))
        .path(PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(lifetime_seconds))
        .build();
    let mut response = Response::from_parts(parts, Body::from(json.to_string()));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    with_cookie(response, set_cookie(&cookie))
}

fn cleared() -> HeaderValue {
    let mut cookie = Cookie::build((NAME, ""))
        .path(PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .build();
    cookie.make_removal();
    set_cookie(&cookie)
}

fn set_cookie(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).expect("a cookie is a header value")
}

fn with_cookie(mut response: Response<Body>, cookie: HeaderValue) -> Response<Body> {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}
