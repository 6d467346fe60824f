//! The one path every booking write takes (SPEC §C: no double booking, ever, on every path):
//! read the room and the days a change touches, check each new slot against everything else on
//! them (buffers on both sides, closures), and commit with every day and the room conditioned
//! on the versions read. A writer that lost a race reads again and sees the winner.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use steward_access::Caller;
use steward_access::new_id;
use steward_domain::booking::notice::NoticeKind;
use steward_domain::booking::quota::Held;
use steward_domain::booking::rules::{Conflict, MAX_BUFFER, RoomRules, Slot, Taken, conflicts};
use steward_domain::booking::status::BookingStatus;
use steward_domain::terminal::check_in::{CheckInPolicy, release_deadline};
use steward_kit::ApiError;
use steward_kit::retry::Optimistic;
use steward_store::StoreError;
use steward_store::audit::AuditEntry;
use steward_store::bookings::Listing;
use steward_store::bookings::{
    BookingPut, BookingRecord, BookingWriteError, CalendarWrite, Day, DayEntry,
    MAX_TRANSACTION_ITEMS, SeriesPut, SeriesRecord, dates_between,
};
use steward_store::identity::{QuotaSetting, TenantRecord};
use steward_store::ledger::{Ledger, LedgerPut};
use steward_store::notices::Notice;
use steward_store::preconditions::Precondition;
use steward_store::rooms::RoomRecord;

use crate::Rooms;

/// One booking's new state and its move on the room's calendar.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    pub record: BookingRecord,
    /// The version the booking must still be at (`None`: it is new).
    pub expected: Option<u64>,
    /// Where it holds the room now (`None`: nowhere: new, or no longer holding it).
    pub from: Option<Slot>,
    /// Where it will hold the room (`None`: it lets go: cancelled, rejected).
    pub to: Option<Slot>,
    /// Its status before (`None`: it is new): what the change tells its people.
    pub was: Option<BookingStatus>,
}

impl Placement {
    /// A new booking taking `to`.
    pub(crate) fn new(record: BookingRecord, to: Slot) -> Self {
        Self {
            record,
            expected: None,
            from: None,
            to: Some(to),
            was: None,
        }
    }

    /// `current` becoming `next`, moving from the slot it holds (if any) to `to` (if any).
    pub(crate) fn change(
        current: &BookingRecord,
        next: BookingRecord,
        from: Option<Slot>,
        to: Option<Slot>,
    ) -> Self {
        Self {
            record: next,
            expected: Some(current.version),
            from,
            to,
            was: Some(current.status),
        }
    }

    pub(crate) fn moves(&self) -> bool {
        self.from != self.to
    }

    fn notice(&self) -> Option<NoticeKind> {
        NoticeKind::of_change(self.was, self.record.status, self.moves())
    }
}

/// Whose bookings a write changes, and the tenant's per-member quota on them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Holder<'a> {
    pub organiser: &'a str,
    pub quota: Option<&'a QuotaSetting>,
    /// The tenant's check-in policy: when the bookings written are released.
    pub check_in: CheckInPolicy,
}

impl<'a> Holder<'a> {
    /// `organiser`'s bookings, in the tenant `caller` is in.
    pub(crate) fn of(caller: &'a Caller, organiser: &'a str) -> Self {
        Self::in_tenant(&caller.tenant, organiser)
    }

    /// `organiser`'s bookings in `tenant` (a terminal's or a schedule's write, with no caller).
    pub(crate) fn in_tenant(tenant: &'a TenantRecord, organiser: &'a str) -> Self {
        Self {
            organiser,
            quota: tenant.booking_quota.as_ref(),
            check_in: tenant.check_in.unwrap_or_default(),
        }
    }
}

/// When the release schedule releases `record` on `room` (see
/// [`steward_domain::terminal::check_in::release_deadline`]).
fn release_at(
    record: &BookingRecord,
    room: Option<&RoomRecord>,
    policy: &CheckInPolicy,
) -> Option<String> {
    let room = room?;
    let slot = slot_of(record).ok()?;
    release_deadline(
        record.status,
        &slot,
        &room.room.rules,
        room.room.capacity,
        policy,
    )
    .map(|at| at.to_string())
}

/// What a write does with a placement whose new slot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    /// Nothing is written: the answer names every conflict.
    Refuse,
    /// The placement is left out, and the rest written.
    Skip,
}

