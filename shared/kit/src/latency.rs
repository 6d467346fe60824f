//! Latencies and counts recorded in-process (PERFORMANCE_METRICS_ENABLED), handed out as a
//! snapshot once a flush interval has passed, so that a store can keep them where the
//! operators' performance endpoint merges every instance's (SPEC §F KPIs).
//!
//! Histograms are log-linear: four buckets per doubling (each about 19 % wide), so a quantile
//! is exact to within one bucket and a histogram of any traffic stays a few dozen numbers.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

const BUCKETS_PER_DOUBLING: f64 = 4.0;

/// Counts of latencies by bucket; a bucket `b` holds values around `2^(b/4)` microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    pub buckets: BTreeMap<u16, u64>,
}

impl Histogram {
    pub fn record(&mut self, latency: Duration) {
        let micros = latency.as_secs_f64() * 1e6;
        let bucket = (micros.max(1.0).log2() * BUCKETS_PER_DOUBLING).round() as u16;
        *self.buckets.entry(bucket).or_default() += 1;
    }

    pub fn count(&self) -> u64 {
        self.buckets.values().sum()
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (bucket, count) in &other.buckets {
            *self.buckets.entry(*bucket).or_default() += count;
        }
    }

    /// The `q` quantile (0–1) in milliseconds, `None` when nothing was recorded.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (bucket, count) in &self.buckets {
            seen += count;
            if seen >= rank {
                return Some(2f64.powf(f64::from(*bucket) / BUCKETS_PER_DOUBLING) / 1000.0);
            }
        }
        None
    }
}

/// What an instance recorded over one interval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub latencies: BTreeMap<String, Histogram>,
    pub counters: BTreeMap<String, u64>,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.latencies.is_empty() && self.counters.is_empty()
    }

    pub fn merge(&mut self, other: &Snapshot) {
        for (name, histogram) in &other.latencies {
            self.latencies
                .entry(name.clone())
                .or_default()
                .merge(histogram);
        }
        for (name, count) in &other.counters {
            *self.counters.entry(name.clone()).or_default() += count;
        }
    }
}

struct Window {
    started: Instant,
    snapshot: Snapshot,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static WINDOW: Mutex<Option<Window>> = Mutex::new(None);

/// Turns recording on or off for this process (from PERFORMANCE_METRICS_ENABLED at init).
pub fn enable(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn with_window(change: impl FnOnce(&mut Snapshot)) {
    if !is_enabled() {
        return;
    }
    let mut window = WINDOW
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let window = window.get_or_insert_with(|| Window {
        started: Instant::now(),
        snapshot: Snapshot::default(),
    });
    change(&mut window.snapshot);
}

/// Records one latency under `name` (`permission_check`, `route:GET /v1/members`).
pub fn record(name: &str, latency: Duration) {
    with_window(|snapshot| {
        snapshot
            .latencies
            .entry(name.to_owned())
            .or_default()
            .record(latency)
    });
}

/// Adds to a counter (`cache.tenant.hit`).
pub fn count(name: &str, by: u64) {
    with_window(|snapshot| *snapshot.counters.entry(name.to_owned()).or_default() += by);
}

/// The interval's snapshot once `every` has passed since it began (the next one begins now).
pub fn take_if_due(every: Duration) -> Option<Snapshot> {
    let mut window = WINDOW
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match window.as_ref() {
        Some(current) if current.started.elapsed() >= every => {
            window.take().map(|w| w.snapshot).filter(|s| !s.is_empty())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_bucket_of_the_truth() {
        let mut histogram = Histogram::default();
        for micros in 1..=1000u64 {
            histogram.record(Duration::from_micros(micros * 100));
        }
        // True p50 = 50 ms, p99 = 99 ms; a bucket is about 19 % wide.
        let p50 = histogram.quantile_ms(0.5).unwrap();
        let p99 = histogram.quantile_ms(0.99).unwrap();
        assert!((42.0..=60.0).contains(&p50), "{p50}");
        assert!((84.0..=118.0).contains(&p99), "{p99}");
        assert_eq!(histogram.count(), 1000);
        assert!(Histogram::default().quantile_ms(0.5).is_none());
    }

    #[test]
    fn snapshots_merge_by_name() {
        let mut a = Snapshot::default();
        a.latencies
            .entry("x".into())
            .or_default()
            .record(Duration::from_millis(1));
        a.counters.insert("hit".into(), 2);
        let mut b = a.clone();
        b.counters.insert("miss".into(), 1);
        a.merge(&b);
        assert_eq!(a.latencies["x"].count(), 2);
        assert_eq!((a.counters["hit"], a.counters["miss"]), (4, 1));
    }
}
