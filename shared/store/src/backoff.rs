//! Waiting between tries of a request that met contention: a write another writer got to first,
//! keys the service left unprocessed. Tries are bounded, and each wait is random up to a ceiling
//! that doubles with every try ("full jitter"), so that writers that met do not meet again in
//! step, and a throttled table is given room.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    tried: u32,
    max_tries: u32,
    first_ceiling: Duration,
    cap: Duration,
}

impl Backoff {
    /// At most `max_tries` tries; the wait before the second is at most `first_ceiling`, and no
    /// wait is longer than `cap`.
    pub const fn new(max_tries: u32, first_ceiling: Duration, cap: Duration) -> Self {
        Self {
            tried: 0,
            max_tries,
            first_ceiling,
            cap,
        }
    }

    /// Whether another try may be made; it waits first, but before the first try.
    pub async fn next_try(&mut self) -> bool {
        if self.tried >= self.max_tries {
            return false;
        }
        if let Some(ceiling) = self.ceiling() {
            let wait = rand::rng().random_range(Duration::ZERO..=ceiling);
            tokio::time::sleep(wait).await;
        }
        self.tried += 1;
        true
    }

    /// The longest wait before the next try: none before the first.
    fn ceiling(&self) -> Option<Duration> {
        let doublings = self.tried.checked_sub(1)?.min(16);
        Some(
            self.first_ceiling
                .saturating_mul(1 << doublings)
                .min(self.cap),
        )
    }

    /// The tries made so far.
    pub fn tried(&self) -> u32 {
        self.tried
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tries_are_bounded_and_waits_grow_to_the_cap() {
        let mut backoff = Backoff::new(6, Duration::from_millis(1), Duration::from_millis(5));
        let mut ceilings = Vec::new();
        while {
            ceilings.push(backoff.ceiling());
            backoff.next_try().await
        } {}
        assert_eq!(backoff.tried(), 6);
        let ms = |ms| Some(Duration::from_millis(ms));
        assert_eq!(ceilings, [None, ms(1), ms(2), ms(4), ms(5), ms(5), ms(5)]);
        assert!(!backoff.next_try().await, "spent");
    }
}