/// A placement left out under [`OnConflict::Skip`], with what it met.
#[derive(Debug, Clone)]
pub(crate) struct Skipped {
    pub booking_id: String,
    pub met: Vec<Conflict>,
}

/// What `settle` makes of a plan about to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    Commit,
    /// Nothing is written (an import only looking, or one that must be whole and is not).
    Stop,
}

/// What one write commits: its placements, the series they belong to, and audit entries.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub placements: Vec<Placement>,
    /// A series written with the placements, and the version it must still be at.
    pub series: Option<(SeriesRecord, Option<u64>)>,
    pub audit: Vec<AuditEntry>,
    pub on_conflict: OnConflict,
    /// Whether the people concerned are told (not for imports: the importer asked for it).
    pub announce: bool,
    /// What the write requires of items it does not change (a terminal still paired and open
    /// to PINs), held in its own transaction.
    pub requires: Vec<Precondition>,
}

impl Plan {
    /// A plan of single-booking writes: refused on any conflict, no series.
    pub(crate) fn single(placement: Placement, audit: AuditEntry) -> Self {
        Self {
            placements: vec![placement],
            series: None,
            audit: vec![audit],
            on_conflict: OnConflict::Refuse,
            announce: true,
            requires: Vec::new(),
        }
    }

    /// This plan, committed only while `precondition` holds.
    pub(crate) fn requiring(mut self, precondition: Precondition) -> Self {
        self.requires.push(precondition);
        self
    }

    /// Each placement's booking as the write puts it, over the version it must still be at.
    fn puts(&self) -> Vec<BookingPut<'_>> {
        self.placements
            .iter()
            .map(|p| BookingPut {
                record: &p.record,
                expected: p.expected,
            })
            .collect()
    }

    /// Sets each placement's release deadline, from its room and the tenant's check-in policy.
    fn set_release(&mut self, room: Option<&RoomRecord>, policy: &CheckInPolicy) {
        for placement in &mut self.placements {
            placement.record.release_at = release_at(&placement.record, room, policy);
        }
    }

    /// The notices the plan makes: one per kind and organiser (a series is told once, with
    /// all its occurrences), each with the room as it was read.
    fn notices(&self, tenant_id: &str, room_id: &str, room: Option<&RoomRecord>) -> Vec<Notice> {
        if !self.announce {
            return Vec::new();
        }
        let actor = self.audit.first().map(|entry| entry.actor.clone());
        let at = Timestamp::now().to_string();
        let mut grouped: BTreeMap<(NoticeKind, &str), Vec<BookingRecord>> = BTreeMap::new();
        for placement in &self.placements {
            if let Some(kind) = placement.notice() {
                grouped
                    .entry((kind, placement.record.organiser.as_str()))
                    .or_default()
                    .push(placement.record.clone());
            }
        }
        grouped
            .into_iter()
            .map(|((kind, organiser), bookings)| Notice {
                notice_id: new_id("nt"),
                tenant_id: tenant_id.to_owned(),
                kind,
                organiser: organiser.to_owned(),
                actor: actor.clone().unwrap_or_else(|| organiser.to_owned()),
                at: at.clone(),
                room_id: room_id.to_owned(),
                room: room.map(|room| room.room.clone()),
                bookings,
            })
            .collect()
    }
}

/// The UTC days a slot given in `start`/`end` text probably touches, before the room (and so
/// its zone and buffers) is known: an RFC 3339 time is exact, a local time is within 14 hours of
/// the same wall time in UTC; buffers reach [`MAX_BUFFER`] further.
pub(crate) fn likely_days(start: &str, end: &str) -> Vec<Date> {
    let around = |text: &str| -> Option<(Timestamp, Timestamp)> {
        let (at, slack) = match text.parse::<Timestamp>() {
            Ok(at) => (at, MAX_BUFFER),
            Err(_) => (
                text.parse::<jiff::civil::DateTime>()
                    .ok()?
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .ok()?
                    .timestamp(),
                jiff::SignedDuration::from_hours(14) + MAX_BUFFER,
            ),
        };
        Some((at.checked_sub(slack).ok()?, at.checked_add(slack).ok()?))
    };
    match (around(start), around(end)) {
        (Some((first, _)), Some((_, last))) if first < last => {
            let dates = dates_between(first, last);
            // A long booking's days are read once it is known to be valid.
            if dates.len() <= 4 { dates } else { Vec::new() }
        }
        _ => Vec::new(),
    }
}

