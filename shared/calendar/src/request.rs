//! The one way a new booking is made from what was asked: a bookable room, the times read in
//! its zone, a slot, the room's rules (waived only with a reason, by someone who may), and the
//! record with the status the room's approval rule gives it.

use jiff::Timestamp;
use jiff::civil::DateTime;
use steward_authz::DenyReason;
use steward_domain::booking::entity::{Booking, NewBooking};
use steward_domain::booking::local_time::RoomZone;
use steward_domain::booking::rules::{RoomRules, RuleBreach, Slot, breaches};
use steward_store::rooms::RoomRecord;

use crate::error::CalendarError;

/// What the person writing may do beyond a room's rules: decided by the guard before the
/// write, since a write is tried again and a decision need not be.
#[derive(Debug, Clone)]
pub struct Authority {
    overrides: Result<(), DenyReason>,
}

impl Authority {
    /// `overrides`: the guard's decision on managing rooms, which lets its holder book past
    /// their rules with a reason.
    pub fn new(overrides: Result<(), DenyReason>) -> Self {
        Self { overrides }
    }

    /// Nobody's: a write on no one's say (a terminal's walk-up waives no rule).
    pub fn none() -> Self {
        Self::new(Err(DenyReason::MissingPermission(
            steward_authz::Permission::RoomsManage,
        )))
    }
}

/// When a new booking is, as asked.
#[derive(Debug, Clone, Copy)]
pub enum Times<'a> {
    /// Text: RFC 3339 with an offset, or a local time on the room's wall clock.
    Given { start: &'a str, end: &'a str },
    /// An exact slot (an occurrence of a series, a walk-up from now).
    Exact(Slot),
}

/// A new booking, as asked.
#[derive(Debug, Clone, Copy)]
pub struct BookingRequest<'a> {
    pub tenant_id: &'a str,
    pub booking_id: &'a str,
    pub room_id: &'a str,
    pub organiser: &'a str,
    pub title: &'a str,
    pub times: Times<'a>,
    /// A manager's reason to book past the room's rules (never past another booking).
    pub override_reason: Option<&'a str>,
    /// Whether it starts now (a walk-up): the rules about the start do not apply.
    pub started: bool,
}

impl BookingRequest<'_> {
    /// The booking made of this request in `room` as read (`None`: there is none) at `now`, and
    /// the slot it takes.
    pub fn build(
        &self,
        room: Option<&RoomRecord>,
        authority: &Authority,
        now: Timestamp,
    ) -> Result<(Booking, Slot), CalendarError> {
        let room = bookable(room, self.room_id)?;
        let slot = match self.times {
            Times::Given { start, end } => {
                let zone = RoomZone::parse(&room.room.time_zone)
                    .map_err(|_| CalendarError::Internal("a stored room's zone is no zone"))?;
                let (start, end) = (instant(&zone, start, "start")?, instant(&zone, end, "end")?);
                Slot::new(start, end).map_err(|_| CalendarError::EmptySlot)?
            }
            Times::Exact(slot) => slot,
        };
        let rules = room.room.rules;
        let override_reason = waived(
            &rules,
            &slot,
            self.started,
            self.override_reason,
            authority,
            now,
        )?;
        let mut record = Booking::new(NewBooking {
            tenant_id: self.tenant_id,
            booking_id: self.booking_id,
            room_id: &room.room_id,
            organiser: self.organiser,
            title: self.title,
            slot,
            approval_required: rules.approval_required,
            at: now,
        });
        record.override_reason = override_reason;
        Ok((record, slot))
    }
}

/// `room` as read, if it takes bookings.
pub fn bookable<'r>(
    room: Option<&'r RoomRecord>,
    room_id: &str,
) -> Result<&'r RoomRecord, CalendarError> {
    let room = room.ok_or_else(|| CalendarError::RoomNotFound(room_id.to_owned()))?;
    if !room.room.bookable {
        return Err(CalendarError::NotBookable(room.room_id.clone()));
    }
    Ok(room)
}

/// An instant from RFC 3339, or from a local time on the room's wall clock.
pub fn instant(
    zone: &RoomZone,
    text: &str,
    field: &'static str,
) -> Result<Timestamp, CalendarError> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let local: DateTime = text.parse().map_err(|_| CalendarError::InvalidTime {
        field,
        message: "an RFC 3339 time, or a local time such as 2026-06-01T09:00".into(),
    })?;
    zone.resolve(local)
        .map_err(|error| CalendarError::InvalidTime {
            field,
            message: error.to_string(),
        })
}

/// The reason `slot` is booked past the rules it breaks at `now` (`None`: it breaks none);
/// refused without a reason, or with one from someone `authority` does not let waive them.
/// `started` leaves out the rules about the start (a booking under way is extended, not
/// booked).
pub fn waived(
    rules: &RoomRules,
    slot: &Slot,
    started: bool,
    reason: Option<&str>,
    authority: &Authority,
    now: Timestamp,
) -> Result<Option<String>, CalendarError> {
    let mut broken = breaches(rules, slot, now);
    if started {
        broken.retain(|b| {
            !matches!(
                b,
                RuleBreach::InThePast | RuleBreach::TooLittleNotice { .. }
            )
        });
    }
    match (broken.is_empty(), reason.map(str::trim)) {
        (true, _) => Ok(None),
        (false, Some(reason)) if !reason.is_empty() => match &authority.overrides {
            Ok(()) => Ok(Some(reason.to_owned())),
            Err(denied) => Err(CalendarError::OverrideDenied(denied.clone())),
        },
        (false, _) => Err(CalendarError::RulesBroken(broken)),
    }
}
