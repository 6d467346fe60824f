//! A tenant's reports (SPEC §C utilisation), computed by the views' refresh and read as they
//! were stored: `T#<tenant>`/`VIEW#UTILISATION`.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::Slot;
use steward_domain::booking::utilisation::{
    BookingFacts, RoomFacts, UtilisationReport, utilisation,
};

use crate::bookings::{BookingStore, Listing};
use crate::rooms::RoomStore;
use crate::write::tenant_pk;
use crate::{StoreError, Table};

/// Bookings read for one report: more than a busy tenant books in a month.
pub const MAX_BOOKINGS: usize = 50_000;

const UTILISATION: &str = "VIEW#UTILISATION";

/// The utilisation as last computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUtilisation {
    pub computed_at: String,
    pub utilisation: UtilisationReport,
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    pk: String,
    sk: String,
    #[serde(flatten)]
    stored: StoredUtilisation,
}

#[derive(Clone, Debug)]
pub struct ReportStore {
    table: Table,
}

impl ReportStore {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn save_utilisation(
        &self,
        tenant_id: &str,
        stored: &StoredUtilisation,
    ) -> Result<(), StoreError> {
        self.table
            .put(&Item {
                pk: tenant_pk(tenant_id),
                sk: UTILISATION.into(),
                stored: stored.clone(),
            })
            .await
    }

    pub async fn utilisation(
        &self,
        tenant_id: &str,
    ) -> Result<Option<StoredUtilisation>, StoreError> {
        let item: Option<Item> = self
            .table
            .get(tenant_pk(tenant_id), UTILISATION.into(), false)
            .await?;
        Ok(item.map(|item| item.stored))
    }

    /// A tenant's rooms' utilisation over `window`, as of `now`, from its rooms and the
    /// bookings reaching into the window (the first [`MAX_BOOKINGS`]; `true` when there were
    /// more, and the report counts only those).
    pub async fn compute_utilisation(
        &self,
        tenant_id: &str,
        window: Slot,
        now: Timestamp,
    ) -> Result<(UtilisationReport, bool), StoreError> {
        let rooms = RoomStore::new(self.table.clone()).all(tenant_id).await?;
        if rooms.is_empty() {
            return Ok((utilisation(window, &[], &[], now), false));
        }
        // A booking lasts at most a week: one starting that much earlier may reach into the window.
        let reaching_in = Slot {
            start: window.start - SignedDuration::from_hours(24 * 7),
            end: window.end,
        };
        let (bookings, more) = BookingStore::new(self.table.clone())
            .all(tenant_id, Listing::Tenant, reaching_in, MAX_BOOKINGS)
            .await?;
        let rooms: Vec<RoomFacts> = rooms
            .iter()
            .map(|room| {
                let zone = RoomZone::parse(&room.room.time_zone).ok();
                RoomFacts {
                    room_id: room.room_id.clone(),
                    name: room.room.name.clone(),
                    site: room.room.site.clone(),
                    zone: zone
                        .as_ref()
                        .map_or(jiff::tz::TimeZone::UTC, |z| z.time_zone().clone()),
                    check_in_required: room.room.rules.check_in_required,
                    closed: zone
                        .map(|zone| {
                            room.closures
                                .iter()
                                .flat_map(|closure| closure.within(&zone, &window))
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
        let bookings: Vec<BookingFacts> = bookings
            .iter()
            .map(|booking| BookingFacts {
                room_id: booking.room_id.clone(),
                slot: booking.slot,
                status: booking.status,
            })
            .collect();
        Ok((utilisation(window, &rooms, &bookings, now), more))
    }
}
