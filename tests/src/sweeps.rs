//! Licence sweeps over tenants planted straight into the table, each with at most one kind of
//! problem, so that a run's counts can be checked against the plan (the API would take minutes
//! to make 500 tenants).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use http::Method;
use serde_json::{Value, json};
use steward_domain::licensing::Offering;
use steward_store::identity::{TenantRecord, UserRecord};

use crate::{Person, TestStack, send};

pub const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plant {
    Healthy,
    /// Active, ended yesterday: moves to grace.
    Lapsed,
    /// In grace since 40 days: suspended.
    GraceOver,
    /// A trial that ended an hour ago: suspended.
    TrialEnded,
    Notice30,
    Notice7,
    Notice1,
    SeatsOver,
    RoomsOver,
    TerminalsOver,
    SeatDrift,
    NoAdmin,
    OrphanGrant,
    ExpiredInvitation,
    /// An unreadable tenant item: every delivery fails.
    Poison,
}

pub const PROBLEMS: [Plant; 14] = [
    Plant::Lapsed,
    Plant::GraceOver,
    Plant::TrialEnded,
    Plant::Notice30,
    Plant::Notice7,
    Plant::Notice1,
    Plant::SeatsOver,
    Plant::RoomsOver,
    Plant::TerminalsOver,
    Plant::SeatDrift,
    Plant::NoAdmin,
    Plant::OrphanGrant,
    Plant::ExpiredInvitation,
    Plant::Poison,
];

fn user(tenant_id: &str, n: usize, roles: &[&str]) -> UserRecord {
    let user_id = format!("usr_{tenant_id}_{n}");
    let (pk, sk) = UserRecord::key(tenant_id, &user_id);
    UserRecord {
        pk,
        sk,
        email: format!("{user_id}@sweep.test"),
        user_id,
        tenant_id: tenant_id.into(),
        name: "Planted".into(),
        account_id: String::new(),
        status: "active".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        created_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// The items of one planted tenant.
pub fn plant(tenant_id: &str, kind: Plant, now: i64) -> Vec<Value> {
    let mut tenant = TenantRecord::new(
        tenant_id,
        &format!("Planted {kind:?}"),
        "2026-01-01T00:00:00Z",
    );
    let terms = Offering::Professional.terms();
    tenant.licence.status = steward_authz::LicenceStatus::Active;
    tenant.licence.offering = Some(Offering::Professional);
    tenant.licence.features = terms.features.clone();
    tenant.licence.limits = terms.limits;
    tenant.licence.expires_at = Some(now + 200 * DAY);
    tenant.licence.seats_used = 1;
    let mut users = vec![user(tenant_id, 0, &["owner"])];
    let mut extra: Vec<Value> = Vec::new();
    let licence = &mut tenant.licence;
    match kind {
        Plant::Healthy | Plant::Poison => {}
        Plant::Lapsed => licence.expires_at = Some(now - DAY),
        Plant::GraceOver => {
            licence.status = steward_authz::LicenceStatus::Grace;
            licence.expires_at = Some(now - 40 * DAY);
        }
        Plant::TrialEnded => {
            let trial = Offering::Trial.terms();
            licence.status = steward_authz::LicenceStatus::Trial;
            licence.offering = Some(Offering::Trial);
            licence.features = trial.features;
            licence.limits = trial.limits;
            licence.expires_at = Some(now - 3600);
        }
        Plant::Notice30 => licence.expires_at = Some(now + 20 * DAY),
        Plant::Notice7 => licence.expires_at = Some(now + 5 * DAY),
        Plant::Notice1 => licence.expires_at = Some(now + DAY / 2),
        Plant::SeatsOver => {
            licence.limits.seats = 1;
            licence.seats_used = 2;
            users.push(user(tenant_id, 1, &["member"]));
        }
        Plant::RoomsOver => {
            licence.limits.rooms = 1;
            for room in 0..2 {
                extra.push(
                    json!({ "pk": format!("T#{tenant_id}"), "sk": format!("ROOM#rm_{room}") }),
                );
            }
        }
        Plant::TerminalsOver => {
            licence.limits.terminals = 0;
            extra.push(json!({ "pk": format!("T#{tenant_id}"), "sk": "TERMINAL#trm_0" }));
        }
        Plant::SeatDrift => licence.seats_used = 5,
        Plant::NoAdmin => users[0].roles = vec!["member".into()],
        Plant::OrphanGrant => {
            users.push(user(tenant_id, 1, &["ghost-role"]));
            licence.seats_used = 2;
        }
        Plant::ExpiredInvitation => {
            licence.seats_used = 2;
            extra.push(json!({
                "pk": format!("T#{tenant_id}"), "sk": "INVITE#inv_old",
                "invitation_id": "inv_old", "tenant_id": tenant_id,
                "email": format!("late@{tenant_id}.test"), "roles": ["member"],
                "invited_by": format!("usr_{tenant_id}_0"), "created_at": "2026-01-01T00:00:00Z",
                "expires_at": now - DAY, "status": "pending", "token_hash": "00", "accepted_by": null,
            }));
        }
    }
    let mut tenant = serde_json::to_value(&tenant).unwrap();
    if kind == Plant::Poison {
        tenant["licence"]["status"] = json!("bogus");
    }
    let mut items = vec![tenant];
    items.extend(users.iter().map(|u| serde_json::to_value(u).unwrap()));
    items.extend(extra);
    items
}

/// Plants `per_problem` tenants of every problem and healthy ones up to `total`.
/// Tenant ids start with `tag`, so each test finds its own tenants' mail in the shared emulator.
pub async fn plant_tenants(
    stack: &TestStack,
    tag: &str,
    total: usize,
    per_problem: usize,
) -> BTreeMap<Plant, Vec<String>> {
    let now = jiff::Timestamp::now().as_second();
    let mut plan: BTreeMap<Plant, Vec<String>> = BTreeMap::new();
    for (i, kind) in PROBLEMS
        .iter()
        .flat_map(|k| std::iter::repeat_n(*k, per_problem))
        .enumerate()
    {
        plan.entry(kind).or_default().push(format!("{tag}p{i:04}"));
    }
    let planted: usize = plan.values().map(Vec::len).sum();
    for i in 0..total.saturating_sub(planted) {
        plan.entry(Plant::Healthy)
            .or_default()
            .push(format!("{tag}h{i:04}"));
    }
    let items: Vec<Value> = plan
        .iter()
        .flat_map(|(kind, ids)| ids.iter().flat_map(move |id| plant(id, *kind, now)))
        .collect();
    stream::iter(items)
        .for_each_concurrent(8, |item| async move {
            stack.table.put(&item).await.expect("plant an item");
        })
        .await;
    plan
}

/// The run, once complete (at most 7 minutes).
pub async fn wait_for_run(stack: &TestStack, operator: &Person, run_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(420);
    loop {
        let (status, _, run) =
            send(stack.as_person(operator, Method::GET, &format!("/v1/admin/sweeps/{run_id}")))
                .await;
        assert_eq!(status, 200, "{run}");
        if run["status"] == "complete" {
            return run;
        }
        assert!(Instant::now() < deadline, "the run did not finish: {run}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Starts a run as `operator` (`POST /v1/admin/validate-licenses`): its id.
pub async fn start_run(stack: &TestStack, operator: &Person) -> String {
    let (status, headers, run) =
        send(stack.as_person(operator, Method::POST, "/v1/admin/validate-licenses")).await;
    assert_eq!(status, 202, "{run}");
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        headers["location"],
        format!("/v1/admin/sweeps/{run_id}").as_str()
    );
    assert_eq!(run["status"], "running");
    run_id
}
