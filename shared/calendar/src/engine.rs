//! [`Calendar::write`]: read the room and the days a change touches, check each new slot
//! against everything else on them (buffers on both sides, closures, the quota, the room's
//! required credentials), and commit with every day and the room conditioned on the versions
//! read.

use std::collections::{BTreeSet, HashSet};

use jiff::civil::Date;
use steward_domain::booking::days::{
    closures_within, days_blocked, days_of, rewrite_day, span, taken_on,
};
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::{RoomRules, Taken, conflicts};
use steward_kit::retry::Optimistic;
use steward_store::bookings::{
    BookingWriteError, CalendarWrite, Day, MAX_TRANSACTION_ITEMS, SeriesPut,
};
use steward_store::ledger::LedgerPut;
use steward_store::rooms::RoomRecord;

use crate::error::CalendarError;
use crate::{Calendar, Holder, OnConflict, Plan, Settled, Skipped};

/// The room a write is on, and how it is read.
#[derive(Debug, Clone, Copy)]
pub enum RoomAt<'a> {
    /// Read with the days the write probably touches (`likely`: read with the room in one
    /// request; the days the plan turns out to need beyond them cost a second). The plan is
    /// asked again, with the room read again, whenever another writer got there first.
    Read {
        tenant_id: &'a str,
        room_id: &'a str,
        likely: &'a [Date],
    },
    /// As the caller kept it, for a change that moves nothing on the calendar (a check-in): no
    /// day is read or written, and it is tried once. A room or booking changed meanwhile is
    /// [`CalendarError::Moved`] or [`CalendarError::Stale`], and the caller reads again.
    Kept(&'a RoomRecord),
}

impl RoomAt<'_> {
    fn ids(&self) -> (&str, &str) {
        match self {
            Self::Read {
                tenant_id, room_id, ..
            } => (tenant_id, room_id),
            Self::Kept(room) => (&room.tenant_id, &room.room_id),
        }
    }
}

/// A write's `settle` that always commits.
pub fn commit<E>(_: &mut Plan, _: &[Skipped]) -> Result<Settled, E> {
    Ok(Settled::Commit)
}

impl Calendar {
    /// [`Self::write`] of a plan that always commits, answering it as committed.
    pub async fn place<E, F>(&self, at: RoomAt<'_>, holder: Holder<'_>, plan: F) -> Result<Plan, E>
    where
        E: From<CalendarError>,
        F: FnMut(Option<&RoomRecord>) -> Result<Plan, E>,
    {
        self.write(at, holder, plan, commit)
            .await?
            .ok_or_else(|| CalendarError::Internal("a write that always commits stopped").into())
    }

    /// Commits what `plan` makes of the room as it is now (`None`: archived, where only
    /// placements letting go of it can commit), on its calendar: each placement's new slot
    /// checked against the rest, the days it leaves and joins rewritten. `settle` is told which
    /// placements were skipped (under [`OnConflict::Skip`]) before the plan commits, to record
    /// their outcome or stop the write ([`Settled::Stop`]: answers `None`, nothing written).
    pub async fn write<E, F, S>(
        &self,
        at: RoomAt<'_>,
        holder: Holder<'_>,
        mut plan: F,
        mut settle: S,
    ) -> Result<Option<Plan>, E>
    where
        E: From<CalendarError>,
        F: FnMut(Option<&RoomRecord>) -> Result<Plan, E>,
        S: FnMut(&mut Plan, &[Skipped]) -> Result<Settled, E>,
    {
        let (tenant_id, room_id) = at.ids();
        let mut tries = Optimistic::new();
        while tries.next().await {
            let read_room: Option<RoomRecord>;
            let (room, prefetched, ledger) = match at {
                RoomAt::Read { likely, .. } => {
                    let read = self
                        .bookings
                        .room_and_days(
                            tenant_id,
                            room_id,
                            likely,
                            holder.quota.map(|_| holder.organiser),
                        )
                        .await
                        .map_err(CalendarError::from)?;
                    read_room = read.room;
                    (read_room.as_ref(), read.days, read.ledger)
                }
                RoomAt::Kept(room) => (Some(room), Vec::new(), None),
            };
            let mut planned = plan(room)?;
            let kept = matches!(at, RoomAt::Kept(_));
            if kept && planned.moving().next().is_some() {
                return Err(CalendarError::Internal("a write on a kept room moves nothing").into());
            }
            let rules = room.map(|room| room.room.rules).unwrap_or_default();
            if room.is_none() && planned.placements.iter().any(|p| p.to.is_some()) {
                return Err(CalendarError::RoomNotFound(room_id.to_owned()).into());
            }
            let mut days = self
                .days_touched(tenant_id, room_id, &planned, &rules, prefetched)
                .await
                .map_err(CalendarError::from)?;
            let moving: HashSet<String> = planned
                .moving()
                .map(|p| p.record.booking_id.clone())
                .collect();
            let mut taken = taken_on(days.iter().flat_map(|day| &day.entries), &moving);
            if let Some(room) = room {
                taken.extend(closed_for(room, &planned));
            }
            let skipped = match check(&mut planned, &rules, taken, moving.len() == 1) {
                Ok(skipped) => skipped,
                Err(refused) => return Err(refused.into()),
            };
            if settle(&mut planned, &skipped)? == Settled::Stop {
                return Ok(None);
            }
            if let Some(room) = room {
                self.credentials_cover(tenant_id, room, &planned).await?;
            }
            rewrite(&mut days, &planned, &moving, &rules);
            planned.set_release(room, &holder.check_in);
            let held = match (holder.quota, ledger) {
                (Some(setting), Some(ledger)) => Some((
                    setting,
                    ledger.version,
                    self.held_after(tenant_id, holder, setting, ledger, &planned)
                        .await?,
                )),
                _ => None,
            };
            let bookings = planned.puts();
            let notices = planned.notices(tenant_id, room_id, room);
            let write = CalendarWrite {
                tenant_id,
                room_id,
                room_version: room.map(|room| room.version),
                bookings: &bookings,
                series: planned.series.as_ref().map(|(record, expected)| SeriesPut {
                    record,
                    expected: *expected,
                }),
                days: &days,
                audit: &planned.audit,
                notices: &notices,
                ledger: held.as_ref().map(|(setting, read, held)| LedgerPut {
                    member: holder.organiser,
                    read: *read,
                    quota_set_at: &setting.set_at,
                    held,
                }),
                preconditions: &planned.requires,
            };
            if write.items() > MAX_TRANSACTION_ITEMS {
                return Err(CalendarError::TooLarge {
                    bookings: bookings.len(),
                    days: days.len(),
                }
                .into());
            }
            match self.bookings.write(write).await {
                Ok(()) => {
                    self.announce(&notices).await;
                    drop(bookings);
                    return Ok(Some(planned));
                }
                Err(BookingWriteError::Moved) if !kept => continue,
                Err(BookingWriteError::Unmet(unmet)) => {
                    return Err(match planned.requires.get(unmet) {
                        Some(precondition) => CalendarError::Unmet(precondition.clone()),
                        None => {
                            CalendarError::Internal("an unmet precondition the plan did not set")
                        }
                    }
                    .into());
                }
                Err(error) => return Err(CalendarError::from(error).into()),
            }
        }
        Err(CalendarError::Contended {
            tries: tries.tried(),
        }
        .into())
    }

