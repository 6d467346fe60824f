//! The nightly report (SPEC §F): the run's summary and utilisation summed from its results,
//! written to S3 as JSON and CSV, and emailed to the operators; alerts on failures and
//! unhealthy tenants when `MONITORING_ALERTS_ENABLED`.

use jiff::Timestamp;
use serde_json::json;
use steward_access::operators::PLATFORM_TENANT;
use steward_domain::licensing::sweep::{Outcome, TENANT_SHARDS, Tally};
use steward_domain::text::neutralise_cell;
use steward_store::StoreError;
use steward_store::identity::UserRecord;
use steward_store::mail::Email;
use steward_store::sweep::{ReportLocation, RunRecord, RunStatus, TenantResult};

use steward_kit::metrics::{MetricName, Metrics};

use crate::Context;

/// Writes the report of a run whose tenants are all counted, once.
#[tracing::instrument(skip(context))]
pub async fn finish(context: &Context, run_id: &str) -> Result<(), StoreError> {
    let Some(run) = context.sweep.run(run_id).await? else {
        return Ok(());
    };
    if run.status != RunStatus::Finishing {
        return Ok(());
    }
    let mut tally = Tally::default();
    let mut results = Vec::new();
    for shard in 0..TENANT_SHARDS {
        let mut start = None;
        loop {
            let (page, next) = context.sweep.results(run_id, shard, start).await?;
            for result in page {
                tally.add(&result.outcome);
                results.push(result);
            }
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
    }
    results.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    let finished = Timestamp::now();
    let started: Timestamp = run.started_at.parse().unwrap_or(finished);
    let duration_ms = finished.duration_since(started).as_millis().max(0) as u64;

    let prefix = format!("reports/licence-sweeps/{run_id}");
    let location = ReportLocation {
        bucket: context.bucket.name().to_owned(),
        json_key: format!("{prefix}/report.json"),
        csv_key: format!("{prefix}/tenants.csv"),
    };
    let document = json!({
        "run_id": run_id,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": finished.to_string(),
        "duration_ms": duration_ms,
        "self_healing": run.self_healing,
        "pages_failed": run.pages_failed,
        "summary": tally,
        "tenants": results.iter().map(|r| json!({
            "tenant_id": r.tenant_id,
            "tenant_name": r.tenant_name,
            "result": r.outcome,
        })).collect::<Vec<_>>(),
    });
    let body = serde_json::to_vec_pretty(&document).map_err(|e| StoreError::Failed(Box::new(e)))?;
    context
        .bucket
        .put(&location.json_key, body, "application/json")
        .await?;
    context
        .bucket
        .put(&location.csv_key, csv(&results)?, "text/csv; charset=utf-8")
        .await?;

    let operators = operator_emails(context).await?;
    if !operators.is_empty() {
        context
            .mailer
            .send(&Email {
                to: operators.clone(),
                subject: format!(
                    "Licence sweep {run_id}: {} tenants, {} unhealthy, {} failed",
                    tally.tenants, tally.unhealthy, tally.failed
                ),
                text: summary_text(&run, &tally, &location, duration_ms),
                html: None,
                attachments: Vec::new(),
            })
            .await?;
    }
    if context.flags.monitoring_alerts_enabled && (tally.failed > 0 || run.pages_failed > 0) {
        alert(
            context,
            &format!(
                "ALERT licence sweep {run_id}: {} tenants failed",
                tally.failed
            ),
            &format!(
                "{} tenants and {} pages of the tenant index failed in run {run_id}; they are in \
                 the sweep's dead-letter queue (docs/runbooks/licence-sweep.md).\n",
                tally.failed, run.pages_failed
            ),
        )
        .await?;
    }
    if context.flags.monitoring_alerts_enabled && tally.unhealthy > 0 {
        alert(
            context,
            &format!(
                "ALERT licence sweep {run_id}: {} unhealthy tenants",
                tally.unhealthy
            ),
            &unhealthy_text(&results),
        )
        .await?;
    }
    context
        .sweep
        .complete(
            run_id,
            &tally,
            &location,
            &finished.to_string(),
            duration_ms,
        )
        .await?;
    // Once per run: a finish delivered again finds the run finished and returns above.
    Metrics::new()
        .count(MetricName::SweepTenants, tally.tenants)
        .count(MetricName::SweepFailedTenants, tally.failed)
        .property("run_id", run_id)
        .emit();
    Ok(())
}

/// One row per tenant: what the operators open in a spreadsheet.
fn csv(results: &[TenantResult]) -> Result<Vec<u8>, StoreError> {
    let failed = |e: csv::Error| StoreError::Failed(Box::new(e));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "tenant_id",
            "tenant_name",
            "outcome",
            "offering",
            "status",
            "health_score",
            "healthy",
            "issues",
            "transition",
            "notices",
            "fixes",
            "fixes_applied",
            "seats_used",
            "seats_allowed",
            "error",
        ])
        .map_err(failed)?;
    for result in results {
        let name = result.tenant_name.clone().unwrap_or_default();
        let row: Vec<String> = match &result.outcome {
            Outcome::Assessed {
                offering,
                status,
                seats_used,
                seats_allowed,
                assessment,
                fixes_applied,
            } => vec![
                result.tenant_id.clone(),
                name,
                "assessed".into(),
                offering.map(|o| o.as_str()).unwrap_or_default().into(),
                status.to_string(),
                assessment.health_score.to_string(),
                assessment.is_healthy().to_string(),
                join(assessment.issues.iter().map(|i| i.kind())),
                assessment
                    .transition
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                join(assessment.notices.iter().map(|d| format!("{d}d"))),
                join(assessment.fixes.iter().map(|f| f.kind())),
                fixes_applied.to_string(),
                seats_used.to_string(),
                seats_allowed.to_string(),
                String::new(),
            ],
            Outcome::Failed { error } => {
                let mut row = vec![result.tenant_id.clone(), name, "failed".into()];
                row.extend(std::iter::repeat_n(String::new(), 11));
                row.push(error.clone());
                row
            }
        };
        // Tenant names are the tenants' own text: no cell runs as a formula.
        writer
            .write_record(row.iter().map(|cell| neutralise_cell(cell).into_owned()))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| StoreError::Failed(e.to_string().into()))
}

