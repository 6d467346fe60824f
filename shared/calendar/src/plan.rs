//! What one write commits: placements of bookings on a room's calendar, the series they
//! belong to, audit entries, and what it requires of items it does not change.

use std::collections::BTreeMap;

use jiff::Timestamp;
use steward_access::{Caller, new_id};
use steward_domain::booking::entity::Booking;
use steward_domain::booking::notice::Notice;
use steward_domain::booking::notice::NoticeKind;
use steward_domain::booking::rules::{Conflict, Slot};
use steward_domain::booking::series::Series;
use steward_domain::booking::status::BookingStatus;
use steward_domain::terminal::check_in::{CheckInPolicy, release_deadline};
use steward_store::audit::AuditEntry;
use steward_store::bookings::BookingPut;
use steward_store::identity::{QuotaSetting, TenantRecord};
use steward_store::preconditions::Precondition;
use steward_store::rooms::RoomRecord;

use crate::CalendarError;

/// One booking's new state and its move on the room's calendar.
#[derive(Debug, Clone)]
pub struct Placement {
    pub record: Booking,
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
    pub fn new(record: Booking, to: Slot) -> Self {
        Self {
            record,
            expected: None,
            from: None,
            to: Some(to),
            was: None,
        }
    }

    /// `current` becoming `next`, moving from the slot it holds (if any) to `to` (if any).
    pub fn change(current: &Booking, next: Booking, from: Option<Slot>, to: Option<Slot>) -> Self {
        Self {
            record: next,
            expected: Some(current.version),
            from,
            to,
            was: Some(current.status),
        }
    }

    pub fn moves(&self) -> bool {
        self.from != self.to
    }

    fn notice(&self) -> Option<NoticeKind> {
        NoticeKind::of_change(self.was, self.record.status, self.moves())
    }
}

/// Whose bookings a write changes, and the tenant's per-member quota on them.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub organiser: &'a str,
    pub quota: Option<&'a QuotaSetting>,
    /// The tenant's check-in policy: when the bookings written are released.
    pub check_in: CheckInPolicy,
}

impl<'a> Holder<'a> {
    /// `organiser`'s bookings, in the tenant `caller` is in.
    pub fn of(caller: &'a Caller, organiser: &'a str) -> Self {
        Self::in_tenant(&caller.tenant, organiser)
    }

    /// `organiser`'s bookings in `tenant` (a terminal's or a schedule's write, with no caller).
    pub fn in_tenant(tenant: &'a TenantRecord, organiser: &'a str) -> Self {
        Self {
            organiser,
            quota: tenant.booking_quota.as_ref(),
            check_in: tenant.check_in.unwrap_or_default(),
        }
    }
}

/// What a write does with a placement whose new slot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Nothing is written: the answer names every conflict.
    Refuse,
    /// The placement is left out, and the rest written.
    Skip,
}

/// A placement left out under [`OnConflict::Skip`], with what it met.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub booking_id: String,
    pub met: Vec<Conflict>,
}

/// What a write's `settle` makes of a plan about to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Commit,
    /// Nothing is written (an import only looking, or one that must be whole and is not).
    Stop,
}

/// What one write commits: its placements, the series they belong to, and audit entries.
#[derive(Debug, Clone)]
pub struct Plan {
    pub placements: Vec<Placement>,
    /// A series written with the placements, and the version it must still be at.
    pub series: Option<(Series, Option<u64>)>,
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
    pub fn single(placement: Placement, audit: AuditEntry) -> Self {
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
    pub fn requiring(mut self, precondition: Precondition) -> Self {
        self.requires.push(precondition);
        self
    }

    /// The booking a single-booking write placed, as committed.
    pub fn placed(self) -> Result<Booking, CalendarError> {
        let placed = self.placements.into_iter().next().map(|p| p.record);
        placed.ok_or(CalendarError::Internal("a booking write placed nothing"))
    }

    /// The placements that move on the calendar (a check-in or an approval moves nothing).
    pub(crate) fn moving(&self) -> impl Iterator<Item = &Placement> {
        self.placements.iter().filter(|p| p.moves())
    }

    /// Each placement's booking as the write puts it, over the version it must still be at.
    pub(crate) fn puts(&self) -> Vec<BookingPut<'_>> {
        self.placements
            .iter()
            .map(|p| BookingPut {
                record: &p.record,
                expected: p.expected,
            })
            .collect()
    }

    /// Sets each placement's release deadline, from its room and the tenant's check-in policy.
    pub(crate) fn set_release(&mut self, room: Option<&RoomRecord>, policy: &CheckInPolicy) {
        for placement in &mut self.placements {
            placement.record.release_at = release_at(&placement.record, room, policy);
        }
    }

    /// The notices the plan makes: one per kind and organiser (a series is told once, with
    /// all its occurrences), each with the room as it was read.
    pub(crate) fn notices(
        &self,
        tenant_id: &str,
        room_id: &str,
        room: Option<&RoomRecord>,
    ) -> Vec<Notice> {
        if !self.announce {
            return Vec::new();
        }
        let actor = self.audit.first().map(|entry| entry.actor.clone());
        let at = Timestamp::now();
        let mut grouped: BTreeMap<(NoticeKind, &str), Vec<Booking>> = BTreeMap::new();
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
                at,
                room_id: room_id.to_owned(),
                room: room.map(|room| room.room.clone()),
                bookings,
            })
            .collect()
    }
}

/// When the release schedule releases `record` on `room` (see
/// [`steward_domain::terminal::check_in::release_deadline`]).
fn release_at(
    record: &Booking,
    room: Option<&RoomRecord>,
    policy: &CheckInPolicy,
) -> Option<Timestamp> {
    let room = room?;
    release_deadline(
        record.status,
        &record.slot,
        &room.room.rules,
        room.room.capacity,
        policy,
    )
}
