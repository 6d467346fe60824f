//! The nightly licence sweep through its real entry points (SPEC §F): an operator's
//! validate-licenses (or the schedule) starts a run, the sweep queue's workers validate every
//! tenant, and the run's report lands in S3 and the operators' inbox.
//!
//! Tenants are planted straight into the table (the API would take minutes to make 500 of them),
//! each with at most one kind of problem, so the report's counts can be checked against the plan.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};
use steward_e2e::sweeps::{PROBLEMS, Plant, plant, plant_tenants, start_run, wait_for_run};
use steward_e2e::{TestStack, send};

async fn tenant_item(stack: &TestStack, tenant_id: &str) -> Value {
    let (items, _) = stack
        .table
        .query_page::<Value>(
            steward_store::Query::partition(&format!("T#{tenant_id}")),
            100,
            None,
        )
        .await
        .unwrap();
    json!(items)
}

/// One item of a tenant's partition, by sort key.
async fn item(stack: &TestStack, tenant_id: &str, sk: &str) -> Value {
    let items = tenant_item(stack, tenant_id).await;
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sk"] == sk)
        .unwrap_or_else(|| panic!("{tenant_id} has no {sk}"))
        .clone()
}

async fn dead_letters(stack: &TestStack) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let url = stack.stack.queue_url("SweepDeadLetterQueue").unwrap();
    let mut found = Vec::new();
    for _ in 0..5 {
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        found.extend(
            messages
                .iter()
                .map(|m| serde_json::from_str::<Value>(m.body().unwrap()).unwrap()),
        );
    }
    found
}

