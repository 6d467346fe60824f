//! `Authorizer::decide` for an admin with two roles on a resource of its own tenant: criterion's
//! estimate, then p50/p99 over 20,000 individually timed calls, against a baseline measured in
//! the same run (the same answer by a plain set lookup, no Cedar).
//!
//! `cargo bench -p steward-authz` runs it in full (about 15 s); under `cargo test` it only
//! smoke-runs each part.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use steward_authz::{
    Action, Authorizer, BuiltInRole, Feature, LicenceStatus, Permission, PrincipalData, Request,
    RoleDefinition, RoleName, TenantData,
};

fn fixture() -> (PrincipalData, TenantData) {
    let desk = RoleDefinition::custom(
        RoleName::parse("front-desk").expect("a valid name"),
        [Permission::MembersList, Permission::InvitationsCreate],
    );
    let principal = PrincipalData {
        user_id: "0190f4c2-7b1e-7c3a-9d52-3f1e8a6b2c10".into(),
        tenant_id: "0190f4c2-6a00-7000-8000-000000000001".into(),
        suspended: false,
        roles: vec![BuiltInRole::Admin.definition(), desk],
    };
    let tenant = TenantData {
        tenant_id: principal.tenant_id.clone(),
        licence_status: LicenceStatus::Active,
        licence_enforced: true,
        features: Feature::ALL.iter().copied().collect(),
    };
    (principal, tenant)
}

/// The same allow, without Cedar: is the permission in one of the roles' sets?
fn baseline(principal: &PrincipalData, permission: Permission) -> bool {
    principal
        .roles
        .iter()
        .any(|role| role.permissions.contains(&permission))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let n = if full { 20_000 } else { 100 };

    let authorizer = Authorizer::new().expect("the policies are valid");
    let (principal, tenant) = fixture();
    let request = Request {
        principal: &principal,
        action: Action::new(Permission::MembersSuspend),
        resource_tenant: &tenant.tenant_id,
        tenant: &tenant,
    };
    assert!(authorizer.decide(&request).is_allowed());
    assert!(baseline(&principal, Permission::MembersSuspend));

    // Percentiles over individually timed calls, after a warm-up.
    for _ in 0..n / 10 {
        let _ = black_box(authorizer.decide(black_box(&request)));
    }
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let start = Instant::now();
        let _ = black_box(authorizer.decide(black_box(&request)));
        samples.push(start.elapsed());
    }
    let decide_mean = started.elapsed() / n as u32;
    samples.sort_unstable();
    println!(
        "authz decide: p50 = {:.1} µs, p99 = {:.1} µs (n = {n})",
        micros(percentile(&samples, 0.50)),
        micros(percentile(&samples, 0.99)),
    );

    // The baseline is too fast to time call by call: time a batch.
    let batch = n * 50;
    let started = Instant::now();
    for _ in 0..batch {
        black_box(baseline(
            black_box(&principal),
            black_box(Permission::MembersSuspend),
        ));
    }
    let baseline_mean = started.elapsed() / batch as u32;
    println!(
        "authz decide: mean = {:.1} µs; baseline (set lookup, no Cedar) mean = {} ns; ratio = {:.0}x",
        micros(decide_mean),
        baseline_mean.as_nanos(),
        decide_mean.as_secs_f64() / baseline_mean.as_secs_f64().max(1e-9),
    );

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
        .configure_from_args();
    criterion.bench_function("authz/decide: admin, 2 roles, same tenant", |b| {
        b.iter(|| authorizer.decide(black_box(&request)))
    });
    criterion.bench_function("authz/baseline: set lookup", |b| {
        b.iter(|| baseline(black_box(&principal), black_box(Permission::MembersSuspend)))
    });
    criterion.final_summary();
}
