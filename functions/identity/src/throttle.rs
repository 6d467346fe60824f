//! Sign-in throttling, after OWASP's guidance: slow guessing without handing a stranger the
//! power to lock someone out. Failures are counted in fixed windows against three keys:
//!
//! - the account and source pair: past its limit (5), that source may not try that account
//!   until the window ends. A stranger who guesses locks out only themselves;
//! - the source: past its limit (20), a source that guesses across accounts is refused;
//! - the account, from every source: a much higher ceiling (100) against guessing spread over
//!   many addresses, which does not apply to a source that has signed in to the account before
//!   (marked by every successful sign-in, for 30 days). The owner signing in from where they
//!   usually do is never refused for what strangers did.
//!
//! No sign-in is made to wait: a Lambda function that sleeps is billed for it and holds a
//! concurrency slot, which an attacker would turn against everyone. A refusal is 429 with
//! Retry-After until the window ends.

use std::time::Duration;

use steward_kit::ApiError;
use steward_store::identity::{IdentityStore, SignedIn};

use crate::keys::Keys;

/// How long a successful sign-in marks its source as known to the account.
const KNOWN_FOR_SECONDS: i64 = 30 * 86_400;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures of one source against one account.
    pub per_account_and_source: u32,
    pub per_source: u32,
    /// Failures against one account from every source not known to it.
    pub per_account: u32,
    pub window_seconds: i64,
}

/// The keys a sign-in is counted under (keyed hashes: neither the email nor the address is
/// stored).
pub struct ThrottleKeys {
    pub pair: String,
    pub source: String,
    pub account: String,
}

impl ThrottleKeys {
    /// The keys of attempts of one `kind` (`""`: sign-ins, `"RESET"`: password-reset links)
    /// on the account `email` from `source`, each kind counted apart.
    pub fn of(keys: &Keys, kind: &str, email: &str, source: &str) -> Self {
        Self {
            pair: keys.throttle_key(&format!("{kind}PAIR"), &format!("{email}\n{source}")),
            source: keys.throttle_key(&format!("{kind}SOURCE"), source),
            account: keys.throttle_key(&format!("{kind}ACCOUNT"), email),
        }
    }
}

pub struct Throttle<'a> {
    pub store: &'a IdentityStore,
    pub limits: Limits,
    pub keys: ThrottleKeys,
    pub now: i64,
}

/// What a sign-in read of its throttle's counts.
pub struct Counted {
    pub pair: u32,
    pub source: u32,
    pub account: u32,
    /// The source signed in to the account before.
    pub known_source: bool,
}

impl Throttle<'_> {
    fn window(&self) -> (i64, i64) {
        let start = self.now - self.now.rem_euclid(self.limits.window_seconds);
        (start, start + self.limits.window_seconds)
    }

    pub fn window_start(&self) -> i64 {
        self.window().0
    }

    /// The counters to read, in the order [`Self::check`] takes them.
    pub fn counters(&self) -> [&str; 3] {
        [&self.keys.pair, &self.keys.source, &self.keys.account]
    }

    /// Refuses when a count is at its limit. The counts are read with the account, in one
    /// request, whether the account exists or not, so the answer says nothing about it.
    pub fn check(&self, counted: &Counted) -> Result<(), ApiError> {
        let limits = &self.limits;
        let refused = counted.pair >= limits.per_account_and_source
            || counted.source >= limits.per_source
            || (counted.account >= limits.per_account && !counted.known_source);
        if refused {
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
            self.store.count_failure(&self.keys.pair, start, end),
            self.store.count_failure(&self.keys.source, start, end),
            self.store.count_failure(&self.keys.account, start, end),
        )?;
        Ok(())
    }

    /// Forgets the account and source pair's failures: the right answer came.
    pub async fn succeeded(&self) -> Result<(), ApiError> {
        self.store
            .forget_failures(&self.keys.pair, self.window_start())
            .await?;
        Ok(())
    }

    /// What a successful sign-in leaves in its session's own write: the pair's failures
    /// forgotten, and the source known to the account.
    pub fn signed_in(&self) -> SignedIn<'_> {
        SignedIn {
            pair: &self.keys.pair,
            window_start: self.window_start(),
            known_until: self.now + KNOWN_FOR_SECONDS,
        }
    }
}

impl crate::handlers::Identity {
    /// The throttle of `kind`'s counters (`""` for sign-in's, `TOTP`, `RESET`) for `email`
    /// from the request's source, checked: refused once its failures reach the limits. For
    /// checks that do not know the source (a code, a link) as sign-in does.
    pub(crate) async fn checked_throttle(
        &self,
        request: &steward_kit::api::ApiRequest,
        kind: &str,
        email: &str,
    ) -> Result<Throttle<'_>, ApiError> {
        let source = request.source_ip.as_deref().unwrap_or("");
        let throttle = Throttle {
            store: &self.store,
            limits: self.limits,
            keys: ThrottleKeys::of(&self.keys, kind, email, source),
            now: jiff::Timestamp::now().as_second(),
        };
        let [pair, source_failures, account] = self
            .store
            .failures(throttle.counters(), throttle.window_start(), throttle.now)
            .await?;
        throttle.check(&Counted {
            pair,
            source: source_failures,
            account,
            known_source: false,
        })?;
        Ok(throttle)
    }
}