#[tokio::test]
async fn a_sweep_of_520_planted_tenants_finds_heals_and_reports_every_problem_once() {
    let stack = TestStack::start_with(|options| {
        options.retry_delay = Some(Duration::from_secs(1));
        for (name, value) in [
            ("SelfHealingEnabled", "true"),
            ("SweepMaxReceiveCount", "2"),
            // The onboarding wizard is on (the default): the views' refresh queues each
            // tenant's checklist instead of reading it inline.
        ] {
            options
                .parameter_overrides
                .insert(name.into(), value.into());
        }
    })
    .await;
    let operator = stack.operator().await;
    let per_problem = 5;
    let tag = "big";
    let plan = plant_tenants(&stack, tag, 520, per_problem).await;
    let count = |kind| plan.get(&kind).map_or(0, Vec::len) as u64;

    let run_id = start_run(&stack, &operator).await;
    let run = wait_for_run(&stack, &operator, &run_id).await;
    let summary = &run["summary"];
    let seconds = run["duration_ms"].as_f64().unwrap() / 1000.0;
    println!(
        "sweep throughput: {} tenants in {seconds:.1} s = {:.1} tenants/s (local stack, debug build)",
        summary["tenants"],
        summary["tenants"].as_f64().unwrap() / seconds
    );

    // The counts equal the plan.
    let poison = count(Plant::Poison);
    assert_eq!(summary["tenants"], 520);
    assert_eq!(summary["failed"], poison);
    let expected_issues = json!({
        "licence_lapsed": count(Plant::Lapsed) + count(Plant::GraceOver) + count(Plant::TrialEnded),
        "seats_over_allocated": count(Plant::SeatsOver),
        "rooms_over_allocated": count(Plant::RoomsOver),
        "terminals_over_allocated": count(Plant::TerminalsOver),
        "seat_count_drift": count(Plant::SeatDrift) + count(Plant::ExpiredInvitation),
        "no_admin": count(Plant::NoAdmin),
        "orphan_grants": count(Plant::OrphanGrant),
    });
    assert_eq!(summary["issues"], expected_issues);
    assert_eq!(
        summary["transitions"],
        json!({ "grace": count(Plant::Lapsed), "suspended": count(Plant::GraceOver) + count(Plant::TrialEnded) })
    );
    let notices = count(Plant::Notice30) + 2 * count(Plant::Notice7) + 3 * count(Plant::Notice1);
    assert_eq!(summary["notices_sent"], notices);
    // Every problem tenant but the notice-only ones is unhealthy.
    let unhealthy: u64 = PROBLEMS
        .iter()
        .filter(|k| {
            !matches!(
                k,
                Plant::Notice30 | Plant::Notice7 | Plant::Notice1 | Plant::Poison
            )
        })
        .map(|k| count(*k))
        .sum();
    assert_eq!(summary["unhealthy"], unhealthy);
    assert_eq!(summary["healthy"], 520 - unhealthy - poison);
    assert_eq!(
        summary["fixes"],
        json!({
            "recount_seats": count(Plant::SeatDrift) + count(Plant::ExpiredInvitation),
            "revoke_orphan_grants": count(Plant::OrphanGrant),
            "expire_invitations": count(Plant::ExpiredInvitation),
        })
    );
    assert_eq!(
        summary["fixes_applied"],
        count(Plant::SeatDrift) + count(Plant::OrphanGrant) + 2 * count(Plant::ExpiredInvitation)
    );
    assert_eq!(summary["fixes_proposed"], 0);

    // Healed where safe, and audited as the sweep's; the rest left for people.
    let drifted = &plan[&Plant::SeatDrift][0];
    let tenant = item(&stack, drifted, "TENANT").await;
    assert_eq!(tenant["licence"]["seats_used"], 1);
    let orphaned = &plan[&Plant::OrphanGrant][0];
    let member = item(&stack, orphaned, &format!("USER#usr_{orphaned}_1")).await;
    assert_eq!(
        member["roles"],
        json!(["member"]),
        "the orphan grant is gone; the member keeps a role"
    );
    let invited = &plan[&Plant::ExpiredInvitation][0];
    assert_eq!(
        item(&stack, invited, "INVITE#inv_old").await["status"],
        "expired"
    );
    assert_eq!(
        item(&stack, invited, "TENANT").await["licence"]["seats_used"],
        1
    );
    let (audit, _) = stack
        .table
        .query_page::<Value>(
            steward_store::Query::partition(&format!("T#{invited}#AUDIT")),
            50,
            None,
        )
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"invitation.expire") && actions.contains(&"licence.recount_seats"),
        "{actions:?}"
    );
    assert!(audit.iter().all(|e| e["actor"] == "system:licence-sweep"));
    let lapsed = &plan[&Plant::Lapsed][0];
    assert_eq!(
        item(&stack, lapsed, "TENANT").await["licence"]["status"],
        "grace"
    );
    let unfixable = &plan[&Plant::NoAdmin][0];
    let owner = item(&stack, unfixable, &format!("USER#usr_{unfixable}_0")).await;
    assert_eq!(
        owner["roles"],
        json!(["member"]),
        "nobody is made an admin by the sweep"
    );

    // The notices reached the tenants' admins; the report reached the operator.
    let notice_mail = stack.sent_mail(&format!("usr_{tag}")).await;
    assert_eq!(notice_mail.len() as u64, notices, "one email per notice");
    let notice7 = &plan[&Plant::Notice7][0];
    let to_notice7: Vec<&Value> = notice_mail
        .iter()
        .filter(|m| m["destinations"].to_string().contains(notice7.as_str()))
        .collect();
    assert_eq!(to_notice7.len(), 2, "30 and 7 days");
    let reports = stack.sent_mail(&operator.email).await;
    let report_mail: Vec<&Value> = reports
        .iter()
        .filter(|m| m["subject"].as_str().unwrap().contains(&run_id))
        .collect();
    assert!(
        report_mail.iter().any(|m| m["subject"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Licence sweep {run_id}: 520 tenants"))),
        "{report_mail:?}"
    );
    assert!(
        report_mail
            .iter()
            .any(|m| m["subject"].as_str().unwrap().contains("tenants failed")),
        "failures alert"
    );
    assert!(
        report_mail
            .iter()
            .any(|m| m["subject"].as_str().unwrap().contains("unhealthy tenants")),
        "unhealthy alert"
    );

    // The report in S3: JSON with the same summary, CSV with a row per tenant.
    let bucket =
        steward_store::objects::Bucket::new(stack.aws(), run["report"]["bucket"].as_str().unwrap());
    let report: Value = serde_json::from_slice(
        &bucket
            .get(run["report"]["json_key"].as_str().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(&report["summary"], summary);
    assert_eq!(report["tenants"].as_array().unwrap().len(), 520);
    let csv = String::from_utf8(
        bucket
            .get(run["report"]["csv_key"].as_str().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(csv.lines().count(), 521, "a header and a row per tenant");
    assert_eq!(
        csv.lines().filter(|l| l.contains(",failed,")).count() as u64,
        poison
    );

    // The poison tenants' messages are in the dead-letter queue.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut dead = Vec::new();
    while dead.len() < poison as usize && Instant::now() < deadline {
        dead.extend(dead_letters(&stack).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut dead_tenants: Vec<&str> = dead
        .iter()
        .map(|m| m["tenant_id"].as_str().unwrap())
        .collect();
    dead_tenants.sort();
    let poison_ids: Vec<&str> = plan[&Plant::Poison].iter().map(String::as_str).collect();
    assert_eq!(dead_tenants, poison_ids);

    // A rerun changes nothing twice: no notice, no transition, nothing left to fix.
    let rerun_id = start_run(&stack, &operator).await;
    assert_ne!(rerun_id, run_id);
    let rerun = wait_for_run(&stack, &operator, &rerun_id).await;
    assert_eq!(rerun["summary"]["notices_sent"], 0);
    assert_eq!(rerun["summary"]["transitions"], json!({}));
    assert_eq!(rerun["summary"]["fixes_applied"], 0);
    assert_eq!(
        stack.sent_mail(&format!("usr_{tag}")).await.len() as u64,
        notices,
        "no second notice"
    );

    // Runs are listed newest first.
    let (status, _, runs) =
        send(stack.as_person(&operator, Method::GET, "/v1/admin/sweeps?limit=5")).await;
    assert_eq!(status, 200);
    assert_eq!(runs["items"][0]["run_id"], rerun_id.as_str());
    assert_eq!(runs["items"][1]["run_id"], run_id.as_str());

    // The aggregates count the tenants by status and tier, and the last sweep's health.
    let (status, _, view) =
        send(stack.as_person(&operator, Method::POST, "/v1/admin/refresh-views")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["tenants"], 520 - poison);
    assert_eq!(view["unreadable"], poison);
    // Every readable tenant is licensed for reports: its utilisation is queued, and with the
    // wizard on, its onboarding checklist.
    assert_eq!(view["utilisation_queued"], 520 - poison);
    assert_eq!(view["onboarding"]["queued"], 520 - poison);
    assert_eq!(view["last_sweep"]["run_id"], rerun_id.as_str());
    assert_eq!(view["by_status"]["grace"], count(Plant::Lapsed));
    let (_, _, served) = send(stack.as_person(
        &operator,
        Method::GET,
        "/v1/admin/monitoring/license-health",
    ))
    .await;
    assert_eq!(served, view, "served from the stored view");
}

#[tokio::test]
async fn without_self_healing_a_scheduled_run_reports_fixes_changes_nothing_and_runs_once_a_night()
{
    let stack = TestStack::start_with(|options| {
        options.retry_delay = Some(Duration::from_secs(1));
    })
    .await;
    let operator = stack.operator().await;
    let tag = "calm";
    let mut plan = BTreeMap::new();
    let now = jiff::Timestamp::now().as_second();
    for (i, kind) in [
        Plant::SeatDrift,
        Plant::OrphanGrant,
        Plant::ExpiredInvitation,
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("{tag}{i}");
        for item in plant(&id, kind, now) {
            stack.table.put(&item).await.unwrap();
        }
        plan.insert(kind, id);
    }

    // EventBridge may deliver one night's firing twice: one run.
    let fire = "/_local/schedules/SweepScheduleFunction/NightlySweep?at=2026-11-23T02:00:00Z";
    let (status, _, first) = send(stack.post(fire)).await;
    assert_eq!(status, 200, "{first}");
    let (_, _, second) = send(stack.post(fire)).await;
    let run_id = first["output"]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(run_id, "20261123T020000Z-nightly");
    assert_eq!(second["output"]["run_id"], run_id.as_str());
    let run = wait_for_run(&stack, &operator, &run_id).await;
    assert_eq!(run["trigger"], "schedule");
    let (_, _, runs) = send(stack.as_person(&operator, Method::GET, "/v1/admin/sweeps")).await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "{runs}");

    // One run's answer links its reports for a few minutes, each a download of the stored file.
    let links = &run["report_links"];
    assert!(
        runs["items"][0].get("report_links").is_none(),
        "only one run's answer signs links"
    );
    let bucket =
        steward_store::objects::Bucket::new(stack.aws(), run["report"]["bucket"].as_str().unwrap());
    for (format, key) in [("csv", "csv_key"), ("json", "json_key")] {
        let answer = reqwest::get(links[format].as_str().unwrap()).await.unwrap();
        assert_eq!(answer.status(), 200, "{format}");
        let disposition = answer.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment")
                && disposition.contains(&format!("licence-sweep-{run_id}.{format}")),
            "{disposition}"
        );
        let stored = bucket
            .get(run["report"][key].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(answer.bytes().await.unwrap().to_vec(), stored, "{format}");
    }
    let expires: jiff::Timestamp = links["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(
        expires > jiff::Timestamp::now()
            && expires < jiff::Timestamp::now() + jiff::SignedDuration::from_mins(6)
    );

    // Found and proposed, not applied.
    let summary = &run["summary"];
    assert_eq!(summary["tenants"], 3);
    assert_eq!(summary["fixes_applied"], 0);
    assert_eq!(summary["fixes_proposed"], 4);
    // Its planted problems pull the mean health score under 100.
    let assessed = summary["healthy"].as_f64().unwrap() + summary["unhealthy"].as_f64().unwrap();
    let average = run["average_health_score"].as_f64().unwrap();
    assert_eq!(
        average,
        summary["health_score_total"].as_f64().unwrap() / assessed
    );
    assert!(average < 100.0 && average > 0.0, "{average}");
    let tenant = item(&stack, &plan[&Plant::SeatDrift], "TENANT").await;
    assert_eq!(tenant["licence"]["seats_used"], 5, "self-healing is off");
    let invitation = item(&stack, &plan[&Plant::ExpiredInvitation], "INVITE#inv_old").await;
    assert_eq!(invitation["status"], "pending");
    let orphaned = &plan[&Plant::OrphanGrant];
    let member = item(&stack, orphaned, &format!("USER#usr_{orphaned}_1")).await;
    assert_eq!(member["roles"], json!(["ghost-role"]));
}

#[tokio::test]
async fn with_validation_and_view_refresh_off_the_schedules_do_nothing_but_say_so() {
    let stack = TestStack::start_with(|options| {
        for name in ["LicenseValidationEnabled", "MaterializedViewRefreshEnabled"] {
            options
                .parameter_overrides
                .insert(name.into(), "false".into());
        }
    })
    .await;
    // The nightly refresh leaves the aggregates to the endpoint.
    let (status, _, fired) =
        send(stack.post("/_local/schedules/SweepScheduleFunction/RefreshViews")).await;
    assert_eq!(status, 200, "{fired}");
    assert_eq!(fired["output"]["refreshed"], false);
    let operator = stack.operator().await;
    let now = jiff::Timestamp::now().as_second();
    for item in plant("quietp0", Plant::Notice7, now) {
        stack.table.put(&item).await.unwrap();
    }
    let (status, _, run) =
        send(stack.as_person(&operator, Method::POST, "/v1/admin/validate-licenses")).await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["status"], "skipped");
    let (_, _, again) = send(stack.as_person(
        &operator,
        Method::GET,
        &format!("/v1/admin/sweeps/{}", run["run_id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(again["status"], "skipped");
    assert!(again["summary"].is_null());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        stack.sent_mail("usr_quietp0").await.is_empty(),
        "no notice: nothing ran"
    );
    // On demand, the aggregates still refresh.
    let (status, _, view) =
        send(stack.as_person(&operator, Method::POST, "/v1/admin/refresh-views")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["tenants"], 1);
    // A tenant cannot start or read runs.
    let owner = stack.sign_up("Quiet Rooms", "owner@quiet.test").await;
    let (status, _, refused) =
        send(stack.as_person(&owner, Method::POST, "/v1/admin/validate-licenses")).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["missing_permission"], "platform:manage_licences");
}