    /// The days a plan's moves leave (with a margin: the rules may have changed since) and
    /// join (with the buffers), reading only those not `prefetched`. Prefetched days the plan
    /// does not need stay in: they only add bookings to check against, and are not rewritten.
    async fn days_touched(
        &self,
        tenant_id: &str,
        room_id: &str,
        plan: &Plan,
        rules: &RoomRules,
        prefetched: Vec<Day>,
    ) -> Result<Vec<Day>, steward_store::StoreError> {
        // A plan that moves nothing (an approval, a check-in) reads no day.
        if plan.moving().next().is_none() {
            return Ok(Vec::new());
        }
        let mut dates = BTreeSet::new();
        for placement in plan.moving() {
            if let Some(from) = &placement.from {
                dates.extend(days_of(from));
            }
            if let Some(to) = &placement.to {
                dates.extend(days_blocked(to, rules));
            }
        }
        for day in &prefetched {
            dates.remove(&day.date);
        }
        let mut days = prefetched;
        if !dates.is_empty() {
            let dates: Vec<_> = dates.into_iter().collect();
            days.extend(self.bookings.days(tenant_id, room_id, &dates).await?);
        }
        Ok(days)
    }
}

/// What the closures of `room` hold over the span of the slots `plan` moves bookings to,
/// each closure expanded once (a series places up to 48 slots).
fn closed_for(room: &RoomRecord, plan: &Plan) -> Vec<Taken> {
    let Ok(zone) = RoomZone::parse(&room.room.time_zone) else {
        return Vec::new();
    };
    span(plan.placements.iter().filter_map(|p| p.to))
        .map(|span| closures_within(&room.closures, &zone, &span))
        .unwrap_or_default()
}

/// Checks each moving placement's new slot against `taken` and the placements before it:
/// refused whole under [`OnConflict::Refuse`] (naming every conflict), or, under
/// [`OnConflict::Skip`], left out of the plan and answered.
fn check(
    plan: &mut Plan,
    rules: &RoomRules,
    mut taken: Vec<Taken>,
    single: bool,
) -> Result<Vec<Skipped>, CalendarError> {
    let mut refused = Vec::new();
    let mut skipped = Vec::new();
    for placement in plan.moving() {
        let Some(to) = placement.to else { continue };
        let met = conflicts(rules, &to, &taken, None);
        if !met.is_empty() {
            match plan.on_conflict {
                OnConflict::Refuse => refused.push((to, met)),
                OnConflict::Skip => skipped.push(Skipped {
                    booking_id: placement.record.booking_id.clone(),
                    met,
                }),
            }
            continue;
        }
        taken.push(Taken::Booking {
            booking_id: placement.record.booking_id.clone(),
            slot: to,
        });
    }
    if !refused.is_empty() {
        return Err(CalendarError::Taken {
            met: refused,
            single,
        });
    }
    if !skipped.is_empty() {
        plan.placements
            .retain(|p| !skipped.iter().any(|s| s.booking_id == p.record.booking_id));
    }
    Ok(skipped)
}

/// Takes the moving bookings off the days and puts each back on the days its new slot
/// (buffers counted) touches; keeps only the days that changed.
fn rewrite(days: &mut Vec<Day>, plan: &Plan, moving: &HashSet<String>, rules: &RoomRules) {
    let placed: Vec<(&str, _)> = plan
        .moving()
        .filter_map(|p| Some((p.record.booking_id.as_str(), p.to?)))
        .collect();
    days.retain_mut(|day| rewrite_day(day.date, &mut day.entries, moving, &placed, rules));
}
