//! The tenant's per-member quota (SPEC §C), checked by every write over the member's ledger.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use steward_domain::booking::quota::Held;
use steward_domain::booking::rules::Slot;
use steward_store::bookings::Listing;
use steward_store::identity::QuotaSetting;
use steward_store::ledger::Ledger;

use crate::error::CalendarError;
use crate::{Calendar, Holder, Plan};

impl Calendar {
    /// What the organiser will hold once `plan` commits, checked against the quota: refused
    /// only where it holds more than allowed and more than before. A ledger from before the
    /// quota's setting is built again from their bookings.
    pub(crate) async fn held_after(
        &self,
        tenant_id: &str,
        holder: Holder<'_>,
        setting: &QuotaSetting,
        ledger: Ledger,
        plan: &Plan,
    ) -> Result<Vec<Held>, CalendarError> {
        let now = Timestamp::now();
        let before: Vec<Held> = if ledger.quota_set_at == setting.set_at {
            ledger.held
        } else {
            self.holding(tenant_id, holder.organiser, now).await?
        };
        let before: Vec<Held> = before.into_iter().filter(|h| h.end > now).collect();
        let changed: HashSet<&str> = plan
            .placements
            .iter()
            .map(|p| p.record.booking_id.as_str())
            .collect();
        let mut after: Vec<Held> = before
            .iter()
            .filter(|h| !changed.contains(h.booking_id.as_str()))
            .cloned()
            .collect();
        after.extend(plan.placements.iter().filter_map(|p| {
            let to = p.to.filter(|_| p.record.status.holds_room())?;
            (p.record.organiser == holder.organiser).then(|| Held {
                booking_id: p.record.booking_id.clone(),
                start: to.start,
                end: to.end,
            })
        }));
        // Like a conflict, and unlike a room's rules, no override passes it: a tenant that
        // wants someone to hold more raises the quota.
        setting
            .quota
            .allows(&before, &after, now)
            .map_err(|exceeded| CalendarError::QuotaExceeded(exceeded.to_string()))?;
        Ok(after)
    }

    /// The bookings `member` holds that have not ended, from their listing (`gsi2`).
    async fn holding(
        &self,
        tenant_id: &str,
        member: &str,
        now: Timestamp,
    ) -> Result<Vec<Held>, CalendarError> {
        // A booking lasts at most a week (a room's longest rule): a week back covers every one
        // not ended, but for an override longer than that.
        let from = now - SignedDuration::from_hours(24 * 7);
        let not_ended = Slot {
            start: from,
            end: Timestamp::MAX,
        };
        let (bookings, _) = self
            .bookings
            .all(tenant_id, Listing::Organiser(member), not_ended, 5_000)
            .await?;
        Ok(bookings
            .iter()
            .filter(|b| b.status.holds_room())
            .map(|b| Held {
                booking_id: b.booking_id.clone(),
                start: b.slot.start,
                end: b.slot.end,
            })
            .filter(|h| h.end > now)
            .collect())
    }
}
