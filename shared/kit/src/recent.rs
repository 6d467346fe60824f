//! Records as an instance last read them, kept for a fixed time: what a warm Lambda instance
//! remembers between requests. Hits and misses are counted as `cache.<name>.hit` and
//! `cache.<name>.miss` in the performance metrics.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::latency::{Cache, Lookup};

/// How many entries an instance keeps before it drops the expired ones.
const PRUNE_AT: usize = 10_000;

pub struct Recent<V> {
    cache: Cache,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> Recent<V> {
    /// A cache whose entries live `ttl`; a zero `ttl` keeps nothing.
    pub fn new(cache: Cache, ttl: Duration) -> Self {
        Self {
            cache,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value kept under `key`, if it was read less than the TTL ago.
    pub fn get(&self, key: &str) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let hit = self
            .entries()
            .get(key)
            .filter(|(read_at, _)| read_at.elapsed() < self.ttl)
            .map(|(_, value)| value.clone());
        let lookup = match hit {
            Some(_) => Lookup::Hit(self.cache),
            None => Lookup::Miss(self.cache),
        };
        crate::latency::count(lookup, 1);
        hit
    }

    /// Keeps `value` as just read.
    pub fn put(&self, key: impl Into<String>, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= PRUNE_AT {
            entries.retain(|_, (read_at, _)| read_at.elapsed() < self.ttl);
        }
        entries.insert(key.into(), (Instant::now(), value));
    }

    /// Keeps what a read of `key` found, or forgets `key` when it found nothing.
    pub fn remember(&self, key: impl Into<String>, read: Option<&V>) {
        let key = key.into();
        match read {
            Some(value) => self.put(key, value.clone()),
            None => self.forget(&key),
        }
    }

    /// Forgets `key`: what was kept is known to be out of date.
    pub fn forget(&self, key: &str) {
        self.entries().remove(key);
    }

    pub fn clear(&self) {
        self.entries().clear();
    }

    /// The map, even after a panic elsewhere: an entry is written whole or not at all.
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_value_for_its_ttl_and_forgets_on_demand() {
        let cache = Recent::new(Cache::Test, Duration::from_secs(60));
        assert_eq!(cache.get("a"), None);
        cache.put("a", 1);
        assert_eq!(cache.get("a"), Some(1));
        cache.forget("a");
        assert_eq!(cache.get("a"), None);
        cache.remember("a", Some(&3));
        assert_eq!(cache.get("a"), Some(3));
        cache.remember("a", None);
        assert_eq!(cache.get("a"), None);
        cache.put("a", 2);
        cache.clear();
        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn an_expired_value_is_not_answered() {
        let cache = Recent::new(Cache::Test, Duration::from_millis(1));
        cache.put("a", 1);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = Recent::new(Cache::Test, Duration::ZERO);
        cache.put("a", 1);
        assert_eq!(cache.get("a"), None);
    }
}
