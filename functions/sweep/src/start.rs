//! Starting a run: its record, then the first page of every shard of the tenant index.
//! Starting a run id that exists starts nothing new; a run still running gets its first pages
//! again (harmless: pages are counted once), which recovers a start that crashed between the
//! two steps.

use jiff::Timestamp;
use steward_domain::licensing::sweep::TENANT_SHARDS;
use steward_store::StoreError;
use steward_store::audit::AuditEntry;
use steward_store::sweep::{RunRecord, RunStatus};

use crate::Context;
use crate::message::SweepMessage;

/// A run id that sorts by time: `20261123T020000Z-nightly`, `20261123T153012Z-1a2b3c4d`.
pub fn run_id(at: Timestamp, suffix: &str) -> String {
    format!("{}-{suffix}", at.strftime("%Y%m%dT%H%M%SZ"))
}

#[derive(Debug)]
pub enum Started {
    New(RunRecord),
    /// A run of that id exists: this is its record.
    Existing(RunRecord),
}

impl Started {
    pub fn run(&self) -> &RunRecord {
        match self {
            Self::New(run) | Self::Existing(run) => run,
        }
    }
}

#[tracing::instrument(skip(context, audit))]
pub async fn start_run(
    context: &Context,
    run_id: &str,
    trigger: &str,
    requested_by: Option<&str>,
    audit: Option<&AuditEntry>,
) -> Result<Started, StoreError> {
    let now = Timestamp::now();
    let mut run = RunRecord::new(
        run_id,
        trigger,
        requested_by,
        &now.to_string(),
        now.as_second(),
        context.flags.self_healing_enabled,
    );
    if !context.flags.license_validation_enabled {
        run.status = RunStatus::Skipped;
        run.finished_at = Some(run.started_at.clone());
    }
    let started = if context.sweep.start(&run, audit).await? {
        Started::New(run)
    } else {
        let existing = context.sweep.run(run_id).await?.ok_or_else(|| {
            StoreError::Failed(format!("run {run_id} exists and cannot be read").into())
        })?;
        Started::Existing(existing)
    };
    if started.run().status == RunStatus::Running {
        let pages: Vec<String> = (0..TENANT_SHARDS)
            .map(|shard| {
                SweepMessage::Page {
                    run_id: run_id.to_owned(),
                    shard,
                    after: None,
                }
                .body()
            })
            .collect();
        context.queue.send_all(&pages).await?;
    } else if let Started::New(run) = &started {
        tracing::info!(run = %run.run_id, "LICENSE_VALIDATION_ENABLED is off: run recorded as skipped");
    }
    Ok(started)
}
