//! Sign-in throttling: failures counted per account and per source address in fixed windows;
//! past a limit, sign-in is refused with 429 and Retry-After until the window ends.

use std::time::Duration;

use steward_kit::ApiError;
use steward_store::identity::IdentityStore;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: u32,
    pub per_source: u32,
    pub window_seconds: i64,
}

pub struct Throttle<'a> {
    pub store: &'a IdentityStore,
    pub limits: Limits,
    pub account_key: String,
    pub source_key: String,
    pub now: i64,
}

impl Throttle<'_> {
    fn window(&self) -> (i64, i64) {
        let start = self.now - self.now.rem_euclid(self.limits.window_seconds);
        (start, start + self.limits.window_seconds)
    }

    pub fn window_start(&self) -> i64 {
        self.window().0
    }

    /// Refuses when either count is at its limit. Both are read with the account, in one
    /// request, whether the account exists or not, so the answer says nothing about it.
    pub fn check(&self, account_failures: u32, source_failures: u32) -> Result<(), ApiError> {
        if account_failures >= self.limits.per_account || source_failures >= self.limits.per_source
        {
            let (_, end) = self.window();
            return Err(ApiError::TooManyRequests {
                retry_after: Duration::from_secs((end - self.now).max(1) as u64),
            });
        }
        Ok(())
    }

    pub async fn fail(&self) -> Result<(), ApiError> {
        let (start, end) = self.window();
        tokio::try_join!(
            self.store.count_failure(&self.account_key, start, end),
            self.store.count_failure(&self.source_key, start, end),
        )?;
        Ok(())
    }

    /// The account's failures, forgotten by a successful sign-in in its session's own write.
    pub fn forgets(&self) -> (&str, i64) {
        (&self.account_key, self.window_start())
    }
}
