//! The HTTP boundary's errors and their one mapping to RFC 9457 problem+json.
//!
//! Every error a client can see is a variant here with a stable `type`
//! (`urn:steward:problem:<slug>`), a status and a title. Domain errors convert into it; nothing
//! else builds error responses. Internal causes go to the log, never to the client.

use std::error::Error as StdError;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One invalid input field: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON pointer-like path (`items[2].name`), or a parameter or header name.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `(field, message)` pairs, as the domain's validations return them.
    pub fn all(problems: impl IntoIterator<Item = (String, String)>) -> Vec<Self> {
        problems
            .into_iter()
            .map(|(field, message)| Self::new(field, message))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: Vec<String>,
    },
    #[error("{0} was not found")]
    NotFound(String),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported content type {found:?}")]
    UnsupportedMediaType {
        found: String,
        expected: &'static str,
    },
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("the cursor is invalid")]
    InvalidCursor,
    #[error("the Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    /// Another run of the key holds it; it is free to retry after `retry_after` at the latest
    /// (when that run's lease ends, if it died without giving the key up).
    #[error("a request with this Idempotency-Key is still running")]
    IdempotencyInProgress { retry_after: Duration },
    #[error("conflict: {0}")]
    Conflict(String),
    /// A slot asked for meets bookings or closures: each named in the problem's `obstacles`.
    #[error("conflict: {detail}")]
    SlotTaken {
        detail: String,
        obstacles: Vec<Obstacle>,
    },
    /// A booking would make its organiser hold more than the tenant's per-member quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// A change to a versioned resource came without `If-Match`.
    #[error("send If-Match with the ETag of the {0} you are changing")]
    PreconditionRequired(String),
    /// `If-Match` names a version that is no longer current.
    #[error("the {0} changed since you read it; read it again")]
    PreconditionFailed(String),
    #[error("authentication required")]
    Unauthorized,
    /// A terminal request whose signature does not hold (docs/terminals.md): says why, never
    /// which secret was expected.
    #[error("{0}")]
    TerminalUnauthorized(String),
    /// A check-in outside its booking's window, which the answer carries.
    #[error("check-in is open from {opens} until {closes}")]
    OutsideCheckInWindow { opens: String, closes: String },
    /// The room requires credentials its organiser does not hold verified and unexpired.
    #[error("this room requires credentials you do not hold verified and valid: {}", missing.join(", "))]
    CredentialRequired { missing: Vec<String> },
    #[error("the PIN is not right; {attempts_left} attempts left at this terminal")]
    WrongPin { attempts_left: u32 },
    #[error("too many wrong PINs at this terminal; try again later")]
    PinLocked { retry_after: Duration },
    #[error("the email or password is not right")]
    InvalidCredentials,
    #[error("{detail}")]
    Forbidden {
        detail: String,
        permission: Option<String>,
        feature: Option<String>,
    },
    /// A licence limit would be passed (SPEC §F): `limit` names it (`seats`, `rooms`,
    /// `terminals`) and `allowed` is its value.
    #[error("the licence allows {allowed} {limit}; all are in use")]
    LicenceLimit { limit: String, allowed: u32 },
    /// A single-use token (a password reset's) that was used, expired, replaced or forged:
    /// one answer for all, so that it tells a guesser nothing.
    #[error("{0}")]
    InvalidToken(String),
    /// A sign-in through the organisation's identity provider that does not hold (its state,
    /// its ID token, the address it names): what failed, never the provider's own answer.
    #[error("{0}")]
    SignInRefused(String),
    /// The identity provider answered what cannot be used.
    #[error("the identity provider's answer could not be used: {0}")]
    ProviderFailed(String),
    /// The identity provider did not answer.
    #[error("the organisation's identity provider did not answer; try again shortly")]
    ProviderUnavailable { retry_after: Duration },
    #[error("too many requests")]
    TooManyRequests { retry_after: Duration },
    #[error("temporarily unavailable")]
    Unavailable {
        retry_after: Duration,
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    pub fn internal(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A refusal naming every `(field, message)` pair (the domain's validation problems).
    pub fn invalid(problems: impl IntoIterator<Item = (String, String)>) -> Self {
        Self::Validation(FieldError::all(problems))
    }

    /// The stable slug of `type`, the status and the title: the whole mapping, in one place.
    fn kind(&self) -> (&'static str, StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::RouteNotFound { .. } => ("route-not-found", S::NOT_FOUND, "No such route"),
            Self::MethodNotAllowed { .. } => (
                "method-not-allowed",
                S::METHOD_NOT_ALLOWED,
                "Method not allowed",
            ),
            Self::NotFound(_) => ("not-found", S::NOT_FOUND, "Not found"),
            Self::MalformedJson(_) => ("malformed-json", S::BAD_REQUEST, "Malformed JSON"),
            Self::UnsupportedMediaType { .. } => (
                "unsupported-media-type",
                S::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
            ),
            Self::PayloadTooLarge { .. } => (
                "payload-too-large",
                S::PAYLOAD_TOO_LARGE,
                "Payload too large",
            ),
            Self::Validation(_) => (
                "validation-failed",
                S::UNPROCESSABLE_ENTITY,
                "Invalid input",
            ),
            Self::InvalidCursor => ("invalid-cursor", S::BAD_REQUEST, "Invalid cursor"),
            Self::InvalidToken(_) => ("invalid-token", S::BAD_REQUEST, "Invalid or spent token"),
            Self::SignInRefused(_) => ("sign-in-refused", S::UNAUTHORIZED, "Sign-in refused"),
            Self::ProviderFailed(_) => (
                "identity-provider-failed",
                S::BAD_GATEWAY,
                "Identity provider failed",
            ),
            Self::ProviderUnavailable { .. } => (
                "identity-provider-unavailable",
                S::SERVICE_UNAVAILABLE,
                "Identity provider unavailable",
            ),
            Self::IdempotencyKeyReused => (
                "idempotency-key-reused",
                S::UNPROCESSABLE_ENTITY,
                "Idempotency-Key reused with another request",
            ),
            Self::IdempotencyInProgress { .. } => (
                "idempotency-in-progress",
                S::CONFLICT,
                "Request still in progress",
            ),
            Self::Conflict(_) | Self::SlotTaken { .. } => ("conflict", S::CONFLICT, "Conflict"),
            Self::QuotaExceeded(_) => ("quota-exceeded", S::CONFLICT, "Member quota reached"),
            Self::PreconditionRequired(_) => (
                "precondition-required",
                S::PRECONDITION_REQUIRED,
                "If-Match required",
            ),
            Self::PreconditionFailed(_) => (
                "precondition-failed",
                S::PRECONDITION_FAILED,
                "Changed since read",
            ),
            Self::LicenceLimit { .. } => (
                "licence-limit-reached",
                S::PAYMENT_REQUIRED,
                "Licence limit reached",
            ),
            Self::Unauthorized => ("unauthorized", S::UNAUTHORIZED, "Authentication required"),
            Self::TerminalUnauthorized(_) => (
                "terminal-unauthorized",
                S::UNAUTHORIZED,
                "Terminal signature refused",
            ),
            Self::OutsideCheckInWindow { .. } => (
                "outside-check-in-window",
                S::CONFLICT,
                "Outside the check-in window",
            ),
            Self::WrongPin { .. } => ("wrong-pin", S::FORBIDDEN, "Wrong PIN"),
            Self::CredentialRequired { .. } => {
                ("credential-required", S::FORBIDDEN, "Credential required")
            }
            Self::PinLocked { .. } => ("pin-locked", S::TOO_MANY_REQUESTS, "PIN entry locked"),
            Self::InvalidCredentials => (
                "invalid-credentials",
                S::UNAUTHORIZED,
                "Invalid credentials",
            ),
            Self::Forbidden { .. } => ("forbidden", S::FORBIDDEN, "Forbidden"),
            Self::TooManyRequests { .. } => (
                "too-many-requests",
                S::TOO_MANY_REQUESTS,
                "Too many requests",
            ),
            Self::Unavailable { .. } => (
                "unavailable",
                S::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
            ),
            Self::Internal(_) => ("internal", S::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind().1
    }

    /// The client's view: what it can act on, never internals.
    fn detail(&self) -> Option<String> {
        match self {
            Self::Internal(_) => {
                Some("An unexpected error occurred; quote the request id when reporting it.".into())
            }
            Self::Unavailable { .. } => {
                Some("A dependency is unavailable; retry after the indicated delay.".into())
            }
            Self::Validation(fields) if fields.len() == 1 => {
                Some(format!("{}: {}", fields[0].field, fields[0].message))
            }
            Self::Validation(_) => Some("Several fields are invalid; see errors.".into()),
            Self::UnsupportedMediaType { found, expected } => {
                Some(format!("Send the body as {expected} (got {found:?})."))
            }
            Self::MethodNotAllowed { allowed, .. } => {
                Some(format!("{self}; allowed: {}.", allowed.join(", ")))
            }
            other => Some(other.to_string()),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self, request_id: &str, instance: &str) -> Problem {
        let (slug, status, title) = self.kind();
        Problem {
            kind: format!("urn:steward:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: self.detail(),
            instance: instance.to_owned(),
            request_id: request_id.to_owned(),
            errors: match self {
                Self::Validation(fields) => fields.clone(),
                _ => Vec::new(),
            },
            missing_permission: match self {
                Self::Forbidden { permission, .. } => permission.clone(),
                _ => None,
            },
            missing_feature: match self {
                Self::Forbidden { feature, .. } => feature.clone(),
                _ => None,
            },
            limit: match self {
                Self::LicenceLimit { limit, allowed } => Some(LimitReached {
                    name: limit.clone(),
                    allowed: *allowed,
                }),
                _ => None,
            },
            check_in_window: match self {
                Self::OutsideCheckInWindow { opens, closes } => Some(CheckInWindow {
                    opens: opens.clone(),
                    closes: closes.clone(),
                }),
                _ => None,
            },
            attempts_left: match self {
                Self::WrongPin { attempts_left } => Some(*attempts_left),
                _ => None,
            },
            missing_credentials: match self {
                Self::CredentialRequired { missing } => missing.clone(),
                _ => Vec::new(),
            },
            obstacles: match self {
                Self::SlotTaken { obstacles, .. } => obstacles.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// The HTTP answer: the problem document with the headers its status calls for.
    pub fn into_response(self, request_id: &str, instance: &str) -> Response<Body> {
        let problem = self.problem(request_id, instance);
        let mut response = problem.into_response();
        let headers = response.headers_mut();
        match &self {
            Self::MethodNotAllowed { allowed, .. } => {
                if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                    headers.insert(header::ALLOW, value);
                }
            }
            Self::TooManyRequests { retry_after }
            | Self::PinLocked { retry_after }
            | Self::IdempotencyInProgress { retry_after }
            | Self::ProviderUnavailable { retry_after }
            | Self::Unavailable { retry_after, .. } => {
                // Whole seconds, rounded up: a client that waits as told is not early.
                let seconds = retry_after.as_millis().div_ceil(1000).max(1);
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(u64::try_from(seconds).unwrap_or(u64::MAX)),
                );
            }
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TerminalUnauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Steward-HMAC-SHA256"),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<steward_store::StoreError> for ApiError {
    fn from(error: steward_store::StoreError) -> Self {
        if error.is_unavailable() {
            Self::Unavailable {
                retry_after: Duration::from_secs(1),
                source: Some(Box::new(error)),
            }
        } else {
            Self::Internal(Box::new(error))
        }
    }
}

/// An RFC 9457 problem document, with Steward's extension members.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub instance: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The permission a denied action needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_permission: Option<String>,
    /// The licence feature a denied action needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_feature: Option<String>,
    /// The licence limit a refused action would pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitReached>,
    /// When a refused check-in could be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in_window: Option<CheckInWindow>,
    /// Wrong PINs a terminal still takes before it locks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// The credential types a refused booking's organiser lacks, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_credentials: Vec<String>,
    /// What holds the slot a refused booking asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub obstacles: Vec<Obstacle>,
}

/// One of a 409's `obstacles`: a booking (`booking`, or `buffer` when only the room's buffers
/// meet it) with its organiser's name when known, or a closure with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Obstacle {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closure_id: Option<String>,
    pub start: String,
    pub end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The booking's organiser, by name: who to ask for the room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

/// The `check_in_window` member of a refused check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckInWindow {
    pub opens: String,
    pub closes: String,
}

/// The `limit` member of a 402 problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitReached {
    pub name: String,
    pub allowed: u32,
}

impl Problem {
    fn into_response(self) -> Response<Body> {
        let body = serde_json::to_string(&self).expect("a problem always serializes");
        Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .body(Body::Text(body))
            .expect("static parts are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn internal_errors_carry_the_request_id_and_no_internals() {
        let error = ApiError::internal("connection string postgres://secret@db");
        let response = error.into_response("req-1", "/v1/x");
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let text = serde_json::to_string(&body(&response)).unwrap();
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(body(&response)["request_id"], "req-1");
        assert_eq!(body(&response)["type"], "urn:steward:problem:internal");
    }

    #[test]
    fn validation_lists_every_field() {
        let error = ApiError::Validation(vec![
            FieldError::new("name", "required"),
            FieldError::new("size", "too big"),
        ]);
        let response = error.into_response("r", "/v1/rooms");
        assert_eq!(response.status(), 422);
        let problem = body(&response);
        assert_eq!(problem["errors"][0]["field"], "name");
        assert_eq!(problem["errors"][1]["message"], "too big");
    }

    #[test]
    fn retry_and_allow_headers_follow_the_status() {
        let busy = ApiError::Unavailable {
            retry_after: Duration::from_secs(3),
            source: None,
        }
        .into_response("r", "/");
        assert_eq!(busy.headers()[header::RETRY_AFTER], "3");
        let wrong = ApiError::MethodNotAllowed {
            method: "PUT".into(),
            path: "/v1/health".into(),
            allowed: vec!["GET".into()],
        }
        .into_response("r", "/v1/health");
        assert_eq!(wrong.status(), 405);
        assert_eq!(wrong.headers()[header::ALLOW], "GET");
    }

    #[test]
    fn every_type_is_distinct() {
        let samples = [
            ApiError::RouteNotFound {
                method: "GET".into(),
                path: "/".into(),
            },
            ApiError::MethodNotAllowed {
                method: "GET".into(),
                path: "/".into(),
                allowed: vec![],
            },
            ApiError::NotFound("x".into()),
            ApiError::MalformedJson("x".into()),
            ApiError::UnsupportedMediaType {
                found: "x".into(),
                expected: "y",
            },
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::Validation(vec![]),
            ApiError::InvalidCursor,
            ApiError::IdempotencyKeyReused,
            ApiError::IdempotencyInProgress {
                retry_after: Duration::ZERO,
            },
            ApiError::Conflict("x".into()),
            ApiError::QuotaExceeded("x".into()),
            ApiError::Unauthorized,
            ApiError::InvalidCredentials,
            ApiError::Forbidden {
                detail: "x".into(),
                permission: None,
                feature: None,
            },
            ApiError::LicenceLimit {
                limit: "seats".into(),
                allowed: 1,
            },
            ApiError::TooManyRequests {
                retry_after: Duration::ZERO,
            },
            ApiError::SignInRefused("x".into()),
            ApiError::ProviderFailed("x".into()),
            ApiError::ProviderUnavailable {
                retry_after: Duration::ZERO,
            },
            ApiError::Unavailable {
                retry_after: Duration::ZERO,
                source: None,
            },
            ApiError::internal("x"),
        ];
        let mut types: Vec<&str> = samples.iter().map(|e| e.kind().0).collect();
        types.sort();
        types.dedup();
        assert_eq!(types.len(), samples.len());
    }
}
