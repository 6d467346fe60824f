//! The nightly licence sweep's items (SPEC §F, docs/data-model.md rows 28–37): runs, their
//! per-shard progress, one result per (run, tenant), and the expiry notices sent.
//!
//! A run fans out over the tenant index's shards. Each shard counts the tenants its pages
//! enqueued and the results recorded; the shard whose last count meets closes itself, and the
//! run whose last shard closes is finished, each step by a conditional write, so exactly one
//! worker finishes a run however the messages race or repeat.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use steward_authz::LicenceStatus;
use steward_domain::licensing::sweep::{Outcome, TENANT_SHARDS, Tally};

use crate::attributes::{Item, n, s};
use crate::audit::AuditEntry;
use crate::identity::tenant_index_partition;
use crate::write::tenant_pk;
use crate::write::{TransactError, failed_condition, key, put, update};
use crate::{PageKey, Query, StoreError, Table};

const RUNS: &str = "SWEEP";
/// Results are kept for 90 days; run summaries for good.
const RESULT_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    /// Every tenant is counted; the report is being written.
    Finishing,
    Complete,
    /// `LICENSE_VALIDATION_ENABLED` was off: recorded, nothing else done.
    Skipped,
}

/// Where a run's report went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLocation {
    pub bucket: String,
    pub json_key: String,
    pub csv_key: String,
}

/// One sweep run: `SWEEP` / `RUN#<run id>` (ids sort by start time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub pk: String,
    pub sk: String,
    pub run_id: String,
    /// `schedule` or `operator`.
    pub trigger: String,
    pub requested_by: Option<String>,
    pub started_at: String,
    /// The instant every tenant of the run is assessed at (Unix seconds), so a message
    /// processed twice reaches the same verdict.
    pub as_of: i64,
    pub status: RunStatus,
    pub shards: u8,
    #[serde(default)]
    pub shards_done: u8,
    /// Pages of the tenant index that kept failing: their tenants were never validated.
    #[serde(default)]
    pub pages_failed: u64,
    pub self_healing: bool,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub summary: Option<Tally>,
    #[serde(default)]
    pub report: Option<ReportLocation>,
}

impl RunRecord {
    pub fn new(
        run_id: &str,
        trigger: &str,
        requested_by: Option<&str>,
        started_at: &str,
        as_of: i64,
        self_healing: bool,
    ) -> Self {
        Self {
            pk: RUNS.into(),
            sk: format!("RUN#{run_id}"),
            run_id: run_id.into(),
            trigger: trigger.into(),
            requested_by: requested_by.map(Into::into),
            started_at: started_at.into(),
            as_of,
            status: RunStatus::Running,
            shards: TENANT_SHARDS,
            shards_done: 0,
            pages_failed: 0,
            self_healing,
            finished_at: None,
            duration_ms: None,
            summary: None,
            report: None,
        }
    }
}

/// A shard's progress within a run: `SWEEP#<run>` / `SHARD#<nn>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardProgress {
    pub pk: String,
    pub sk: String,
    /// Pages of the tenant index not yet counted (1 at the start: the first page).
    pub pages_pending: i64,
    pub enqueued: u64,
    /// Results recorded, assessed or failed.
    pub done: u64,
    #[serde(default)]
    pub closed: bool,
}

impl ShardProgress {
    fn new(run_id: &str, shard: u8) -> Self {
        Self {
            pk: run_partition(run_id),
            sk: shard_key(shard),
            pages_pending: 1,
            enqueued: 0,
            done: 0,
            closed: false,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.pages_pending == 0 && self.done >= self.enqueued
    }
}

/// What the sweep found for one tenant: `SWEEP#<run>#<nn>` / `TENANT#<tenant>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantResult {
    pub pk: String,
    pub sk: String,
    pub run_id: String,
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub outcome: Outcome,
    pub recorded_at: String,
    pub expires_at: i64,
}

impl TenantResult {
    pub fn new(
        run_id: &str,
        shard: u8,
        tenant_id: &str,
        tenant_name: Option<&str>,
        outcome: Outcome,
        recorded_at: &str,
        now: i64,
    ) -> Self {
        Self {
            pk: result_partition(run_id, shard),
            sk: format!("TENANT#{tenant_id}"),
            run_id: run_id.into(),
            tenant_id: tenant_id.into(),
            tenant_name: tenant_name.map(Into::into),
            outcome,
            recorded_at: recorded_at.into(),
            expires_at: now + RESULT_DAYS * 86_400,
        }
    }
}

