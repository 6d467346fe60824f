//! The one way a booking is written (SPEC §C: no double booking, ever, on every path). Every
//! path that places, moves or lets go of a booking (create, move, resize, extend, end, cancel,
//! approve, reject, series, CSV import, walk-up, check-in, offline reinstatement, release)
//! describes its change as a [`Plan`] of the room as read, and [`Calendar::write`] checks it
//! (conflicts with buffers on both sides, closures, the member's quota, the room's required
//! credentials) and commits it in one transaction conditioned on every day and the room it
//! read. A writer that lost a race reads again and sees the winner.
//!
//! New bookings are built from what was asked by [`BookingRequest`]; permissions are decided
//! before the write ([`Authority`]) and passed in. Refusals are [`CalendarError`]s, mapped once
//! to the API's problems.

mod credentials;
mod engine;
mod error;
mod plan;
mod quota;
mod request;
pub mod view;

use steward_kit::config::ConfigError;
use steward_store::Table;
use steward_store::bookings::BookingStore;
use steward_store::credentials::CredentialStore;
use steward_store::notices::NoticeQueue;

pub use credentials::Holdings;
pub use engine::{RoomAt, commit};
pub use error::{CalendarError, obstacle, taken_detail};
pub use plan::{Holder, OnConflict, Placement, Plan, Settled, Skipped};
pub use request::{Authority, BookingRequest, Times, bookable, instant, waived};

/// Where booking notices go (template.yaml).
#[derive(Debug, Clone, serde::Deserialize)]
struct NoticeConfig {
    notifications_queue_url: String,
}

/// A tenant's room calendars, as one instance of a function writes them.
#[derive(Clone)]
pub struct Calendar {
    bookings: BookingStore,
    credentials: CredentialStore,
    notices: NoticeQueue,
}

impl Calendar {
    /// The calendars kept in `table`, telling the people concerned through `notices`.
    pub fn new(table: &Table, notices: NoticeQueue) -> Self {
        Self {
            bookings: BookingStore::new(table.clone()),
            credentials: CredentialStore::new(table.clone()),
            notices,
        }
    }

    /// The calendars of `instance`'s table, telling people through the notifications queue its
    /// environment names (NOTIFICATIONS_QUEUE_URL).
    pub fn of(instance: &steward_access::Instance<'_>) -> Result<Self, ConfigError> {
        let notices: NoticeConfig = instance.parse()?;
        Ok(Self::new(
            &instance.table(),
            NoticeQueue::new(instance.aws, notices.notifications_queue_url),
        ))
    }

    /// Sends a committed write's notices on. Their outbox entries were written with the
    /// bookings, so a send that fails here is made again by the schedule, never lost.
    async fn announce(&self, notices: &[steward_domain::booking::notice::Notice]) {
        if let Err(error) = self.notices.send(notices).await {
            tracing::warn!(%error, count = notices.len(), "notices not sent; the outbox keeps them");
        }
    }
}
