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

    /// Refuses when either counter is at its limit. Both are read whether the account exists or
    /// not, so the answer says nothing about it.
    pub async fn check(&self) -> Result<(), ApiError> {
        let (start, end) = self.window();
        let (account, source) = tokio::try_join!(
            self.store.failures(&self.account_key, start, self.now),
            self.store.failures(&self.source_key, start, self.now),
        )?;
        if account >= self.limits.per_account || source >= self.limits.per_source {
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

    pub async fn succeed(&self) -> Result<(), ApiError> {
        let (start, _) = self.window();
        self.store.clear_failures(&self.account_key, start).await?;
        Ok(())
    }
}