/// The days a booking's stored slot touches, with the margin its buffers may reach.
pub(crate) fn days_of(slot: &Slot) -> Vec<Date> {
    dates_between(slot.start - MAX_BUFFER, slot.end + MAX_BUFFER)
}

/// The slot a stored booking holds.
pub(crate) fn slot_of(record: &BookingRecord) -> Result<Slot, ApiError> {
    let start: Timestamp = record.start.parse().map_err(ApiError::internal)?;
    let end: Timestamp = record.end.parse().map_err(ApiError::internal)?;
    Slot::new(start, end).map_err(ApiError::internal)
}

/// What a room's days hold besides the bookings in `moving`.
pub(crate) fn taken_on(days: &[Day], moving: &HashSet<String>) -> Vec<Taken> {
    let mut seen = HashSet::new();
    days.iter()
        .flat_map(|day| &day.entries)
        .filter(|entry| !moving.contains(entry.booking_id.as_str()))
        // A booking over midnight is listed on each of its days.
        .filter(|entry| seen.insert(entry.booking_id.as_str()))
        .filter_map(|entry| {
            let slot = Slot::new(entry.start.parse().ok()?, entry.end.parse().ok()?).ok()?;
            Some(Taken::Booking {
                booking_id: entry.booking_id.clone(),
                slot,
            })
        })
        .collect()
}

/// Everything a slot meets, named: each booking (and whether only the buffers meet it) or
/// closure (with its reason).
fn named(met: &[Conflict]) -> String {
    let named: Vec<String> = met
        .iter()
        .map(|conflict| match conflict {
            Conflict::Booking {
                booking_id,
                start,
                end,
                buffer_only,
            } => format!(
                "booking {booking_id} ({start} to {end}){}",
                if *buffer_only {
                    ", counting the room's buffers"
                } else {
                    ""
                }
            ),
            Conflict::Closure {
                closure_id,
                start,
                end,
                reason,
            } => format!("closure {closure_id} ({start} to {end}): {reason}"),
        })
        .collect();
    named.join("; ")
}

/// Why a slot cannot be had, as a skipped occurrence records it and a refusal says it.
pub(crate) fn taken_detail(met: &[Conflict]) -> String {
    format!("the room is taken: {}", named(met))
}

/// The problem naming every placement's conflicts; with several placements, each by the slot
/// it wanted.
fn conflicts_problem(all: &[(Slot, Vec<Conflict>)], single: bool) -> ApiError {
    if let ([(_, met)], true) = (all, single) {
        return ApiError::Conflict(taken_detail(met));
    }
    let each: Vec<String> = all
        .iter()
        .map(|(slot, met)| format!("{} to {}: {}", slot.start, slot.end, named(met)))
        .collect();
    ApiError::Conflict(format!(
        "the room is taken for {} of them: {}",
        all.len(),
        each.join(" | ")
    ))
}

impl Rooms {
    /// Commits what `plan` makes of the room as it is now, on its calendar: each placement's
    /// new slot checked against the rest, the days it leaves and joins rewritten. `plan` is
    /// asked again, with the room reread, whenever a concurrent writer got there first.
    /// `room` is `None` for an archived room: only placements letting go of it can commit.
    pub(crate) async fn on_calendar<F>(
        &self,
        tenant_id: &str,
        room_id: &str,
        holder: Holder<'_>,
        likely: &[Date],
        plan: F,
    ) -> Result<Plan, ApiError>
    where
        F: FnMut(Option<&RoomRecord>) -> Result<Plan, ApiError>,
    {
        self.on_calendar_settling(tenant_id, room_id, holder, likely, plan, |_, _| {
            Ok(Settled::Commit)
        })
        .await?
        .ok_or_else(|| ApiError::internal("a calendar write stopped that always commits"))
    }

