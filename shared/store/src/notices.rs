//! Notices (SPEC §C, notifications): what a booking's change tells its people, on its way
//! through the outbox and the queue to the notifier, and then each member's in-app list.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | outbox entry, written in the booking's transaction | `OUTBOX#<shard 00–15>` | `<at>#<notice id>` |
//! | a member's notification | `T#<tenant>#USER#<member>#NOTICES` | `<at>#<notice id>` |
//! | how far the member has read | `T#<tenant>#USER#<member>#NOTICES` | `READ` |
//!
//! The outbox entry is what makes a notice survive a crash between the booking's commit and
//! the message's send: the notifier deletes it once the notice is delivered, and the schedule
//! sends again whatever is still there after a grace period.

use serde::{Deserialize, Serialize};
use steward_domain::booking::notice::{Notice, NoticeKind, NoticeMessage};
use steward_domain::licensing::sweep::{TENANT_SHARDS, shard_of};

use crate::error::is_condition_failure;
use crate::write::{key, put, put_if};
use crate::{Query, StoreError, Table};

/// Outbox partitions (the tenant index's count and hash): a burst of bookings spreads its
/// writes.
const OUTBOX_SHARDS: u8 = TENANT_SHARDS;

/// How long a member's notifications are kept (TTL).
pub const NOTICE_RETENTION_DAYS: i64 = 90;

fn outbox_shard(notice: &Notice) -> u8 {
    shard_of(&notice.notice_id)
}

fn sort_key(notice: &Notice) -> String {
    format!("{}#{}", notice.at, notice.notice_id)
}

fn outbox_pk(shard: u8) -> String {
    format!("OUTBOX#{shard:02}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OutboxEntry {
    pk: String,
    sk: String,
    /// As the queue carries it: what the schedule resends is the message as it was sent.
    notice: NoticeMessage,
    expires_at: i64,
}

/// The outbox entry of `notice`, as a transaction item.
pub(crate) fn outbox_put(
    notice: &Notice,
    table: &str,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let entry = OutboxEntry {
        pk: outbox_pk(outbox_shard(notice)),
        sk: sort_key(notice),
        notice: notice.clone().into(),
        // Left only if the notifier never got it: a week is long past any redrive.
        expires_at: jiff::Timestamp::now().as_second() + 7 * 86_400,
    };
    put(&entry, table, None)
}

/// One notification in a member's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRecord {
    pub pk: String,
    pub sk: String,
    pub notice_id: String,
    pub kind: NoticeKind,
    pub at: String,
    pub subject: String,
    pub summary: String,
    pub room_id: String,
    pub booking_ids: Vec<String>,
    /// When its email was accepted by SES (`None`: not yet, or the member has no address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailed_at: Option<String>,
    pub expires_at: i64,
}

impl NotificationRecord {
    pub fn new(
        tenant_id: &str,
        member: &str,
        notice: &Notice,
        subject: String,
        summary: String,
    ) -> Self {
        Self {
            pk: notices_pk(tenant_id, member),
            sk: sort_key(notice),
            notice_id: notice.notice_id.clone(),
            kind: notice.kind,
            at: notice.at.to_string(),
            subject,
            summary,
            room_id: notice.room_id.clone(),
            booking_ids: notice
                .bookings
                .iter()
                .map(|b| b.booking_id.clone())
                .collect(),
            mailed_at: None,
            expires_at: notice.at.as_second() + NOTICE_RETENTION_DAYS * 86_400,
        }
    }
}

fn notices_pk(tenant_id: &str, member: &str) -> String {
    format!("T#{tenant_id}#USER#{member}#NOTICES")
}

/// How far a member has read their notifications.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReadMarker {
    pk: String,
    sk: String,
    read_up_to: String,
}

/// What recording a notification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// New: its email is still to be sent.
    New,
    /// Recorded before, its email not sent yet (an earlier attempt failed).
    Unsent,
    /// Recorded and mailed before: a redelivery, nothing to do.
    Done,
}

#[derive(Clone, Debug)]
pub struct NoticeStore {
    table: Table,
}

