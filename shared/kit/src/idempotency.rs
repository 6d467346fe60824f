//! The `Idempotency-Key` protocol for mutating POSTs.
//!
//! The first request with a key runs; a retry with the same key and body gets the stored answer
//! (marked `Idempotent-Replayed: true`); the same key with another body is 422; a duplicate that
//! arrives while the first still runs is 409. Answers of 5xx are not kept, so a retry runs again.
//! Keys are the signed-in caller's own, in their session (the pipeline's scope), and kept
//! 24 hours; whether the caller may make the request is decided before anything stored under a
//! key is acted on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};
use steward_store::idempotency::{Claim, Existing, IdempotencyStore, Lease, StoredResponse};

use crate::problem::ApiError;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
const KEEP: Duration = Duration::from_secs(24 * 3600);

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of a request, if it carries one; a malformed one is a validation error.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        let text = value.to_str().unwrap_or_default();
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::validation(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(Some(Self(text.to_owned())))
    }
}

/// What identifies "the same request": method, path and body.
pub fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_str());
    hash.update(b"\n");
    hash.update(path);
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What to do with a request that carries a key.
pub enum Begin {
    /// Run it, then hand its answer to `finish`.
    Run(Ticket),
    /// Answer this, stored from the first run.
    Replay(Response<Body>),
}

/// The right to run a keyed request, and to record its answer.
pub struct Ticket {
    scope: String,
    key: IdempotencyKey,
    token: String,
    run: IdempotentRun,
}

impl Ticket {
    pub fn run(&self) -> &IdempotentRun {
        &self.run
    }
}

/// A keyed request's run, as its handler sees it (`ApiRequest::idempotent_run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRun {
    /// A UUIDv7 made when the key was first claimed and kept when a retry takes the key over,
    /// so that what a handler names after it is the same on every run of one request.
    pub id: uuid::Uuid,
    /// This run took the key over from one that held it past its lease. That one may have done
    /// its work and lost only its answer (the store failed before the answer was recorded), so
    /// a handler that creates something looks for what `id` names before creating it again.
    pub taken_over: bool,
}

#[derive(Clone, Debug)]
pub struct Idempotency {
    store: IdempotencyStore,
    /// How long a run may hold its key before a retry may take it over: the function's timeout.
    lock: Duration,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Idempotency {
    pub fn new(store: IdempotencyStore, lock: Duration) -> Self {
        Self { store, lock }
    }

    fn lease(&self) -> Lease {
        Lease {
            now_ms: now_ms(),
            lock_ms: self.lock.as_millis() as i64,
            keep_s: KEEP.as_secs() as i64,
        }
    }

    /// Claims `key` in `scope` for this request, or finds what another request left under it.
    /// `authorize` decides whether the caller may make the request; it is awaited before
    /// anything found is acted on (replayed, compared, waited for or taken over), since the
    /// handler that would decide does not run for a replay.
    pub async fn begin(
        &self,
        scope: &str,
        key: IdempotencyKey,
        fingerprint: &str,
        authorize: impl std::future::Future<Output = Result<(), ApiError>>,
    ) -> Result<Begin, ApiError> {
        let token = uuid::Uuid::new_v4().to_string();
        let run = uuid::Uuid::now_v7();
        let lease = self.lease();
        let existing = match self
            .store
            .claim(
                scope,
                &key.0,
                fingerprint,
                (&token, &run.simple().to_string()),
                lease,
            )
            .await?
        {
            Claim::Acquired { token } => {
                return Ok(Begin::Run(Ticket {
                    scope: scope.to_owned(),
                    key,
                    token,
                    run: IdempotentRun {
                        id: run,
                        taken_over: false,
                    },
                }));
            }
            Claim::Existing(existing) => existing,
        };
        authorize.await?;
        if existing.fingerprint() != fingerprint {
            return Err(ApiError::IdempotencyKeyReused);
        }
        match existing {
            Existing::Completed { response, .. } => Ok(Begin::Replay(replay(response)?)),
            Existing::InProgress {
                locked_until_ms, ..
            } if locked_until_ms >= lease.now_ms => Err(ApiError::IdempotencyInProgress {
                retry_after: Duration::from_millis(
                    u64::try_from(locked_until_ms - lease.now_ms).unwrap_or_default(),
                ),
            }),
            // Its runner died or timed out: the first retry to take it over runs it again.
            Existing::InProgress { .. } => match self
                .store
                .take_over(scope, &key.0, fingerprint, &token, lease)
                .await?
            {
                Some(taken) => Ok(Begin::Run(Ticket {
                    scope: scope.to_owned(),
                    key,
                    token: taken.token,
                    run: IdempotentRun {
                        // A record from before runs had ids: nothing to find, a new one.
                        id: taken
                            .run
                            .and_then(|id| uuid::Uuid::try_parse(&id).ok())
                            .unwrap_or(run),
                        taken_over: true,
                    },
                })),
                // Another retry took it over just now: it holds a whole lease.
                None => Err(ApiError::IdempotencyInProgress {
                    retry_after: self.lock,
                }),
            },
        }
    }

    /// Records the answer of a run for replay, or gives the key up after a 5xx.
    pub async fn finish(&self, ticket: Ticket, response: &Response<Body>) -> Result<(), ApiError> {
        if response.status().is_server_error() {
            self.store
                .release(&ticket.scope, &ticket.key.0, &ticket.token)
                .await?;
            return Ok(());
        }
        let (body, binary) = match response.body() {
            Body::Empty => (String::new(), false),
            Body::Text(text) => (text.clone(), false),
            Body::Binary(bytes) => (STANDARD.encode(bytes), true),
            _ => (String::new(), false),
        };
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| KEPT_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let stored = StoredResponse {
            status: response.status().as_u16(),
            headers,
            body,
            binary,
        };
        self.store
            .complete(&ticket.scope, &ticket.key.0, &ticket.token, &stored)
            .await?;
        Ok(())
    }
}

/// Headers that belong to the answer itself; per-request ones (request id, CORS) are added anew.
const KEPT_HEADERS: &[&str] = &["content-type", "location", "etag"];

fn replay(stored: StoredResponse) -> Result<Response<Body>, ApiError> {
    let body = match (stored.binary, stored.body.is_empty()) {
        (_, true) => Body::Empty,
        (false, false) => Body::Text(stored.body),
        (true, false) => Body::Binary(STANDARD.decode(stored.body).map_err(ApiError::internal)?),
    };
    let mut response = Response::builder()
        .status(stored.status)
        .body(body)
        .map_err(ApiError::internal)?;
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        let with = |v: &'static str| {
            HeaderMap::from_iter([(HeaderName::from_static(HEADER), HeaderValue::from_static(v))])
        };
        assert!(
            IdempotencyKey::from_headers(&HeaderMap::new())
                .unwrap()
                .is_none()
        );
        assert!(
            IdempotencyKey::from_headers(&with("7f1c-2a"))
                .unwrap()
                .is_some()
        );
        assert!(IdempotencyKey::from_headers(&with("has space")).is_err());
        assert!(IdempotencyKey::from_headers(&with("")).is_err());
    }

    #[test]
    fn fingerprints_tell_bodies_and_paths_apart() {
        let a = fingerprint(&Method::POST, "/v1/bookings", b"{\"a\":1}");
        assert_eq!(a, fingerprint(&Method::POST, "/v1/bookings", b"{\"a\":1}"));
        assert_ne!(a, fingerprint(&Method::POST, "/v1/bookings", b"{\"a\":2}"));
        assert_ne!(a, fingerprint(&Method::POST, "/v1/rooms", b"{\"a\":1}"));
    }
}
