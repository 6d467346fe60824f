//! Sweep throughput (issue 8, benchmark 6): a licence sweep over planted healthy tenants
//! through its real entry point (`POST /v1/admin/validate-licenses`, then the sweep queue's
//! workers, then the report), timed by the run itself: tenants per second. The emulator alone
//! with as many clients as the local poller runs batches is measured in the same run, as the floor.
//!
//! Then the operators' views refresh (`POST /v1/admin/refresh-views`, the onboarding wizard on)
//! over 1,000 planted tenants, the rollout plan's criterion being under 5 s: against reading the
//! tenant index alone, the part no refresh can skip, in the same run.
//!
//! `cargo bench -p steward-e2e --bench sweep_throughput` (300 tenants swept, 1,000 refreshed);
//! under `cargo test` 20 and 40, to prove it still works.

use std::time::Instant;

use reqwest::Method;
use serde_json::json;
use steward_domain::licensing::sweep::TENANT_SHARDS;
use steward_e2e::sweeps::{plant_tenants, start_run, wait_for_run};
use steward_e2e::{Person, TestStack, send};
use steward_store::sweep::SweepStore;

#[tokio::main]
async fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let tenants = if benching { 300 } else { 20 };
    let refreshed = if benching { 1000 } else { 40 };
    let stack = TestStack::start().await;
    let operator = stack.operator().await;
    plant_tenants(&stack, "bench", tenants, 0).await;

    let run_id = start_run(&stack, &operator).await;
    let run = wait_for_run(&stack, &operator, &run_id).await;
    let summary = &run["summary"];
    let seconds = run["duration_ms"].as_f64().expect("the run's duration") / 1000.0;
    let swept = summary["tenants"].as_u64().expect("the run's tenant count");
    assert_eq!(swept, tenants as u64, "every tenant swept: {run}");
    assert_eq!(summary["failed"], 0, "{run}");
    let per_second = swept as f64 / seconds;
    // The local poller runs at most 4 batches of a queue at once (infra/local/src/queues.rs).
    let workers = 4;
    let (floor_ops, floor_p50, _) = steward_e2e::floor::emulator_alone(&stack, workers, 5).await;
    println!(
        "sweep: {swept} tenants in {seconds:.1} s = {per_second:.1} tenants/s; the emulator alone, \
         {workers} clients: {floor_ops:.0} operations/s (p50 {floor_p50:.1} ms)"
    );
    let refresh = views_refresh(&stack, &operator, refreshed - tenants).await;
    steward_e2e::bench_results(
        "sweep",
        &json!({
            "benchmark": "sweep", "tenants": swept, "seconds": seconds,
            "tenants_per_s": per_second,
            "emulator_alone": { "clients": workers, "operations_per_s": floor_ops,
                                "p50_ms": floor_p50 },
            "views_refresh": refresh,
        }),
    );
}

/// The views' refresh over the planted tenants and `more`, timed through the API, against the
/// tenant index read alone.
async fn views_refresh(stack: &TestStack, operator: &Person, more: usize) -> serde_json::Value {
    plant_tenants(stack, "views", more, 0).await;
    // The index first, while no worker is busy: the emulator serves one request at a time.
    stack.drained("SweepQueue").await;
    let store = SweepStore::new(stack.table.clone());
    let started = Instant::now();
    let mut read = 0;
    for shard in 0..TENANT_SHARDS {
        let mut start = None;
        loop {
            let (page, next) = store.tenants(shard, start).await.expect("the tenant index");
            read += page.len();
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
    }
    let index_s = started.elapsed().as_secs_f64();
    println!("the tenant index alone: {read} items in {index_s:.2} s");
    let started = Instant::now();
    let (status, _, view) =
        send(stack.as_person(operator, Method::POST, "/v1/admin/refresh-views")).await;
    let refresh_s = started.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{view}");
    let tenants = view["tenants"].as_u64().expect("the view's tenant count");
    assert_eq!(view["onboarding"]["queued"], tenants, "{view}");

    println!(
        "views refresh: {tenants} tenants in {refresh_s:.2} s (target < 5 s); the tenant index \
         alone, {read} items: {index_s:.2} s; refresh / index = {:.2}x",
        refresh_s / index_s
    );
    json!({ "tenants": tenants, "seconds": refresh_s, "index_alone_seconds": index_s,
            "ratio": refresh_s / index_s })
}
