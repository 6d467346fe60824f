//! Rooms: `T#<tenant>` / `ROOM#<id>`, counted against the licence's room limit by a
//! conditional update of the tenant's `licence.rooms_used` in the same transaction, so
//! concurrent creations never pass it. An archived room moves to `ARCHIVED_ROOM#<id>` (its
//! bookings' history keeps its name) and gives its place back.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use steward_domain::booking::closure::Closure;
use steward_domain::booking::room::Room;

use crate::attributes::n;
use crate::audit::AuditEntry;
use crate::write::tenant_pk;
use crate::write::{failed_condition, key, put, take_licence_place, update};
use crate::{PageKey, Query, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    pub pk: String,
    pub sk: String,
    pub room_id: String,
    pub tenant_id: String,
    #[serde(flatten)]
    pub room: Room,
    /// When the room cannot be booked; part of the room so that a booking's check and a
    /// closure's creation are ordered by the room's version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<Closure>,
    /// Bumped by every change: the room's ETag.
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
}

impl RoomRecord {
    pub fn key(tenant_id: &str, room_id: &str) -> (String, String) {
        (tenant_pk(tenant_id), format!("ROOM#{room_id}"))
    }

    /// The next version of the room, to be changed and written over this one's.
    pub fn revised(&self) -> Self {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = jiff::Timestamp::now().to_string();
        next
    }

    pub fn new(tenant_id: &str, room_id: &str, room: Room, at: &str) -> Self {
        Self {
            pk: tenant_pk(tenant_id),
            sk: format!("ROOM#{room_id}"),
            room_id: room_id.into(),
            tenant_id: tenant_id.into(),
            room,
            closures: Vec::new(),
            version: 1,
            created_at: at.into(),
            updated_at: at.into(),
            archived_at: None,
        }
    }
}

/// Why a room was not written.
#[derive(Debug, thiserror::Error)]
pub enum RoomWriteError {
    #[error("the licence's room limit is reached")]
    LimitReached,
    #[error("the room does not exist")]
    NotFound,
    #[error("the room changed since version {0}")]
    VersionMismatch(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct RoomStore {
    table: Table,
}

impl RoomStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Creates a room and counts it; with `limit`, only while fewer rooms than it are counted.
    pub async fn create(
        &self,
        record: &RoomRecord,
        limit: Option<u32>,
        audit: &AuditEntry,
    ) -> Result<(), RoomWriteError> {
        let table = self.table.name();
        let items = vec![
            take_licence_place(table, &record.pk, "rooms_used", limit)?,
            put(record, table, Some("attribute_not_exists(pk)"))?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if failed_condition(&error) == Some(0) => Err(RoomWriteError::LimitReached),
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        room_id: &str,
    ) -> Result<Option<RoomRecord>, StoreError> {
        self.table
            .get(tenant_pk(tenant_id), format!("ROOM#{room_id}"), true)
            .await
    }

    /// The rooms of `room_ids` that exist (archived ones are not among them), consistent
    /// reads, batched.
    pub async fn many(
        &self,
        tenant_id: &str,
        room_ids: &[&str],
    ) -> Result<Vec<RoomRecord>, StoreError> {
        let keys = room_ids.iter().map(|id| RoomRecord::key(tenant_id, id));
        self.table
            .get_many(keys, &format!("a room of {tenant_id}"))
            .await
    }

    /// The rooms `bookings` are in, each read once (archived ones are not among them).
    pub async fn of_bookings(
        &self,
        tenant_id: &str,
        bookings: &[steward_domain::booking::entity::Booking],
    ) -> Result<Vec<RoomRecord>, StoreError> {
        let mut ids: Vec<&str> = bookings.iter().map(|b| b.room_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.many(tenant_id, &ids).await
    }

    /// Every room of the tenant (archived ones are not among them).
    pub async fn all(&self, tenant_id: &str) -> Result<Vec<RoomRecord>, StoreError> {
        let partition = tenant_pk(tenant_id);
        let query = Query::partition(&partition).with_prefix("ROOM#");
        Ok(self.table.query_up_to(query, usize::MAX).await?.0)
    }

    pub async fn page(
        &self,
        tenant_id: &str,
        limit: u32,
        start: Option<PageKey>,
    ) -> Result<(Vec<RoomRecord>, Option<PageKey>), StoreError> {
        let partition = tenant_pk(tenant_id);
        self.table
            .query_page(
                Query::partition(&partition).with_prefix("ROOM#"),
                limit,
                start,
            )
            .await
    }

    /// Replaces a room's description if it is still at `version`.
    pub async fn update(
        &self,
        record: &RoomRecord,
        version: u64,
        audit: &AuditEntry,
    ) -> Result<(), RoomWriteError> {
        let table = self.table.name();
        let item: crate::attributes::Item =
            serde_dynamo::to_item(record).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let replace = aws_sdk_dynamodb::types::Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(pk) AND version = :version")
            .expression_attribute_values(":version", n(version))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        let items = vec![
            TransactWriteItem::builder().put(replace).build(),
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if failed_condition(&error) == Some(0) => {
                match self.get(&record.tenant_id, &record.room_id).await? {
                    Some(_) => Err(RoomWriteError::VersionMismatch(version)),
                    None => Err(RoomWriteError::NotFound),
                }
            }
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }

    /// Archives a room at `version`: moved aside, uncounted.
    pub async fn archive(
        &self,
        archived: &RoomRecord,
        version: u64,
        audit: &AuditEntry,
    ) -> Result<(), RoomWriteError> {
        let table = self.table.name();
        let remove = Delete::builder()
            .table_name(table)
            .set_key(Some(key(
                archived.pk.clone(),
                format!("ROOM#{}", archived.room_id),
            )))
            .condition_expression("version = :version")
            .expression_attribute_values(":version", n(version))
            .build()
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        let uncount = Update::builder()
            .table_name(table)
            .set_key(Some(key(archived.pk.clone(), "TENANT".into())))
            .update_expression("SET #l.rooms_used = #l.rooms_used - :one")
            .condition_expression("#l.rooms_used > :zero")
            .expression_attribute_names("#l", "licence")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .build();
        let mut moved = archived.clone();
        moved.sk = format!("ARCHIVED_ROOM#{}", archived.room_id);
        let items = vec![
            TransactWriteItem::builder().delete(remove).build(),
            update(uncount)?,
            put(&moved, table, None)?,
            put(audit, table, None)?,
        ];
        match self.table.transact(items).await {
            Ok(()) => Ok(()),
            Err(error) if failed_condition(&error) == Some(0) => {
                match self.get(&archived.tenant_id, &archived.room_id).await? {
                    Some(_) => Err(RoomWriteError::VersionMismatch(version)),
                    None => Err(RoomWriteError::NotFound),
                }
            }
            Err(error) => Err(StoreError::from_sdk(error).into()),
        }
    }
}