impl NoticeStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Records `notification` in its member's list, once.
    pub async fn record(&self, notification: &NotificationRecord) -> Result<Recorded, StoreError> {
        let item =
            serde_dynamo::to_item(notification).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let written = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match written {
            Ok(_) => Ok(Recorded::New),
            Err(error) if is_condition_failure(&error) => {
                let mailed = error
                    .as_service_error()
                    .and_then(|e| match e {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed) => failed.item(),
                        _ => None,
                    })
                    .is_some_and(|old| old.contains_key("mailed_at"));
                Ok(if mailed {
                    Recorded::Done
                } else {
                    Recorded::Unsent
                })
            }
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Notes that `notification`'s email went out.
    pub async fn mailed(
        &self,
        notification: &NotificationRecord,
        at: &str,
    ) -> Result<(), StoreError> {
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(key(notification.pk.clone(), notification.sk.clone())))
            .update_expression("SET mailed_at = :at")
            .expression_attribute_values(":at", crate::attributes::s(at))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Takes the notice out of the outbox: delivered, or left to the dead-letter queue (gone
    /// already is fine).
    pub async fn remove_from_outbox(&self, notice: &Notice) -> Result<(), StoreError> {
        self.table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .set_key(Some(key(outbox_pk(outbox_shard(notice)), sort_key(notice))))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Notices of every outbox shard written before `before` and not delivered yet, at most
    /// `cap` a shard.
    pub async fn undelivered(
        &self,
        before: jiff::Timestamp,
        cap: usize,
    ) -> Result<Vec<Notice>, StoreError> {
        let last = format!("{before}#");
        let mut notices = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            let pk = outbox_pk(shard);
            let (entries, _) = self
                .table
                .query_up_to::<OutboxEntry>(Query::partition(&pk).between("0", &last), cap)
                .await?;
            notices.extend(entries.into_iter().map(|entry| entry.notice.into_notice()));
        }
        Ok(notices)
    }

    /// One page of a member's notifications, newest first, and how far they have read.
    pub async fn page(
        &self,
        tenant_id: &str,
        member: &str,
        limit: u32,
        start: Option<crate::PageKey>,
    ) -> Result<
        (
            Vec<NotificationRecord>,
            Option<crate::PageKey>,
            Option<String>,
        ),
        StoreError,
    > {
        let pk = notices_pk(tenant_id, member);
        // Notice sort keys begin with a year; the marker's "READ" sorts after them all.
        let query = Query::partition(&pk).between("0", "9~").descending();
        let (page, marker) = tokio::try_join!(
            self.table
                .query_page::<NotificationRecord>(query, limit, start),
            self.table
                .get::<ReadMarker>(pk.clone(), "READ".into(), true),
        )?;
        let (items, next) = page;
        Ok((items, next, marker.map(|m| m.read_up_to)))
    }

    /// Marks a member's notifications up to `up_to` read (never moving the mark back).
    pub async fn read_up_to(
        &self,
        tenant_id: &str,
        member: &str,
        up_to: &str,
        audit: &crate::audit::AuditEntry,
    ) -> Result<(), StoreError> {
        let table = self.table.name();
        let marker = ReadMarker {
            pk: notices_pk(tenant_id, member),
            sk: "READ".into(),
            read_up_to: up_to.to_owned(),
        };
        let put_marker = put_if(
            &marker,
            table,
            "attribute_not_exists(pk) OR read_up_to < :up_to",
            &[(":up_to", crate::attributes::s(up_to))],
        )?;
        match self
            .table
            .transact(vec![put_marker, put(audit, table, None)?])
            .await
        {
            Ok(()) => Ok(()),
            // Read that far already: nothing moves, and nothing is audited.
            Err(error) if crate::write::failed_condition(&error) == Some(0) => Ok(()),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }
}

/// The notifier's queue, as the writers of notices see it.
#[cfg(feature = "sqs")]
#[derive(Clone, Debug)]
pub struct NoticeQueue {
    queue: crate::queue::Queue,
}

#[cfg(feature = "sqs")]
impl NoticeQueue {
    pub fn new(config: &crate::SdkConfig, url: impl Into<String>) -> Self {
        Self {
            queue: crate::queue::Queue::new(config, url),
        }
    }

    /// Sends each notice as one message, of the message version this build writes.
    pub async fn send(&self, notices: &[Notice]) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        let bodies = notices
            .iter()
            .map(|notice| serde_json::to_string(&NoticeMessage::from(notice.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        self.queue.send_all(&bodies).await
    }
}