    /// Commits a change that moves nothing on the room's calendar (a check-in): no day is
    /// read or written. The booking is held to the version it was read at, the room to the
    /// version `room` (read or kept) is at, and the write to `preconditions`; whatever of them
    /// no longer holds is the error, and the caller reads again.
    pub(crate) async fn change_in_place(
        &self,
        room: &RoomRecord,
        holder: Holder<'_>,
        placement: Placement,
        audit: AuditEntry,
        preconditions: &[Precondition],
    ) -> Result<BookingRecord, BookingWriteError> {
        debug_assert!(!placement.moves(), "a change in place moves nothing");
        let tenant_id = &room.tenant_id;
        let mut plan = Plan::single(placement, audit);
        plan.set_release(Some(room), &holder.check_in);
        let bookings = plan.puts();
        let notices = plan.notices(tenant_id, &room.room_id, Some(room));
        self.bookings
            .write(CalendarWrite {
                tenant_id,
                room_id: &room.room_id,
                room_version: Some(room.version),
                bookings: &bookings,
                series: None,
                days: &[],
                audit: &plan.audit,
                notices: &notices,
                ledger: None,
                preconditions,
            })
            .await?;
        self.announce(&notices).await;
        let mut placements = plan.placements.into_iter();
        let placed = placements.next().map(|p| p.record);
        placed.ok_or_else(|| StoreError::Failed("a change in place placed nothing".into()).into())
    }

