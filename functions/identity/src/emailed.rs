//! What the routes around an emailed link share: the answer to an ask about an address, the body
//! that presents a link's token, and the one refusal of a token that no longer works.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use steward_kit::ApiError;
use steward_kit::api;

/// The 202 every ask about an address answers (a reset link, a sign-up, a new address),
/// whoever has it.
pub(crate) fn accepted(detail: String) -> Result<Response<Body>, ApiError> {
    api::json(
        StatusCode::ACCEPTED,
        &json!({ "status": "accepted", "detail": detail }),
    )
}

/// The body that presents a link's token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkToken {
    pub token: String,
}

/// One answer for every refused `link` (`password reset`, `sign-up`…): used, expired, replaced
/// by a newer one and forged alike, so that it tells a guesser nothing.
pub(crate) fn refused(link: &str) -> ApiError {
    ApiError::InvalidToken(format!(
        "this {link} link was used, has expired, was replaced by a newer one, or is not one we \
         sent; ask for a new one"
    ))
}
