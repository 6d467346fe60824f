//! The sweep queue's consumer: fans pages of the tenant index out into tenant messages,
//! validates tenants, and finishes runs. A message that keeps failing is recorded as failed
//! on its last delivery, then SQS moves it to the dead-letter queue: nothing is skipped
//! without a trace in the run's summary.

use aws_lambda_events::event::sqs::SqsMessage;
use jiff::Timestamp;
use steward_access::operators::PLATFORM_TENANT;
use steward_domain::licensing::sweep::{Outcome, assess};
use steward_kit::sqs::{RecordHandler, is_last_delivery};
use steward_store::StoreError;
use steward_store::sweep::TenantResult;

use crate::message::SweepMessage;
use crate::{Context, apply, report};

/// Tenants fanned out per page message: small enough that a page's sends finish well within
/// the function's timeout, large enough that pages are a small share of the messages.
pub const PAGE_SIZE: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("not a sweep message: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Worker {
    pub(crate) context: Context,
}

impl RecordHandler for Worker {
    type Error = SweepError;

    async fn handle(&self, record: &SqsMessage) -> Result<(), SweepError> {
        let message: SweepMessage =
            serde_json::from_str(record.body.as_deref().unwrap_or_default())?;
        let outcome = self.process(&message).await;
        if let Err(error) = &outcome
            && is_last_delivery(record, self.context.max_receives)
        {
            tracing::error!(run = message.run_id(), %error, "last delivery failed; recording it before the dead-letter queue");
            self.give_up(&message, &error.to_string()).await?;
        }
        outcome
    }
}

impl Worker {
    async fn process(&self, message: &SweepMessage) -> Result<(), SweepError> {
        match message {
            SweepMessage::Page {
                run_id,
                shard,
                after,
            } => self.page(run_id, *shard, after.as_deref()).await,
            SweepMessage::Tenant {
                run_id,
                shard,
                tenant_id,
                as_of,
                self_healing,
            } => {
                self.tenant(run_id, *shard, tenant_id, *as_of, *self_healing)
                    .await
            }
            SweepMessage::Finish { run_id } => {
                report::finish(&self.context, run_id).await?;
                Ok(())
            }
            SweepMessage::Utilisation { tenant_id, at } => {
                let at = Timestamp::from_second(*at)
                    .map_err(|e| SweepError::Store(StoreError::Failed(Box::new(e))))?;
                match crate::views::refresh_utilisation(&self.context, tenant_id, at).await {
                    // Reading it again will not mend it: logged, and the last figures stay.
                    Err(error @ StoreError::Corrupt { .. }) => {
                        tracing::error!(tenant = %tenant_id, %error, "utilisation not refreshed");
                        Ok(())
                    }
                    other => Ok(other?),
                }
            }
            SweepMessage::Onboarding { tenant_id, at } => {
                crate::views::refresh_onboarding(&self.context, tenant_id, *at).await?;
                Ok(())
            }
            SweepMessage::ViewsPage {
                shard,
                after,
                at,
                onboarding,
            } => {
                crate::views::queue_page(&self.context, *shard, after.as_deref(), *at, *onboarding)
                    .await?;
                Ok(())
            }
        }
    }

    /// Enqueues one page of a shard's tenants and the next page, then counts the page. The
    /// sends come first: a retry sends them again (tenants are validated once per run
    /// regardless), while a page counted before its tenants were sent could lose them.
    #[tracing::instrument(skip(self))]
    async fn page(&self, run_id: &str, shard: u8, after: Option<&str>) -> Result<(), SweepError> {
        let context = &self.context;
        let Some(run) = context.sweep.run(run_id).await? else {
            tracing::warn!("a page of an unknown run; dropped");
            return Ok(());
        };
        let (ids, next) = context.sweep.tenant_ids(shard, after, PAGE_SIZE).await?;
        let mut bodies: Vec<String> = ids
            .iter()
            .filter(|id| id.as_str() != PLATFORM_TENANT)
            .map(|tenant_id| {
                SweepMessage::Tenant {
                    run_id: run_id.to_owned(),
                    shard,
                    tenant_id: tenant_id.clone(),
                    as_of: run.as_of,
                    self_healing: run.self_healing,
                }
                .body()
            })
            .collect();
        let enqueued = bodies.len() as u64;
        if let Some(next) = &next {
            bodies.push(
                SweepMessage::Page {
                    run_id: run_id.to_owned(),
                    shard,
                    after: Some(next.clone()),
                }
                .body(),
            );
        }
        context.queue.send_all(&bodies).await?;
        let page = after.unwrap_or("start");
        context
            .sweep
            .count_page(run_id, shard, page, enqueued, next.is_some())
            .await?;
        self.check_shard(run_id, shard).await
    }

