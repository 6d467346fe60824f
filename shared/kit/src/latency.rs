//! Latencies and counts recorded in-process (PERFORMANCE_METRICS_ENABLED), handed out as a
//! snapshot once a flush interval has passed, so that a store can keep them where the
//! operators' performance endpoint merges every instance's (SPEC §F KPIs).
//!
//! Histograms are log-linear: four buckets per doubling (each about 19 % wide), so a quantile
//! is exact to within one bucket and a histogram of any traffic stays a few dozen numbers.
//!
//! Each request's own permission checks and tenant cache lookups are also kept apart, in its
//! [`Tally`], for the metrics line the request writes (whether or not recording is on).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
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

/// One function instance's recording: the route handler wraps each request in
/// [`Recorder::scope`], and what runs inside (the guard's permission check, caches) records
/// into it through [`record`] and [`count`]. Outside a scope, or with metrics off, nothing is
/// recorded. Per instance rather than per process: the local stack runs many functions, and
/// many stacks, in one process.
#[derive(Debug)]
pub struct Recorder {
    window: Mutex<(Instant, Snapshot)>,
}

tokio::task_local! {
    static CURRENT: Arc<Recorder>;
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            window: Mutex::new((Instant::now(), Snapshot::default())),
        })
    }

    /// Runs `work` with this recorder as the current one.
    pub async fn scope<F: std::future::Future>(self: &Arc<Self>, work: F) -> F::Output {
        CURRENT.scope(Arc::clone(self), work).await
    }

    fn change(&self, change: impl FnOnce(&mut Snapshot)) {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut window.1);
    }

    /// The interval's snapshot once `every` has passed since it began (the next begins now).
    pub fn take_if_due(&self, every: Duration) -> Option<Snapshot> {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if window.0.elapsed() < every {
            return None;
        }
        let (_, snapshot) = std::mem::replace(&mut *window, (Instant::now(), Snapshot::default()));
        (!snapshot.is_empty()).then_some(snapshot)
    }
}

/// What a latency is recorded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed<'a> {
    /// One permission decision of the guard.
    PermissionCheck,
    /// One answer of a route (`GET /v1/members`).
    Route(&'a str),
}

const ROUTE_PREFIX: &str = "route:";

impl<'a> Timed<'a> {
    /// The name a snapshot keeps it under (snapshots are stored: names outlive a deploy).
    pub fn name(self) -> String {
        match self {
            Self::PermissionCheck => "permission_check".to_owned(),
            Self::Route(route) => format!("{ROUTE_PREFIX}{route}"),
        }
    }

    /// The route a snapshot's latency name is of, if it is a route's.
    pub fn route_of(name: &'a str) -> Option<&'a str> {
        name.strip_prefix(ROUTE_PREFIX)
    }
}

/// The in-process caches whose lookups are counted ([`crate::recent::Recent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// The guard's tenants (licence, custom roles): the one a request's metrics line reports.
    Tenant,
    /// The terminal API's terminals and rooms.
    Terminal,
    Room,
    #[cfg(test)]
    Test,
}

impl Cache {
    fn name(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Terminal => "terminal",
            Self::Room => "room",
            #[cfg(test)]
            Self::Test => "test",
        }
    }
}

/// A lookup in a cache: it found the entry, or it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit(Cache),
    Miss(Cache),
}

impl Lookup {
    /// The counter a snapshot keeps it under (`cache.tenant.hit`).
    pub fn name(self) -> String {
        match self {
            Self::Hit(cache) => format!("cache.{}.hit", cache.name()),
            Self::Miss(cache) => format!("cache.{}.miss", cache.name()),
        }
    }
}

/// What one request did that its metrics line reports besides its answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub permission_checks_ms: Vec<f64>,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

tokio::task_local! {
    static TALLY: RefCell<Tally>;
}

/// Runs `work` with a tally of its own; answers its output and what it tallied.
pub async fn tallied<F: std::future::Future>(work: F) -> (F::Output, Tally) {
    TALLY
        .scope(RefCell::new(Tally::default()), async {
            let output = work.await;
            (output, TALLY.with(RefCell::take))
        })
        .await
}

fn tally(change: impl FnOnce(&mut Tally)) {
    let _ = TALLY.try_with(|tally| change(&mut tally.borrow_mut()));
}

/// Records one latency in the current recorder, if any, and a permission check in the
/// request's tally.
pub fn record(timed: Timed<'_>, latency: Duration) {
    if timed == Timed::PermissionCheck {
        tally(|t| t.permission_checks_ms.push(latency.as_secs_f64() * 1000.0));
    }
    let _ = CURRENT.try_with(|recorder| {
        recorder.change(|snapshot| {
            snapshot
                .latencies
                .entry(timed.name())
                .or_default()
                .record(latency)
        })
    });
}

/// Counts `by` lookups in the current recorder, if any, and the tenant cache's in the
/// request's tally.
pub fn count(lookup: Lookup, by: u64) {
    match lookup {
        Lookup::Hit(Cache::Tenant) => tally(|t| t.cache_hits += by),
        Lookup::Miss(Cache::Tenant) => tally(|t| t.cache_misses += by),
        _ => {}
    }
    let _ = CURRENT.try_with(|recorder| {
        recorder.change(|snapshot| *snapshot.counters.entry(lookup.name()).or_default() += by)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_tallies_its_own_checks_and_lookups_and_nothing_leaks_out() {
        let recorder = Recorder::new();
        let ((), tally) = recorder
            .scope(tallied(async {
                record(Timed::PermissionCheck, Duration::from_micros(1500));
                record(Timed::Route("GET /v1/rooms"), Duration::from_millis(9));
                count(Lookup::Hit(Cache::Tenant), 2);
                count(Lookup::Miss(Cache::Tenant), 1);
                count(Lookup::Hit(Cache::Terminal), 5);
            }))
            .await;
        assert_eq!(
            tally,
            Tally {
                permission_checks_ms: vec![1.5],
                cache_hits: 2,
                cache_misses: 1,
            }
        );
        // The instance's snapshot keeps every one under the names the operators read.
        let snapshot = recorder.take_if_due(Duration::ZERO).unwrap();
        assert_eq!(
            snapshot.latencies.keys().collect::<Vec<_>>(),
            ["permission_check", "route:GET /v1/rooms"]
        );
        assert_eq!(
            snapshot.counters,
            BTreeMap::from([
                ("cache.tenant.hit".to_owned(), 2),
                ("cache.tenant.miss".to_owned(), 1),
                ("cache.terminal.hit".to_owned(), 5),
            ])
        );
        // Outside a tally nothing is kept, and nothing fails.
        record(Timed::PermissionCheck, Duration::from_millis(1));
        let ((), empty) = tallied(async {}).await;
        assert_eq!(empty, Tally::default());
    }

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

    #[tokio::test]
    async fn only_work_inside_a_scope_is_recorded_and_a_snapshot_is_taken_once() {
        let recorder = Recorder::new();
        record(Timed::Route("GET /outside"), Duration::from_millis(1));
        recorder
            .scope(async {
                record(Timed::Route("GET /inside"), Duration::from_millis(2));
                count(Lookup::Hit(Cache::Test), 1);
            })
            .await;
        let snapshot = recorder.take_if_due(Duration::ZERO).unwrap();
        assert_eq!(
            snapshot.latencies.keys().collect::<Vec<_>>(),
            ["route:GET /inside"]
        );
        assert_eq!(snapshot.counters["cache.test.hit"], 1);
        assert!(recorder.take_if_due(Duration::ZERO).is_none(), "emptied");
        assert!(recorder.take_if_due(Duration::from_secs(60)).is_none());
    }
}
