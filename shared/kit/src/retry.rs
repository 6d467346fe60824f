//! Optimistic writes: read, decide, write on condition that nothing changed, and when another
//! writer got there first, read again and try again. Every such loop counts its tries with
//! [`Optimistic`], which bounds them, spaces them with jitter, and answers the same 503 when
//! they are spent.

use std::time::Duration;

use steward_store::backoff::Backoff;

use crate::problem::ApiError;

/// The tries of one optimistic write.
#[derive(Debug, Clone)]
pub struct Optimistic(Backoff);

impl Optimistic {
    /// How many times a write is tried: writers meeting on one item settle in two or three.
    pub const TRIES: u32 = 5;

    pub fn new() -> Self {
        Self(Backoff::new(
            Self::TRIES,
            Duration::from_millis(10),
            Duration::from_millis(200),
        ))
    }

    /// Whether to try (again); it waits a random while first, but before the first try.
    pub async fn next(&mut self) -> bool {
        self.0.next_try().await
    }

    /// The answer once every try met another writer: 503, to be tried again in a second.
    pub fn spent(&self) -> ApiError {
        Self::unavailable(self.tried())
    }

    /// How many tries were made.
    pub fn tried(&self) -> u32 {
        self.0.tried()
    }

    /// The answer to a write whose `tried` tries all met other writers (see [`Self::spent`]),
    /// for a boundary that reports them in its own error first.
    pub fn unavailable(tried: u32) -> ApiError {
        ApiError::Unavailable {
            retry_after: Duration::from_secs(1),
            source: Some(format!("{tried} tries met other writers").into()),
        }
    }
}

impl Default for Optimistic {
    fn default() -> Self {
        Self::new()
    }
}