fn join<T: AsRef<str>>(items: impl Iterator<Item = T>) -> String {
    items
        .map(|i| i.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(";")
}

fn summary_text(
    run: &RunRecord,
    tally: &Tally,
    location: &ReportLocation,
    duration_ms: u64,
) -> String {
    let mut text = format!(
        "Licence sweep {} ({}), started {}, took {:.1} s.\n\n\
         Tenants: {}\nHealthy: {}\nUnhealthy: {}\nFailed: {}\nPages failed: {}\n\
         Fixes applied: {}\nFixes proposed (self-healing off): {}\nNotices sent: {}\n\n",
        run.run_id,
        run.trigger,
        run.started_at,
        duration_ms as f64 / 1000.0,
        tally.tenants,
        tally.healthy,
        tally.unhealthy,
        tally.failed,
        run.pages_failed,
        tally.fixes_applied,
        tally.fixes_proposed,
        tally.notices_sent,
    );
    text.push_str("Issues:\n");
    for (kind, count) in &tally.issues {
        text.push_str(&format!("  {kind}: {count}\n"));
    }
    text.push_str("\nSeat utilisation by offering (healthy band 60-90 %):\n");
    for (tier, utilisation) in &tally.utilisation {
        text.push_str(&format!(
            "  {tier}: {} tenants, {:.0} % of seats used, {} in the band\n",
            utilisation.tenants,
            utilisation.ratio() * 100.0,
            utilisation.in_healthy_band
        ));
    }
    text.push_str(&format!(
        "\nReport: s3://{}/{} and s3://{}/{}\n",
        location.bucket, location.json_key, location.bucket, location.csv_key
    ));
    text
}

fn unhealthy_text(results: &[TenantResult]) -> String {
    let mut text = String::from("Tenants with a health score of 90 or less:\n");
    for result in results {
        if let Outcome::Assessed { assessment, .. } = &result.outcome
            && !assessment.is_healthy()
        {
            text.push_str(&format!(
                "  {} ({}): {} — {}\n",
                result.tenant_id,
                result.tenant_name.as_deref().unwrap_or(""),
                assessment.health_score,
                join(assessment.issues.iter().map(|i| i.kind()))
            ));
        }
    }
    text
}

/// The platform operators' addresses: the active members of the platform tenant.
pub async fn operator_emails(context: &Context) -> Result<Vec<String>, StoreError> {
    let mut emails = Vec::new();
    let mut start = None;
    loop {
        let (page, next) = context
            .access
            .page::<UserRecord>(PLATFORM_TENANT, "USER#", 500, start)
            .await?;
        emails.extend(
            page.into_iter()
                .filter(|user| user.status == "active")
                .map(|user| user.email),
        );
        match next {
            Some(next) => start = Some(next),
            None => return Ok(emails),
        }
    }
}

/// Emails the operators, when `MONITORING_ALERTS_ENABLED`.
pub async fn alert(context: &Context, subject: &str, text: &str) -> Result<(), StoreError> {
    if !context.flags.monitoring_alerts_enabled {
        tracing::warn!(subject, "alert not sent: MONITORING_ALERTS_ENABLED is off");
        return Ok(());
    }
    let operators = operator_emails(context).await?;
    if operators.is_empty() {
        tracing::error!(
            subject,
            "alert not sent: no platform operator has an address"
        );
        return Ok(());
    }
    context
        .mailer
        .send(&Email {
            to: operators,
            subject: subject.to_owned(),
            text: text.to_owned(),
            html: None,
            attachments: Vec::new(),
        })
        .await
}