/// An expiry notice: `T#<tenant>` / `NOTICE#<expiry>#<days>`. Claimed before it is sent and
/// marked after, so a later run never sends it again; only the claiming run may resend one
/// that never got marked (a crash between sending and marking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub pk: String,
    pub sk: String,
    pub run_id: String,
    pub days: u32,
    pub claimed_at: String,
    #[serde(default)]
    pub sent_at: Option<String>,
    pub expires_at: i64,
}

fn run_partition(run_id: &str) -> String {
    format!("SWEEP#{run_id}")
}

fn shard_key(shard: u8) -> String {
    format!("SHARD#{shard:02}")
}

fn result_partition(run_id: &str, shard: u8) -> String {
    format!("SWEEP#{run_id}#{shard:02}")
}

fn notice_prefix(licence_expires_at: i64) -> String {
    format!("NOTICE#{licence_expires_at}#")
}

fn value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Failed(Box::new(e)))
}

#[derive(Clone, Debug)]
pub struct SweepStore {
    table: Table,
}

impl SweepStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Starts a run: its record and one progress item per shard, with the operator's audit
    /// entry if an operator asked. `false` when a run of that id exists (nothing written).
    pub async fn start(
        &self,
        run: &RunRecord,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        let mut items = vec![put(run, table, Some("attribute_not_exists(pk)"))?];
        if run.status == RunStatus::Running {
            for shard in 0..run.shards {
                items.push(put(&ShardProgress::new(&run.run_id, shard), table, None)?);
            }
        }
        if let Some(audit) = audit {
            items.push(put(audit, table, None)?);
        }
        self.transact_once(items).await
    }

    pub async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.table
            .get(RUNS.into(), format!("RUN#{run_id}"), true)
            .await
    }

    /// Runs, newest first.
    pub async fn runs(
        &self,
        limit: u32,
        start: Option<PageKey>,
    ) -> Result<(Vec<RunRecord>, Option<PageKey>), StoreError> {
        let query = Query::partition(RUNS).with_prefix("RUN#").descending();
        self.table.query_page(query, limit, start).await
    }

    /// One page of a shard of the tenant index: tenant ids after `after`, and the last id
    /// when more may follow.
    pub async fn tenant_ids(
        &self,
        shard: u8,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<String>, Option<String>), StoreError> {
        let (items, next) = self
            .index_page(shard, after, limit, Some("tenant_id, gsi1sk"))
            .await?;
        let ids = items
            .into_iter()
            .filter_map(|mut item| match item.remove("tenant_id") {
                Some(AttributeValue::S(id)) => Some(id),
                _ => None,
            })
            .collect();
        Ok((ids, next))
    }

    /// The same page, whole tenants: each, or why it does not read as one.
    pub async fn tenant_page(
        &self,
        shard: u8,
        after: Option<&str>,
        limit: u32,
    ) -> Result<
        (
            Vec<Result<crate::identity::TenantRecord, String>>,
            Option<String>,
        ),
        StoreError,
    > {
        let (items, next) = self.index_page(shard, after, limit, None).await?;
        let tenants = items
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(|e| e.to_string()))
            .collect();
        Ok((tenants, next))
    }

    /// Up to `limit` items of a shard of the tenant index after tenant `after` (only the
    /// attributes `projection` names, if it names any: it must name `gsi1sk`), and the last
    /// tenant id when more may follow: a cursor that fits in a queue message.
    async fn index_page(
        &self,
        shard: u8,
        after: Option<&str>,
        limit: u32,
        projection: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let partition = tenant_index_partition(shard);
        let start = after.map(|tenant_id| {
            Item::from([
                ("pk".to_owned(), s(tenant_pk(tenant_id))),
                ("sk".to_owned(), s("TENANT")),
                ("gsi1pk".to_owned(), s(&partition)),
                ("gsi1sk".to_owned(), s(tenant_id)),
            ])
        });
        let output = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :shard")
            .expression_attribute_values(":shard", s(&partition))
            .set_projection_expression(projection.map(str::to_owned))
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let more = output.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let items = output.items.unwrap_or_default();
        let next = more
            .then(|| match items.last().and_then(|item| item.get("gsi1sk")) {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .flatten();
        Ok((items, next))
    }

    /// Counts one page of a shard once: the tenants it enqueued, and the page itself (a next
    /// page, if `continues`, takes its place). A page counted before is not counted again.
    pub async fn count_page(
        &self,
        run_id: &str,
        shard: u8,
        page: &str,
        enqueued: u64,
        continues: bool,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        #[derive(Serialize)]
        struct PageMarker {
            pk: String,
            sk: String,
        }
        let marker = PageMarker {
            pk: run_partition(run_id),
            sk: format!("PAGE#{shard:02}#{page}"),
        };
        let progress = Update::builder()
            .table_name(table)
            .set_key(Some(key(run_partition(run_id), shard_key(shard))))
            .update_expression("ADD enqueued :enqueued, pages_pending :pages")
            .expression_attribute_values(":enqueued", n(enqueued))
            .expression_attribute_values(":pages", n(if continues { 0 } else { -1 }))
            .build();
        let items = vec![
            put(&marker, table, Some("attribute_not_exists(pk)"))?,
            update(progress)?,
        ];
        self.transact_once(items).await.map(|_| ())
    }

    /// Counts a page that kept failing as done with nothing enqueued, and as failed on the run.
    pub async fn page_failed(&self, run_id: &str, shard: u8, page: &str) -> Result<(), StoreError> {
        let table = self.table.name();
        #[derive(Serialize)]
        struct PageMarker {
            pk: String,
            sk: String,
            failed: bool,
        }
        let marker = PageMarker {
            pk: run_partition(run_id),
            sk: format!("PAGE#{shard:02}#{page}"),
            failed: true,
        };
        let progress = Update::builder()
            .table_name(table)
            .set_key(Some(key(run_partition(run_id), shard_key(shard))))
            .update_expression("ADD pages_pending :minus")
            .expression_attribute_values(":minus", n(-1))
            .build();
        let run = Update::builder()
            .table_name(table)
            .set_key(Some(key(RUNS.into(), format!("RUN#{run_id}"))))
            .update_expression("ADD pages_failed :one")
            .expression_attribute_values(":one", n(1))
            .build();
        let items = vec![
            put(&marker, table, Some("attribute_not_exists(pk)"))?,
            update(progress)?,
            update(run)?,
        ];
        self.transact_once(items).await.map(|_| ())
    }

    /// Records a tenant's result once and counts it; `false` if the run already has one.
    pub async fn record(&self, result: &TenantResult, shard: u8) -> Result<bool, StoreError> {
        let table = self.table.name();
        let progress = Update::builder()
            .table_name(table)
            .set_key(Some(key(run_partition(&result.run_id), shard_key(shard))))
            .update_expression("ADD done :one")
            .expression_attribute_values(":one", n(1))
            .build();
        let items = vec![
            put(result, table, Some("attribute_not_exists(pk)"))?,
            update(progress)?,
        ];
        self.transact_once(items).await
    }

    pub async fn result(
        &self,
        run_id: &str,
        shard: u8,
        tenant_id: &str,
    ) -> Result<Option<TenantResult>, StoreError> {
        self.table
            .get(
                result_partition(run_id, shard),
                format!("TENANT#{tenant_id}"),
                true,
            )
            .await
    }

    /// One page of a shard's results.
    pub async fn results(
        &self,
        run_id: &str,
        shard: u8,
        start: Option<PageKey>,
    ) -> Result<(Vec<TenantResult>, Option<PageKey>), StoreError> {
        let partition = result_partition(run_id, shard);
        self.table
            .query_page(Query::partition(&partition), 500, start)
            .await
    }

    pub async fn progress(&self, run_id: &str, shard: u8) -> Result<ShardProgress, StoreError> {
        self.table
            .get(run_partition(run_id), shard_key(shard), true)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("{}/{}", run_partition(run_id), shard_key(shard)),
                problem: "a run without its shard progress".into(),
            })
    }

    /// Closes a shard whose counts have met, counting it on the run; `Some(run)` when this
    /// call closed the run's last shard and moved the run to `finishing` (exactly one caller
    /// ever gets it), `None` otherwise.
    pub async fn close_shard(
        &self,
        run_id: &str,
        shard: u8,
    ) -> Result<Option<RunRecord>, StoreError> {
        let table = self.table.name();
        let close = Update::builder()
            .table_name(table)
            .set_key(Some(key(run_partition(run_id), shard_key(shard))))
            .update_expression("SET closed = :yes")
            .condition_expression(
                "attribute_exists(pk) AND closed = :no AND pages_pending = :zero AND done >= enqueued",
            )
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":zero", n(0))
            .build();
        let count = Update::builder()
            .table_name(table)
            .set_key(Some(key(RUNS.into(), format!("RUN#{run_id}"))))
            .update_expression("ADD shards_done :one")
            .expression_attribute_values(":one", n(1))
            .build();
        if !self
            .transact_once(vec![update(close)?, update(count)?])
            .await?
        {
            return Ok(None);
        }
        let finishing = self
            .table
            .client()
            .update_item()
            .table_name(table)
            .set_key(Some(key(RUNS.into(), format!("RUN#{run_id}"))))
            .update_expression("SET #status = :finishing")
            .condition_expression("#status = :running AND shards_done = shards")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":finishing", value(&RunStatus::Finishing)?)
            .expression_attribute_values(":running", value(&RunStatus::Running)?)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match finishing {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                serde_dynamo::from_item(item)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        key: format!("RUN#{run_id}"),
                        problem: e.to_string(),
                    })
            }
            Err(error) if is_condition_failure(&error) => Ok(None),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Records a finished run's summary and report.
    pub async fn complete(
        &self,
        run_id: &str,
        summary: &Tally,
        report: &ReportLocation,
        finished_at: &str,
        duration_ms: u64,
    ) -> Result<(), StoreError> {
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(RUNS.into(), format!("RUN#{run_id}"))))
            .update_expression(
                "SET #status = :complete, summary = :summary, report = :report, \
                 finished_at = :at, duration_ms = :ms",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":complete", value(&RunStatus::Complete)?)
            .expression_attribute_values(":summary", value(summary)?)
            .expression_attribute_values(":report", value(report)?)
            .expression_attribute_values(":at", s(finished_at))
            .expression_attribute_values(":ms", n(duration_ms))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// One page of a shard of the tenant index, whole tenant records (the aggregates); an
    /// item that does not read as a tenant is answered as its problem, not as a failed page.
    #[allow(clippy::type_complexity)]
    pub async fn tenants(
        &self,
        shard: u8,
        start: Option<PageKey>,
    ) -> Result<
        (
            Vec<Result<crate::identity::TenantRecord, String>>,
            Option<PageKey>,
        ),
        StoreError,
    > {
        let partition = tenant_index_partition(shard);
        let (items, next) = self
            .table
            .query_page::<serde_json::Value>(
                Query::partition(&partition).on(crate::Index::Gsi1),
                500,
                start,
            )
            .await?;
        let tenants = items
            .into_iter()
            .map(|item| serde_json::from_value(item).map_err(|e| e.to_string()))
            .collect();
        Ok((tenants, next))
    }

    /// Stores a computed view (`VIEW` / `<name>`), replacing the last one.
    pub async fn save_view<T: Serialize>(&self, name: &str, view: &T) -> Result<(), StoreError> {
        #[derive(Serialize)]
        struct Stored<'a, T> {
            pk: &'static str,
            sk: &'a str,
            view: &'a T,
        }
        self.table
            .put(&Stored {
                pk: "VIEW",
                sk: name,
                view,
            })
            .await
    }

    pub async fn view<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        #[derive(Deserialize)]
        struct Stored<T> {
            view: T,
        }
        let stored: Option<Stored<T>> = self.table.get("VIEW".into(), name.into(), false).await?;
        Ok(stored.map(|s| s.view))
    }

    /// Writes an audit entry on its own (an operator's action that changes no item).
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.table.put(entry).await
    }

    /// The notices already sent for a licence's current expiry, by days before it.
    pub async fn notices_sent(
        &self,
        tenant_id: &str,
        licence_expires_at: i64,
    ) -> Result<BTreeSet<u32>, StoreError> {
        let partition = tenant_pk(tenant_id);
        let prefix = notice_prefix(licence_expires_at);
        let (notices, _) = self
            .table
            .query_page::<NoticeRecord>(Query::partition(&partition).with_prefix(&prefix), 10, None)
            .await?;
        Ok(notices
            .into_iter()
            .filter(|notice| notice.sent_at.is_some())
            .map(|notice| notice.days)
            .collect())
    }

    /// Claims a notice for this run; `false` if another run holds it or it was sent.
    pub async fn claim_notice(
        &self,
        tenant_id: &str,
        licence_expires_at: i64,
        days: u32,
        run_id: &str,
        claimed_at: &str,
    ) -> Result<bool, StoreError> {
        let notice = NoticeRecord {
            pk: tenant_pk(tenant_id),
            sk: format!("{}{days:02}", notice_prefix(licence_expires_at)),
            run_id: run_id.into(),
            days,
            claimed_at: claimed_at.into(),
            sent_at: None,
            expires_at: licence_expires_at + RESULT_DAYS * 86_400,
        };
        let item: Item =
            serde_dynamo::to_item(&notice).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let claimed = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (attribute_not_exists(sent_at) AND run_id = :run)",
            )
            .expression_attribute_values(":run", s(run_id))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    pub async fn mark_notice_sent(
        &self,
        tenant_id: &str,
        licence_expires_at: i64,
        days: u32,
        sent_at: &str,
    ) -> Result<(), StoreError> {
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(
                tenant_pk(tenant_id),
                format!("{}{days:02}", notice_prefix(licence_expires_at)),
            )))
            .update_expression("SET sent_at = :at")
            .expression_attribute_values(":at", s(sent_at))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Moves a licence to `to` if it is still `from` with the same expiry, with the audit
    /// entry; `false` when it has moved meanwhile (an operator renewed it, another run).
    pub async fn transition(
        &self,
        tenant_id: &str,
        from: LicenceStatus,
        to: LicenceStatus,
        licence_expires_at: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key(tenant_pk(tenant_id), "TENANT".into())))
            .update_expression("SET #l.#status = :to")
            .condition_expression("#l.#status = :from AND #l.expires_at = :expires")
            .expression_attribute_names("#l", "licence")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", value(&to)?)
            .expression_attribute_values(":from", value(&from)?)
            .expression_attribute_values(":expires", value(&licence_expires_at)?)
            .build();
        let items = vec![update(change)?, put(audit, self.table.name(), None)?];
        self.transact_once(items).await
    }

    /// Sets the seat counter to a recount if it still holds what the sweep read.
    pub async fn recount_seats(
        &self,
        tenant_id: &str,
        from: u32,
        to: u32,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let change = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key(tenant_pk(tenant_id), "TENANT".into())))
            .update_expression("SET #l.seats_used = :to")
            .condition_expression("#l.seats_used = :from")
            .expression_attribute_names("#l", "licence")
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":from", n(from))
            .build();
        let items = vec![update(change)?, put(audit, self.table.name(), None)?];
        self.transact_once(items).await
    }

    /// Marks pending invitations past their expiry `expired` (the seat recount already leaves
    /// them out), with one audit entry. Each is conditioned on still being pending and expired.
    pub async fn expire_invitations(
        &self,
        tenant_id: &str,
        invitation_ids: &[String],
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let table = self.table.name();
        // A transaction holds 100 items: the audit entry and up to 99 invitations; a tenant
        // with more expired ones has the rest expired by the next run.
        let mut items = Vec::new();
        for id in invitation_ids.iter().take(99) {
            let change = Update::builder()
                .table_name(table)
                .set_key(Some(key(tenant_pk(tenant_id), format!("INVITE#{id}"))))
                .update_expression("SET #status = :expired")
                .condition_expression("#status = :pending AND expires_at <= :now")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":expired", s("expired"))
                .expression_attribute_values(":pending", s("pending"))
                .expression_attribute_values(":now", n(now))
                .build();
            items.push(update(change)?);
        }
        if items.is_empty() {
            return Ok(true);
        }
        items.push(put(audit, table, None)?);
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            // One of them moved meanwhile (another run expired it): the next run retries.
            Err(error) if failed_condition(&error).is_some() => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// How many items of a tenant's partition begin with `prefix` (rooms, terminals).
    pub async fn count(&self, tenant_id: &str, prefix: &str) -> Result<u32, StoreError> {
        self.table.count(&tenant_pk(tenant_id), prefix).await
    }

    /// Runs a transaction whose first item's condition makes it happen once: `false` when
    /// that condition failed (it happened before), any other failure an error.
    async fn transact_once(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        match self.table.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if first_condition_failed(&error) => Ok(false),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }
}

fn first_condition_failed(error: &TransactError) -> bool {
    failed_condition(error) == Some(0)
}

fn is_condition_failure<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}
