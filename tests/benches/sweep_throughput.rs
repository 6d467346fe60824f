//! Sweep throughput (issue 8, benchmark 6): a licence sweep over planted healthy tenants
//! through its real entry point (`POST /v1/admin/validate-licenses`, then the sweep queue's
//! workers, then the report), timed by the run itself: tenants per second. The emulator alone
//! with as many clients as the local poller runs batches is measured in the same run, as the floor.
//!
//! `cargo bench -p steward-e2e --bench sweep_throughput` (300 tenants); under `cargo test` 20,
//! to prove it still works.

use serde_json::json;
use steward_e2e::TestStack;
use steward_e2e::sweeps::{plant_tenants, start_run, wait_for_run};

#[tokio::main]
async fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let tenants = if benching { 300 } else { 20 };
    let stack = TestStack::with_parameters(&[("OnboardingWizardEnabled", "false")]).await;
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
    steward_e2e::bench_results(
        "sweep",
        &json!({
            "benchmark": "sweep", "tenants": swept, "seconds": seconds,
            "tenants_per_s": per_second,
            "emulator_alone": { "clients": workers, "operations_per_s": floor_ops,
                                "p50_ms": floor_p50 },
        }),
    );
}
