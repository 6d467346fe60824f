//! The authorizer's decision in-process, as a request pays for it (issue 3): verify the access
//! token, build the Cedar request from the user's and tenant's records, decide. p50 and p99 of
//! each stage and of the whole over individually timed runs, with a baseline measured in the
//! same run (an HMAC-SHA256 of the token: the floor of checking any signed token), then
//! criterion's estimate, then the time of one Argon2id password hash and verification.
//!
//! `cargo bench -p steward-access` runs it in full (about 30 s in release); under `cargo test`
//! it only smoke-runs each part.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use steward_access::subject;
use steward_authz::{Action, Authorizer, Permission, Request, RoleName};
use steward_domain::access::CustomRole;
use steward_domain::identity::Password;
use steward_domain::identity::hashing;
use steward_domain::identity::tokens::AccessTokens;
use steward_store::identity::{LicenceRecord, TenantRecord, UserRecord};

const NOW: i64 = 1_790_000_000;

fn records() -> (UserRecord, TenantRecord) {
    let tenant_id = "tnt_0190f4c26a0070008000000000000001";
    let user_id = "usr_0190f4c27b1e7c3a9d523f1e8a6b2c10";
    let mut tenant = TenantRecord::new(tenant_id, "Acme Rooms", "2026-11-23T00:00:00Z");
    tenant.licence = LicenceRecord::trial(NOW);
    tenant.custom_roles = BTreeMap::from([(
        RoleName::parse("front-desk").unwrap(),
        CustomRole {
            permissions: [Permission::MembersList, Permission::InvitationsCreate].into(),
            description: String::new(),
        },
    )]);
    let (pk, sk) = UserRecord::key(tenant_id, user_id);
    let user = UserRecord {
        pk,
        sk,
        user_id: user_id.into(),
        tenant_id: tenant_id.into(),
        email: "jane@acme.test".into(),
        name: "Jane".into(),
        account_id: String::new(),
        status: "active".into(),
        roles: vec!["admin".into(), "front-desk".into()],
        created_at: String::new(),
    };
    (user, tenant)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Times `n` runs of `f` one by one; answers (p50, p99).
fn timed(n: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..n / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort_unstable();
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

/// Set in a child this bench starts: time `Authorizer::new` twice, print both, exit.
const INIT_CHILD: &str = "STEWARD_AUTHORIZER_INIT_CHILD";

/// `Authorizer::new` as a cold start pays for it (the first call in a fresh process, which
/// also sets up Cedar's parsers and extensions) and as a second call pays for it: medians in
/// µs over `runs` fresh processes (this binary, started again).
fn authorizer_init(runs: usize) -> (f64, f64) {
    let (mut cold, mut warm) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .env(INIT_CHILD, "1")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let (first, second) = text.trim().split_once(' ').unwrap();
        cold.push(first.parse::<f64>().unwrap());
        warm.push(second.parse::<f64>().unwrap());
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    (median(cold), median(warm))
}

fn main() {
    if std::env::var_os(INIT_CHILD).is_some() {
        let mut micros = [0.0; 2];
        for slot in &mut micros {
            let started = Instant::now();
            black_box(Authorizer::new().expect("the policies are valid"));
            *slot = started.elapsed().as_secs_f64() * 1e6;
        }
        println!("{} {}", micros[0], micros[1]);
        return;
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let n = if full { 20_000 } else { 50 };
    let (init_cold, init_warm) = authorizer_init(if full { 30 } else { 2 });
    println!(
        "Authorizer::new: first call in a process {init_cold:.0} µs, second call {init_warm:.0} µs \
         (medians of fresh processes; the difference is Cedar's one-time set-up)"
    );

    let key = [7u8; 32];
    let tokens = AccessTokens::new(&key);
    let authorizer = Authorizer::new().expect("the policies are valid");
    let (user, tenant) = records();
    let token = tokens.issue(&user.user_id, &user.tenant_id, "ses_1", NOW, "jti_1");
    let action = Action::new(Permission::MembersSuspend);

    let decide_all = || {
        let claims = tokens.verify(black_box(&token), NOW + 1).expect("valid");
        let (principal, tenant_data) = subject(black_box(&user), black_box(&tenant), true);
        let decision = authorizer.decide(&Request {
            principal: &principal,
            action,
            resource_tenant: &claims.tid,
            tenant: &tenant_data,
        });
        assert!(decision.is_allowed());
    };
    decide_all();

    let stages = std::cell::RefCell::new(Vec::new());
    let report = |name: &str, (p50, p99): (Duration, Duration)| {
        stages.borrow_mut().push(serde_json::json!({
            "stage": name, "p50_us": micros(p50), "p99_us": micros(p99), "n": n,
        }));
        println!(
            "authorizer decision: {name:<28} p50 = {:>6.1} µs, p99 = {:>6.1} µs (n = {n})",
            micros(p50),
            micros(p99)
        );
        p99
    };
    let baseline = report(
        "baseline HMAC-SHA256 of token",
        timed(n, || {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(black_box(token.as_bytes()));
            black_box(mac.finalize());
        }),
    );
    report(
        "1. verify token",
        timed(n, || {
            black_box(tokens.verify(black_box(&token), NOW + 1).unwrap());
        }),
    );
    let (principal, tenant_data) = subject(&user, &tenant, true);
    report(
        "2. build request",
        timed(n, || {
            black_box(subject(black_box(&user), black_box(&tenant), true));
        }),
    );
    report(
        "3. Cedar decide",
        timed(n, || {
            let _ = black_box(authorizer.decide(&Request {
                principal: &principal,
                action,
                resource_tenant: &tenant.tenant_id,
                tenant: &tenant_data,
            }));
        }),
    );
    let total = report("all three", timed(n, decide_all));
    println!(
        "authorizer decision: p99 all three / p99 baseline = {:.0}x; target p99 <= 100 µs: {}",
        total.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
        if total <= Duration::from_micros(100) {
            "met"
        } else {
            "NOT met"
        },
    );

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
        .configure_from_args();
    criterion.bench_function("authorizer decision: verify + build + decide", |b| {
        b.iter(decide_all)
    });

    // One password hash at OWASP's Argon2id cost (m = 19 MiB, t = 2, p = 1).
    let password = Password::new("maple tractor velvet orbit", &[]).unwrap();
    let rounds = if full { 10 } else { 1 };
    let started = Instant::now();
    let mut hash = None;
    for _ in 0..rounds {
        hash = Some(hashing::hash(black_box(&password)));
    }
    let per_hash = started.elapsed() / rounds;
    let hash = hash.unwrap();
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(hashing::verify(&password, black_box(&hash)));
    }
    let per_verify = started.elapsed() / rounds;
    println!(
        "password hash (Argon2id m=19456 KiB t=2 p=1): hash = {:.1} ms, verify = {:.1} ms (mean of {rounds})",
        per_hash.as_secs_f64() * 1e3,
        per_verify.as_secs_f64() * 1e3,
    );
    criterion.final_summary();
    // For `make bench`'s report (infra/bench/report.py).
    if let Some(out) = std::env::var_os("STEWARD_BENCH_OUT") {
        let results = serde_json::json!({
            "benchmark": "authorizer",
            "stages": stages.take(),
            "authorizer_new_us": { "first": init_cold, "second": init_warm },
            "argon2id_ms": { "hash": per_hash.as_secs_f64() * 1e3, "verify": per_verify.as_secs_f64() * 1e3 },
        });
        let path = std::path::Path::new(&out).join("authorizer.json");
        std::fs::write(path, serde_json::to_vec_pretty(&results).unwrap()).unwrap();
    }
}