    #[tracing::instrument(skip(self))]
    async fn tenant(
        &self,
        run_id: &str,
        shard: u8,
        tenant_id: &str,
        as_of: i64,
        self_healing: bool,
    ) -> Result<(), SweepError> {
        let context = &self.context;
        if context
            .sweep
            .result(run_id, shard, tenant_id)
            .await?
            .is_none()
        {
            let outcome = self
                .validate(run_id, tenant_id, as_of, self_healing)
                .await?;
            let (name, outcome) = match outcome {
                Some((name, outcome)) => (Some(name), outcome),
                None => (
                    None,
                    Outcome::Failed {
                        error: "the tenant no longer exists".into(),
                    },
                ),
            };
            let now = Timestamp::now();
            let result = TenantResult::new(
                run_id,
                shard,
                tenant_id,
                name.as_deref(),
                outcome,
                &now.to_string(),
                now.as_second(),
            );
            context.sweep.record(&result, shard).await?;
        }
        self.check_shard(run_id, shard).await
    }

    /// The verdict on one tenant, acted on: `None` when the tenant is gone.
    async fn validate(
        &self,
        run_id: &str,
        tenant_id: &str,
        as_of: i64,
        self_healing: bool,
    ) -> Result<Option<(String, Outcome)>, SweepError> {
        let context = &self.context;
        let Some(gathered) = crate::facts::gather(context, tenant_id, as_of).await? else {
            return Ok(None);
        };
        let assessment = assess(&gathered.facts, as_of);
        apply::transition(context, run_id, &gathered, &assessment).await?;
        apply::notices(context, run_id, &gathered, &assessment).await?;
        if self_healing {
            apply::fixes(context, run_id, &gathered, &assessment, as_of).await?;
        }
        let facts = &gathered.facts;
        let outcome = Outcome::Assessed {
            offering: gathered.tenant.licence.offering,
            status: assessment.transition.unwrap_or(facts.status),
            seats_used: facts.members + facts.pending_invitations,
            seats_allowed: facts.limits.seats,
            fixes_applied: self_healing && !assessment.fixes.is_empty(),
            assessment,
        };
        Ok(Some((gathered.tenant.name.clone(), outcome)))
    }

    /// Closes the shard if its counts have met; the closer of the last shard sends the run's
    /// finish message.
    async fn check_shard(&self, run_id: &str, shard: u8) -> Result<(), SweepError> {
        let context = &self.context;
        if !context.sweep.progress(run_id, shard).await?.is_complete() {
            return Ok(());
        }
        if context.sweep.close_shard(run_id, shard).await?.is_some() {
            let finish = SweepMessage::Finish {
                run_id: run_id.to_owned(),
            };
            context.queue.send(&finish.body()).await?;
        }
        Ok(())
    }

    /// What the last delivery of a failing message leaves behind: a failed result for a
    /// tenant, a page counted as failed (its tenants were never enqueued), an alert for a run
    /// that could not be finished.
    async fn give_up(&self, message: &SweepMessage, error: &str) -> Result<(), SweepError> {
        let context = &self.context;
        match message {
            SweepMessage::Tenant {
                run_id,
                shard,
                tenant_id,
                ..
            } => {
                let now = Timestamp::now();
                let result = TenantResult::new(
                    run_id,
                    *shard,
                    tenant_id,
                    None,
                    Outcome::Failed {
                        error: error.to_owned(),
                    },
                    &now.to_string(),
                    now.as_second(),
                );
                context.sweep.record(&result, *shard).await?;
                self.check_shard(run_id, *shard).await
            }
            SweepMessage::Page {
                run_id,
                shard,
                after,
            } => {
                let page = after.as_deref().unwrap_or("start");
                context.sweep.page_failed(run_id, *shard, page).await?;
                report::alert(
                    context,
                    &format!("Licence sweep {run_id}: a page of shard {shard} failed"),
                    &format!(
                        "The tenants of shard {shard} after {page:?} were not validated in run {run_id}: {error}\n\
                         The message is in the sweep's dead-letter queue (docs/runbooks/licence-sweep.md)."
                    ),
                )
                .await?;
                self.check_shard(run_id, *shard).await
            }
            // The tenant's last figures stay; the next refresh tries again.
            SweepMessage::ViewsPage { .. }
            | SweepMessage::Utilisation { .. }
            | SweepMessage::Onboarding { .. } => Ok(()),
            SweepMessage::Finish { run_id } => {
                report::alert(
                    context,
                    &format!("Licence sweep {run_id} could not be finished"),
                    &format!(
                        "Writing the report of run {run_id} failed: {error}\n\
                         The message is in the sweep's dead-letter queue (docs/runbooks/licence-sweep.md)."
                    ),
                )
                .await?;
                Ok(())
            }
        }
    }
}
