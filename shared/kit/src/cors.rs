//! CORS for browser clients: answered by the functions, not API Gateway (docs/architecture.md).

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Response};
use serde::{Deserialize, Deserializer};

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "x-correlation-id",
];
const EXPOSE_HEADERS: &str =
    "etag, location, retry-after, x-request-id, x-correlation-id, idempotent-replayed";
const MAX_AGE_SECONDS: &str = "600";

/// The allowlist: exact origins (`scheme://host[:port]`), no wildcard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins(Vec<String>);

impl CorsOrigins {
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (scheme, rest) = origin
                .split_once("://")
                .ok_or(format!("CORS origin {origin:?} has no scheme"))?;
            if !matches!(scheme, "http" | "https")
                || rest.is_empty()
                || rest.contains('/')
                || rest.contains('*')
            {
                return Err(format!(
                    "CORS origin {origin:?} is not scheme://host[:port]"
                ));
            }
            origins.push(origin.to_owned());
        }
        Ok(Self(origins))
    }

    fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }
}

impl<'de> Deserialize<'de> for CorsOrigins {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CorsOrigins::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

fn allowed_origin<'h>(origins: &CorsOrigins, request: &'h HeaderMap) -> Option<&'h HeaderValue> {
    request
        .get(header::ORIGIN)
        .filter(|origin| origin.to_str().is_ok_and(|o| origins.allows(o)))
}

/// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`), or `None` when the
/// request is not one. A refused preflight gets no CORS headers, which is how browsers are told no.
pub fn preflight(
    origins: &CorsOrigins,
    method: &Method,
    request: &HeaderMap,
) -> Option<Response<Body>> {
    if method != Method::OPTIONS || !request.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        return None;
    }
    let mut response = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("valid");
    let headers_ok = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|list| {
            list.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .all(|h| ALLOW_HEADERS.contains(&h.as_str()))
        });
    let method_ok = request
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| ALLOW_METHODS.split(", ").any(|allowed| allowed == m));
    let out = response.headers_mut();
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let (Some(origin), true, true) = (allowed_origin(origins, request), headers_ok, method_ok) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        out.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_str(&ALLOW_HEADERS.join(", ")).expect("ascii"),
        );
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
    }
    Some(response)
}

/// Adds the CORS headers of an actual (non-preflight) answer.
pub fn decorate(origins: &CorsOrigins, request: &HeaderMap, response: &mut HeaderMap) {
    response.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed_origin(origins, request) {
        response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        response.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn origins_must_be_exact_and_well_formed() {
        assert!(CorsOrigins::parse("https://app.example.com, http://localhost:5173").is_ok());
        assert!(CorsOrigins::parse("*").is_err());
        assert!(CorsOrigins::parse("https://app.example.com/path").is_err());
        assert!(CorsOrigins::parse("app.example.com").is_err());
    }

    #[test]
    fn preflight_allows_listed_origins_only() {
        let origins = CorsOrigins::parse("https://app.example.com").unwrap();
        let good = headers(&[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type, idempotency-key",
            ),
        ]);
        let answer = preflight(&origins, &Method::OPTIONS, &good).unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(
            answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        let evil = headers(&[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ]);
        assert!(
            !preflight(&origins, &Method::OPTIONS, &evil)
                .unwrap()
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
        let odd_header = headers(&[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-admin"),
        ]);
        assert!(
            !preflight(&origins, &Method::OPTIONS, &odd_header)
                .unwrap()
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
        assert!(preflight(&origins, &Method::GET, &good).is_none());
    }
}
