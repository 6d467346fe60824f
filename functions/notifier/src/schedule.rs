//! The reminders' schedule. Each firing, at its scheduled time `t`:
//!
//! - reminds the organisers of the confirmed bookings starting in `[t + before, t + before +
//!   every)`: consecutive firings cover consecutive windows, so each booking is reminded once;
//!   a reminder's id is its booking's and version's, so a firing delivered twice (EventBridge
//!   may) records and mails nothing twice;
//! - sends again the notices still in the outbox a grace period after their change (their
//!   first send failed, or its instance died before it).
//!
//! Tenants are read from the tenant index and their bookings by start (`gsi3`): one query per
//! tenant per firing.

use jiff::{SignedDuration, Timestamp};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use steward_domain::booking::notice::{Notice, NoticeKind};
use steward_domain::booking::rules::Slot;
use steward_domain::booking::status::BookingStatus;
use steward_domain::licensing::sweep::TENANT_SHARDS;
use steward_kit::runtime::{Error, Function};
use steward_store::StoreError;
use steward_store::bookings::{BookingStore, Listing};
use steward_store::notices::{NoticeQueue, NoticeStore};
use steward_store::rooms::RoomStore;
use steward_store::sweep::SweepStore;

/// A change's notice is sent again once it has been in the outbox this long.
const OUTBOX_GRACE: SignedDuration = SignedDuration::from_secs(120);

/// Bookings reminded per tenant per firing: more is a tenant booking a room a second.
const MAX_PER_TENANT: usize = 1_000;

pub struct Reminders {
    pub(crate) tenants: SweepStore,
    pub(crate) bookings: BookingStore,
    pub(crate) rooms: RoomStore,
    pub(crate) notices: NoticeStore,
    pub(crate) queue: NoticeQueue,
    pub(crate) before: SignedDuration,
    pub(crate) every: SignedDuration,
}

impl Function for Reminders {
    type Event = Value;
    type Output = Value;

    async fn call(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let at = steward_kit::runtime::scheduled_time(&event.payload);
        let resent = self.resend(at).await?;
        let reminded = self.remind(at).await?;
        tracing::info!(%at, reminded, resent, "reminders run");
        Ok(json!({ "at": at, "reminded": reminded, "resent": resent }))
    }
}

impl Reminders {
    async fn resend(&self, at: Timestamp) -> Result<usize, StoreError> {
        let stuck = self.notices.undelivered(at - OUTBOX_GRACE, 100).await?;
        if !stuck.is_empty() {
            tracing::warn!(
                count = stuck.len(),
                "notices left in the outbox; sending them again"
            );
            self.queue.send(&stuck).await?;
        }
        Ok(stuck.len())
    }

    async fn remind(&self, at: Timestamp) -> Result<usize, StoreError> {
        // Reminded of: the bookings starting in the window after `before`, `every` long.
        let window = Slot {
            start: at + self.before,
            end: at + self.before + self.every,
        };
        let mut reminded = 0;
        for shard in 0..TENANT_SHARDS {
            let mut after: Option<String> = None;
            loop {
                let (tenant_ids, next) = self
                    .tenants
                    .tenant_ids(shard, after.as_deref(), 100)
                    .await?;
                for tenant_id in &tenant_ids {
                    reminded += self.remind_tenant(tenant_id, window, at).await?;
                }
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(reminded)
    }

    async fn remind_tenant(
        &self,
        tenant_id: &str,
        window: Slot,
        at: Timestamp,
    ) -> Result<usize, StoreError> {
        let (bookings, _) = self
            .bookings
            .all(tenant_id, Listing::Tenant, window, MAX_PER_TENANT)
            .await?;
        let due: Vec<_> = bookings
            .into_iter()
            .filter(|b| b.status == BookingStatus::Confirmed)
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let rooms = self.rooms.of_bookings(tenant_id, &due).await?;
        let notices: Vec<Notice> = due
            .iter()
            .map(|booking| Notice {
                notice_id: format!("rm_{}_{}", booking.booking_id, booking.version),
                tenant_id: tenant_id.to_owned(),
                kind: NoticeKind::Reminder,
                organiser: booking.organiser.clone(),
                actor: booking.organiser.clone(),
                // The firing's time, not the clock's: a firing delivered twice is one notice.
                at,
                room_id: booking.room_id.clone(),
                room: rooms
                    .iter()
                    .find(|room| room.room_id == booking.room_id)
                    .map(|room| room.room.clone()),
                bookings: vec![booking.clone()],
            })
            .collect();
        self.queue.send(&notices).await?;
        Ok(notices.len())
    }
}