    /// [`Self::on_calendar`], with `settle` told which placements were skipped (under
    /// [`OnConflict::Skip`]) before the plan commits, to record their outcome or stop the write
    /// ([`Settled::Stop`]: answers `None`, nothing written).
    ///
    /// `likely` are the days the write probably touches: read with the room in one request; the
    /// days the plan turns out to need beyond them cost a second.
    pub(crate) async fn on_calendar_settling<F, S>(
        &self,
        tenant_id: &str,
        room_id: &str,
        holder: Holder<'_>,
        likely: &[Date],
        mut plan: F,
        mut settle: S,
    ) -> Result<Option<Plan>, ApiError>
    where
        F: FnMut(Option<&RoomRecord>) -> Result<Plan, ApiError>,
        S: FnMut(&mut Plan, &[Skipped]) -> Result<Settled, ApiError>,
    {
        let mut tries = Optimistic::new();
        while tries.next().await {
            let read = self
                .bookings
                .room_and_days(
                    tenant_id,
                    room_id,
                    likely,
                    holder.quota.map(|_| holder.organiser),
                )
                .await?;
            let (room, prefetched) = (read.room, read.days);
            let mut planned = plan(room.as_ref())?;
            let rules = room
                .as_ref()
                .map(|room| room.room.rules)
                .unwrap_or_default();
            if room.is_none() && planned.placements.iter().any(|p| p.to.is_some()) {
                return Err(ApiError::NotFound(format!("room {room_id}")));
            }
            let mut days = self
                .days_touched(tenant_id, room_id, &planned, &rules, prefetched)
                .await?;
            let moving: HashSet<String> = planned
                .placements
                .iter()
                .filter(|p| p.moves())
                .map(|p| p.record.booking_id.clone())
                .collect();
            let mut taken = taken_on(&days, &moving);
            if let Some(room) = &room {
                taken.extend(crate::closures::taken_by_closures(room, &planned));
            }
            let mut refused = Vec::new();
            let mut skipped = Vec::new();
            for placement in planned.placements.iter().filter(|p| p.moves()) {
                let Some(to) = placement.to else { continue };
                let met = conflicts(&rules, &to, &taken, None);
                if !met.is_empty() {
                    match planned.on_conflict {
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
                return Err(conflicts_problem(&refused, moving.len() == 1));
            }
            if !skipped.is_empty() {
                planned
                    .placements
                    .retain(|p| !skipped.iter().any(|s| s.booking_id == p.record.booking_id));
            }
            if settle(&mut planned, &skipped)? == Settled::Stop {
                return Ok(None);
            }
            if let Some(room) = &room {
                self.credentials_cover(tenant_id, room, &planned).await?;
            }
            rewrite_days(&mut days, &planned, &moving, &rules);
            planned.set_release(room.as_ref(), &holder.check_in);
            let held = match (holder.quota, read.ledger) {
                (Some(setting), Some(ledger)) => Some((
                    setting,
                    ledger.version,
                    self.held_after(tenant_id, holder, setting, ledger, &planned)
                        .await?,
                )),
                _ => None,
            };
            let bookings = planned.puts();
            let notices = planned.notices(tenant_id, room_id, room.as_ref());
            let write = CalendarWrite {
                tenant_id,
                room_id,
                room_version: room.as_ref().map(|room| room.version),
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
                return Err(ApiError::validation(
                    "recurrence",
                    format!(
                        "{} bookings over {} days of the room are more than one all-or-nothing \
                         write holds ({MAX_TRANSACTION_ITEMS} items): split the series",
                        bookings.len(),
                        days.len()
                    ),
                ));
            }
            let written = self.bookings.write(write).await;
            match written {
                Ok(()) => {
                    self.announce(&notices).await;
                    return Ok(Some(planned));
                }
                Err(BookingWriteError::Moved) => continue,
                Err(BookingWriteError::Stale) => {
                    return Err(ApiError::PreconditionFailed("booking".into()));
                }
                Err(BookingWriteError::Store(error)) => return Err(error.into()),
                Err(BookingWriteError::Unmet(unmet)) => {
                    return Err(match planned.requires.get(unmet) {
                        // The terminal's own write tells a revoked terminal from a locked one.
                        Some(Precondition::TerminalPaired { .. }) => {
                            ApiError::TerminalUnauthorized(
                                "the terminal changed while its request ran".into(),
                            )
                        }
                        _ => ApiError::internal("an unmet precondition the plan did not set"),
                    });
                }
            }
        }
        Err(tries.spent())
    }

    /// What the organiser will hold once `plan` commits, checked against the quota: refused
    /// only where it holds more than allowed and more than before. A ledger from before the quota's setting is built again from their bookings.
    async fn held_after(
        &self,
        tenant_id: &str,
        holder: Holder<'_>,
        setting: &QuotaSetting,
        ledger: Ledger,
        plan: &Plan,
    ) -> Result<Vec<Held>, ApiError> {
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
            .map_err(|exceeded| ApiError::QuotaExceeded(exceeded.to_string()))?;
        Ok(after)
    }

    /// The bookings `member` holds that have not ended, from their listing (`gsi2`).
    async fn holding(
        &self,
        tenant_id: &str,
        member: &str,
        now: Timestamp,
    ) -> Result<Vec<Held>, ApiError> {
        // A booking lasts at most a week (a room's longest rule): a week back covers every one
        // not ended, but for an override longer than that.
        let from = (now - jiff::SignedDuration::from_hours(24 * 7)).to_string();
        let (bookings, _) = self
            .bookings
            .all(
                tenant_id,
                Listing::Organiser(member),
                (&from, "9999"),
                5_000,
            )
            .await?;
        Ok(bookings
            .iter()
            .filter(|b| b.status.holds_room())
            .filter_map(|b| {
                let slot = slot_of(b).ok()?;
                Some(Held {
                    booking_id: b.booking_id.clone(),
                    start: slot.start,
                    end: slot.end,
                })
            })
            .filter(|h| h.end > now)
            .collect())
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
    ) -> Result<Vec<Day>, ApiError> {
        let mut dates = BTreeSet::new();
        // A plan that moves nothing (an approval) reads no day.
        if !plan.placements.iter().any(Placement::moves) {
            return Ok(Vec::new());
        }
        for placement in plan.placements.iter().filter(|p| p.moves()) {
            if let Some(from) = &placement.from {
                dates.extend(days_of(from));
            }
            if let Some(to) = placement.to {
                let blocked = to.blocked(rules);
                dates.extend(dates_between(blocked.start, blocked.end));
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

/// Takes the moving bookings off the days and puts each back on the days its new slot
/// (buffers counted) touches; keeps only the days that changed.
fn rewrite_days(days: &mut Vec<Day>, plan: &Plan, moving: &HashSet<String>, rules: &RoomRules) {
    days.retain_mut(|day| {
        let before = day.entries.clone();
        day.entries
            .retain(|entry| !moving.contains(entry.booking_id.as_str()));
        for placement in plan.placements.iter().filter(|p| p.moves()) {
            let Some(to) = placement.to else { continue };
            let blocked = to.blocked(rules);
            if dates_between(blocked.start, blocked.end).contains(&day.date) {
                day.entries.push(DayEntry {
                    booking_id: placement.record.booking_id.clone(),
                    start: to.start.to_string(),
                    end: to.end.to_string(),
                });
            }
        }
        day.entries != before
    });
}
