//! What a terminal does at its door: the room's state, check-in by PIN or badge, walk-up
//! bookings, ending and extending the booking under way, heartbeats.

use http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Caller, Record, new_id};
use steward_authz::Permission;
use steward_calendar::{
    Authority, BookingRequest, CalendarError, Holder, Placement, Plan, RoomAt, Times, waived,
};
use steward_domain::booking::days::days_of;
use steward_domain::booking::entity::Booking;
use steward_domain::booking::rules::Slot;
use steward_domain::booking::status::{BookingStatus, Transition};
use steward_domain::terminal::badge::BadgeId;
use steward_domain::terminal::check_in::{CheckInPolicy, CheckInRefusal, PIN_WINDOW, may_check_in};
use steward_domain::terminal::pin::pin_matches;
use steward_domain::terminal::status::{Occupant, status_at};
use steward_kit::api::{self, ApiRequest, Principal};
use steward_kit::retry::Optimistic;
use steward_kit::{ApiError, FieldError};
use steward_store::audit::AuditEntry;
use steward_store::bookings::Listing;
use steward_store::preconditions::Precondition;
use steward_store::rooms::RoomRecord;
use steward_store::terminals::{PinCount, TerminalRecord};

use super::auth::{Source, replay, revoked};
use super::{Device, Terminals};

/// How one try of a check-in ended, when not checked in.
enum Attempt {
    /// Something it relied on changed: read again and retry.
    Changed,
    /// Refused on what it read: the request's nonce is still to be used.
    Refused(ApiError),
    /// Answered as is (a replay, a store failure).
    Final(ApiError),
}

impl From<ApiError> for Attempt {
    fn from(error: ApiError) -> Self {
        Self::Refused(error)
    }
}

/// The answer while PINs are refused until `until` (unix seconds), if that is after `now`.
fn pins_locked(until: i64, now: Timestamp) -> Option<ApiError> {
    let locked_for = until - now.as_second();
    (locked_for > 0).then(|| ApiError::PinLocked {
        retry_after: std::time::Duration::from_secs(locked_for.unsigned_abs()),
    })
}

/// How far around now a terminal looks for its room's bookings.
const AROUND: SignedDuration = SignedDuration::from_hours(24);

/// Who is at the door: a booking's PIN, or a badge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Presented {
    #[serde(default)]
    pub pin: Option<String>,
    #[serde(default)]
    pub badge: Option<String>,
}

impl Presented {
    pub(super) fn parse(&self) -> Result<Credential, ApiError> {
        match (&self.pin, &self.badge) {
            (Some(pin), None) => {
                let pin = pin.trim();
                if pin.is_empty() || pin.len() > 12 || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ApiError::validation("pin", "the booking's PIN: digits"));
                }
                Ok(Credential::Pin(pin.to_owned()))
            }
            (None, Some(badge)) => Ok(Credential::Badge(
                BadgeId::parse(badge).map_err(|m| ApiError::validation("badge", m))?,
            )),
            _ => Err(ApiError::Validation(vec![FieldError::new(
                "pin",
                "either a pin or a badge",
            )])),
        }
    }
}

/// A presented credential before it is looked up.
#[derive(Debug, Clone)]
pub(super) enum Credential {
    Pin(String),
    Badge(BadgeId),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WalkUpInput {
    badge: String,
    #[serde(default)]
    end: Option<Timestamp>,
    #[serde(default)]
    title: Option<steward_domain::text::Title>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendInput {
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    badge: Option<String>,
    minutes: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatInput {
    #[serde(default)]
    app_version: Option<String>,
}

fn summary(record: &Booking) -> Value {
    json!({
        "id": record.booking_id,
        "title": record.title,
        "start": record.slot.start,
        "end": record.slot.end,
        "status": record.status,
    })
}

/// The room a terminal stands at and its bookings around `at`.
pub(super) struct Door {
    pub room: RoomRecord,
    pub bookings: Vec<Booking>,
}

/// Whole seconds: times are shown and compared as RFC 3339.
fn second(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

impl Terminals {
    pub(super) fn policy(device: &Device) -> CheckInPolicy {
        device.caller.tenant.check_in.unwrap_or_default()
    }

    pub(super) async fn door(&self, device: &Device, at: Timestamp) -> Result<Door, ApiError> {
        self.door_from(device, at, Source::Read).await
    }

    /// [`Self::door`], with the room as this instance kept it from `Source::Kept`.
    async fn door_from(
        &self,
        device: &Device,
        at: Timestamp,
        source: Source,
    ) -> Result<Door, ApiError> {
        let tenant_id = &device.terminal.tenant_id;
        let room_id = &device.terminal.room_id;
        let around = Slot {
            start: at - AROUND,
            end: at + AROUND,
        };
        let kept = match source {
            Source::Kept => self.kept_room(tenant_id, room_id),
            Source::Read => None,
        };
        let room = async {
            match kept {
                Some(room) => Ok(Some(room)),
                None => self.read_room(tenant_id, room_id).await,
            }
        };
        let (room, (bookings, _)) = tokio::try_join!(
            room,
            self.bookings
                .all(tenant_id, Listing::Room(room_id), around, 500),
        )?;
        let room = room.ok_or_else(|| ApiError::NotFound(format!("room {room_id} (archived)")))?;
        Ok(Door { room, bookings })
    }

    /// `GET /v1/terminal/status`.
    pub(super) async fn status(
        &self,
        _request: &ApiRequest,
        device: Device,
    ) -> Result<Response<Body>, ApiError> {
        let now = Timestamp::now();
        let door = self.door(&device, now).await?;
        let occupants: Vec<Occupant> = door
            .bookings
            .iter()
            .map(|b| Occupant {
                slot: b.slot,
                status: b.status,
            })
            .collect();
        let status = status_at(
            &occupants,
            &door.room.room.rules,
            &Self::policy(&device),
            now,
        );
        let pick = |i: Option<usize>| i.and_then(|i| door.bookings.get(i)).map(summary);
        api::json(
            StatusCode::OK,
            &json!({
                "now": second(now),
                "room": {
                    "id": door.room.room_id,
                    "name": door.room.room.name,
                    "time_zone": door.room.room.time_zone,
                    "check_in_required": door.room.room.rules.check_in_required,
                },
                "state": status.state,
                "current": pick(status.current),
                "next": pick(status.next),
                "check_in_window": status.window,
                "free_until": status.free_until,
            }),
        )
    }

    /// The member of a registered badge.
    pub(super) async fn badge_member(
        &self,
        device: &Device,
        badge: &BadgeId,
    ) -> Result<Option<String>, ApiError> {
        Ok(self
            .terminals
            .badge(&device.terminal.tenant_id, badge.as_str())
            .await?
            .map(|b| b.member_id))
    }

    /// 429 while `terminal` (as read) refuses PINs.
    pub(super) fn pins_open(terminal: &TerminalRecord, now: Timestamp) -> Result<(), ApiError> {
        match pins_locked(terminal.pin_locked_until, now) {
            Some(locked) => Err(locked),
            None => Ok(()),
        }
    }

    /// Why a write that held `device`'s terminal failed: revoked or paired again (401), or
    /// refusing PINs since the terminal was read (429).
    pub(super) async fn terminal_changed(&self, device: &Device) -> ApiError {
        let (tenant_id, terminal_id) = (&device.terminal.tenant_id, &device.terminal.terminal_id);
        self.forget_terminal(tenant_id, terminal_id);
        match self.read_terminal(tenant_id, terminal_id).await {
            Err(error) => error.into(),
            Ok(Some(current)) if current.paired_at == device.terminal.paired_at => {
                Self::pins_open(&current, Timestamp::now()).err().unwrap_or(
                    // Its lock ran out meanwhile: the terminal may try again at once.
                    ApiError::Unavailable {
                        retry_after: std::time::Duration::from_secs(1),
                        source: None,
                    },
                )
            }
            Ok(_) => revoked(),
        }
    }

    /// Counts a wrong PIN: the answer says how many are left, and the last locks the terminal.
    pub(super) async fn wrong_pin(&self, device: &Device, now: Timestamp) -> ApiError {
        let policy = Self::policy(device);
        let terminal = &device.terminal;
        let counted = self
            .terminals
            .pin_failed(
                &terminal.tenant_id,
                &terminal.terminal_id,
                now.as_second(),
                PIN_WINDOW.as_secs(),
            )
            .await;
        let failures = match counted {
            Ok(PinCount::Counted(failures)) => failures,
            // The same answer as the right PIN gets at a locked terminal.
            Ok(PinCount::Locked { until }) => {
                return pins_locked(until, now).unwrap_or(ApiError::WrongPin { attempts_left: 0 });
            }
            Ok(PinCount::Gone) => {
                self.forget_terminal(&terminal.tenant_id, &terminal.terminal_id);
                return revoked();
            }
            Err(error) => return error.into(),
        };
        tracing::warn!(terminal = %terminal.terminal_id, failures, "wrong PIN");
        let left = policy.pin_attempts.saturating_sub(failures);
        if left == 0 {
            let until = now.as_second() + i64::from(policy.pin_lockout_minutes) * 60;
            if let Err(error) = self
                .terminals
                .lock_pins(&terminal.tenant_id, &terminal.terminal_id, until)
                .await
            {
                return error.into();
            }
        }
        ApiError::WrongPin {
            attempts_left: left,
        }
    }

    /// The booking a credential names among `bookings` (those `eligible`), and the member who
    /// acts: a PIN is its organiser's; a badge's member must attend it. For a badge, of several
    /// bookings the one whose window is open at `at`, else the nearest.
    pub(super) async fn presented_booking<'b>(
        &self,
        device: &Device,
        presented: &Credential,
        bookings: &'b [Booking],
        eligible: impl Fn(&Booking) -> bool,
        at: Timestamp,
        count_wrong_pins: bool,
    ) -> Result<(&'b Booking, String), ApiError> {
        let tenant_id = &device.terminal.tenant_id;
        match presented {
            Credential::Pin(pin) => {
                Self::pins_open(&device.terminal, Timestamp::now())?;
                let found = bookings
                    .iter()
                    .filter(|b| eligible(b))
                    .find(|b| pin_matches(&self.pins, tenant_id, &b.booking_id, pin));
                match found {
                    Some(booking) => Ok((booking, booking.organiser.clone())),
                    None if count_wrong_pins => Err(self.wrong_pin(device, Timestamp::now()).await),
                    None => Err(ApiError::WrongPin { attempts_left: 0 }),
                }
            }
            Credential::Badge(badge) => {
                let member = self
                    .badge_member(device, badge)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("badge {}", badge.as_str())))?;
                let mut theirs: Vec<&Booking> = bookings
                    .iter()
                    .filter(|b| eligible(b) && b.attended_by(&member))
                    .collect();
                theirs.sort_by_key(|b| b.slot.start.duration_since(at).abs());
                let booking = theirs.first().copied().ok_or_else(|| ApiError::Forbidden {
                    detail: "this badge's member is neither the organiser nor an invitee of a \
                             booking here now"
                        .into(),
                    permission: None,
                    feature: None,
                })?;
                Ok((booking, member))
            }
        }
    }

    /// The member as a caller who may perform `permission` (active, their role, the licence).
    pub(super) async fn member(
        &self,
        device: &Device,
        member: &str,
        permission: Permission,
    ) -> Result<Caller, ApiError> {
        let principal = Principal {
            user_id: member.to_owned(),
            tenant_id: device.terminal.tenant_id.clone(),
            session_id: String::new(),
            second_factor: false,
        };
        self.guard.allow_principal(&principal, permission).await
    }

    /// An audit entry for a terminal's change, in the name of the member at the door.
    pub(super) fn audit(
        &self,
        request: &ApiRequest,
        device: &Device,
        actor: &str,
        action: &str,
        before: Option<&Booking>,
        after: &Booking,
    ) -> AuditEntry {
        let mut after_view = steward_calendar::view::booking(after);
        after_view["terminal_id"] = json!(device.terminal.terminal_id);
        self.auditor.entry(
            request,
            Record {
                tenant_id: &device.terminal.tenant_id,
                actor,
                action,
                target: &format!("booking:{}", after.booking_id),
                before: before
                    .map(steward_calendar::view::booking)
                    .unwrap_or(Value::Null),
                after: after_view,
            },
        )
    }

    /// Commits `current` becoming `next`, held from `from` to `to`, on the room's calendar,
    /// while the terminal is paired as it was read and, for a change `by` a PIN, open to PINs.
    pub(super) async fn commit(
        &self,
        device: &Device,
        by: &Credential,
        current: &Booking,
        next: Booking,
        (from, to): (Option<Slot>, Option<Slot>),
        audit: AuditEntry,
    ) -> Result<Booking, ApiError> {
        let tenant = &device.caller.tenant;
        let likely = from.or(to).map(|s| days_of(&s)).unwrap_or_default();
        let paired = Self::still_paired(device, by, Timestamp::now());
        let at = RoomAt::Read {
            tenant_id: &device.terminal.tenant_id,
            room_id: &current.room_id,
            likely: &likely,
        };
        let planned = self
            .calendar
            .place(at, Holder::in_tenant(tenant, &current.organiser), |_| {
                Ok::<_, CalendarError>(
                    Plan::single(
                        Placement::change(current, next.clone(), from, to),
                        audit.clone(),
                    )
                    .requiring(paired.clone()),
                )
            })
            .await;
        let plan = match planned {
            Err(CalendarError::Unmet(Precondition::TerminalPaired { .. })) => {
                return Err(self.terminal_changed(device).await);
            }
            other => other?,
        };
        Ok(plan.placed()?)
    }

    /// What a write by `device` holds of its terminal: still paired as read and, for a write a
    /// PIN made, open to PINs at `now`.
    fn still_paired(device: &Device, by: &Credential, now: Timestamp) -> Precondition {
        Precondition::TerminalPaired {
            tenant_id: device.terminal.tenant_id.clone(),
            terminal_id: device.terminal.terminal_id.clone(),
            paired_at: device.terminal.paired_at.clone().unwrap_or_default(),
            pins_open_at: matches!(by, Credential::Pin(_)).then_some(now.as_second()),
        }
    }

    /// The slot of `booking` if it may be checked in to at `at`: refused outside its window or
    /// unless confirmed.
    fn checkable(
        device: &Device,
        booking: &Booking,
        room: &RoomRecord,
        at: Timestamp,
    ) -> Result<Slot, ApiError> {
        let slot = booking.slot;
        may_check_in(
            booking.status,
            &slot,
            &room.room.rules,
            &Self::policy(device),
            at,
        )
        .map_err(|refusal| match refusal {
            CheckInRefusal::OutsideWindow(window) => ApiError::OutsideCheckInWindow {
                opens: window.opens.to_string(),
                closes: window.closes.to_string(),
            },
            CheckInRefusal::NotConfirmed(status) => ApiError::Conflict(format!(
                "booking {} is {status}; only a confirmed booking is checked in to",
                booking.booking_id
            )),
        })?;
        Ok(slot)
    }

    /// Checks `booking` in at `at` for `member`: refused outside its window or unless confirmed.
    pub(super) async fn check_in_booking(
        &self,
        request: &ApiRequest,
        device: &Device,
        (by, member): (&Credential, &str),
        booking: &Booking,
        at: Timestamp,
        room: &RoomRecord,
    ) -> Result<Booking, ApiError> {
        self.member(device, member, Permission::BookingsCheckIn)
            .await?;
        let slot = Self::checkable(device, booking, room, at)?;
        let next = booking
            .after(Transition::CheckIn, Timestamp::now())
            .map_err(ApiError::internal)?;
        let audit = self.audit(
            request,
            device,
            member,
            "booking.check_in",
            Some(booking),
            &next,
        );
        self.commit(device, by, booking, next, (Some(slot), Some(slot)), audit)
            .await
    }

    /// `POST /v1/terminal/check-in`. From a warm instance it costs one query (the room's
    /// bookings) and one write: the terminal and the room come as this instance kept them and
    /// the member is not read, as the write itself holds that the nonce is unused, the terminal
    /// still paired and open to PINs, the room's rules unchanged and the member active in a
    /// role that may check in. Whatever it finds changed is read afresh and the check-in tried
    /// again. A refused request uses its nonce up too, so that it cannot be replayed later.
    pub(super) async fn check_in(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let mut source = Source::Kept;
        let mut tries = Optimistic::new();
        while tries.next().await {
            let device = self.signed_by(request, source).await?;
            match self.try_check_in(request, &device, source).await {
                Ok(checked_in) => {
                    return api::json(
                        StatusCode::OK,
                        &steward_calendar::view::booking(&checked_in),
                    );
                }
                Err(Attempt::Changed) => source = Source::Read,
                Err(Attempt::Final(error)) => return Err(error),
                Err(Attempt::Refused(error)) => {
                    // Before anything about the PIN or badge is told: a revoked terminal is 401.
                    self.use_nonce_while_paired(&device).await?;
                    return Err(match error {
                        ApiError::WrongPin { .. } => {
                            self.wrong_pin(&device, Timestamp::now()).await
                        }
                        other => other,
                    });
                }
            }
        }
        Err(tries.spent())
    }

    /// One try of a check-in; a wrong PIN is refused uncounted (counted once its nonce is used).
    async fn try_check_in(
        &self,
        request: &ApiRequest,
        device: &Device,
        source: Source,
    ) -> Result<Booking, Attempt> {
        let presented = request.json::<Presented>()?.parse()?;
        let now = Timestamp::now();
        let door = self.door_from(device, now, source).await?;
        let (booking, member) = self
            .presented_booking(
                device,
                &presented,
                &door.bookings,
                |b| b.status.holds_room(),
                now,
                false,
            )
            .await?;
        let slot = Self::checkable(device, booking, &door.room, now)?;
        let caller = &device.caller;
        let roles = self.guard.roles_granting(
            &caller.tenant,
            caller.licence_enforced,
            Permission::BookingsCheckIn,
        );
        if roles.is_empty() {
            // No role may: read the member for the reason to answer.
            self.member(device, &member, Permission::BookingsCheckIn)
                .await?;
        }
        let next = booking
            .after(Transition::CheckIn, Timestamp::now())
            .map_err(ApiError::internal)?;
        let audit = self.audit(
            request,
            device,
            &member,
            "booking.check_in",
            Some(booking),
            &next,
        );
        let terminal = &device.terminal;
        // In this order: the first that fails is the one answered.
        let plan = Plan::single(
            Placement::change(booking, next, Some(slot), Some(slot)),
            audit,
        )
        .requiring(Precondition::NonceUnused {
            tenant_id: terminal.tenant_id.clone(),
            terminal_id: terminal.terminal_id.clone(),
            nonce: device.nonce.clone(),
            expires_at: Self::nonce_kept_until(),
        })
        .requiring(Self::still_paired(device, &presented, now))
        .requiring(Precondition::MemberHolds {
            tenant_id: terminal.tenant_id.clone(),
            user_id: member.clone(),
            roles,
        });
        let holder = Holder::in_tenant(&caller.tenant, &booking.organiser);
        let written = self
            .calendar
            .place(RoomAt::Kept(&door.room), holder, |_| {
                Ok::<_, CalendarError>(plan.clone())
            })
            .await;
        match written.and_then(Plan::placed) {
            Ok(checked_in) => Ok(checked_in),
            Err(CalendarError::Unmet(unmet)) => match unmet {
                Precondition::NonceUnused { .. } => Err(Attempt::Final(replay())),
                Precondition::TerminalPaired { .. } => {
                    self.forget_terminal(&terminal.tenant_id, &terminal.terminal_id);
                    Err(Attempt::Changed)
                }
                Precondition::MemberHolds { .. } => {
                    // Read the member: for the refusal, or (their roles changed meanwhile)
                    // for another try.
                    self.member(device, &member, Permission::BookingsCheckIn)
                        .await?;
                    Err(Attempt::Changed)
                }
            },
            Err(CalendarError::Moved | CalendarError::Stale) => {
                self.forget_room(&terminal.tenant_id, &terminal.room_id);
                Err(Attempt::Changed)
            }
            Err(error) => Err(Attempt::Final(error.into())),
        }
    }

    /// `POST /v1/terminal/walk-up`: a badge books the room from now until the next booking
    /// (buffers counted), the end asked for, or the room's longest booking; checked in at once.
    pub(super) async fn walk_up(
        &self,
        request: &ApiRequest,
        device: Device,
    ) -> Result<Response<Body>, ApiError> {
        let input: WalkUpInput = request.json()?;
        let badge = BadgeId::parse(&input.badge).map_err(|m| ApiError::validation("badge", m))?;
        let member = self
            .badge_member(&device, &badge)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("badge {}", badge.as_str())))?;
        let caller = self
            .member(&device, &member, Permission::BookingsCreate)
            .await?;
        self.guard.also(&caller, Permission::BookingsCheckIn)?;
        let now = second(Timestamp::now());
        let door = self.door(&device, now).await?;
        let rules = door.room.room.rules;
        if !door.room.room.bookable || rules.approval_required {
            return Err(ApiError::Conflict(format!(
                "room {} takes no walk-up bookings (not bookable, or it needs approval)",
                door.room.room_id
            )));
        }
        let gap = SignedDuration::from_mins(i64::from(
            rules.buffer_before_minutes + rules.buffer_after_minutes,
        ));
        let next_start = door
            .bookings
            .iter()
            .filter(|b| b.status.holds_room())
            .map(|b| b.slot)
            .filter(|s| s.end > now)
            .map(|s| s.start)
            .min();
        let longest = now + SignedDuration::from_mins(i64::from(rules.max_duration_minutes));
        let mut end = longest;
        if let Some(start) = next_start {
            end = end.min(start - gap);
        }
        if let Some(asked) = input.end {
            end = end.min(second(asked));
        }
        let slot = Slot::new(now, end).map_err(|_| {
            ApiError::Conflict(format!(
                "room {} is not free now{}",
                door.room.room_id,
                next_start
                    .map(|s| format!(" (booked from {s})"))
                    .unwrap_or_default()
            ))
        })?;
        let booking_id = new_id("bkg");
        let tenant_id = &device.terminal.tenant_id;
        let asked = BookingRequest {
            tenant_id,
            booking_id: &booking_id,
            room_id: &door.room.room_id,
            organiser: &member,
            title: input.title.as_deref().unwrap_or("Walk-up"),
            times: Times::Exact(slot),
            override_reason: None,
            started: true,
        };
        let (mut record, slot) = asked.build(Some(&door.room), &Authority::none(), now)?;
        record.status = BookingStatus::CheckedIn;
        let audit = self.audit(request, &device, &member, "booking.walk_up", None, &record);
        let at = RoomAt::Read {
            tenant_id,
            room_id: &door.room.room_id,
            likely: &days_of(&slot),
        };
        let plan = self
            .calendar
            .place(at, Holder::of(&caller, &member), |_| {
                Ok::<_, ApiError>(Plan::single(
                    Placement::new(record.clone(), slot),
                    audit.clone(),
                ))
            })
            .await?;
        let record = plan.placed()?;
        api::json(
            StatusCode::CREATED,
            &steward_calendar::view::booking(&record),
        )
    }

    /// The booking under way at `now` that a credential names.
    async fn under_way(
        &self,
        device: &Device,
        presented: &Credential,
        door: &Door,
        now: Timestamp,
    ) -> Result<(Booking, String), ApiError> {
        let (booking, member) = self
            .presented_booking(
                device,
                presented,
                &door.bookings,
                |b| b.status.may_be_under_way() && b.slot.start <= now && now < b.slot.end,
                now,
                true,
            )
            .await?;
        Ok((booking.clone(), member))
    }

    /// `POST /v1/terminal/end`: ends the booking under way now, freeing the rest.
    pub(super) async fn end(
        &self,
        request: &ApiRequest,
        device: Device,
    ) -> Result<Response<Body>, ApiError> {
        let presented = request.json::<Presented>()?.parse()?;
        let now = second(Timestamp::now());
        let door = self.door(&device, now).await?;
        let (current, member) = self.under_way(&device, &presented, &door, now).await?;
        self.member(&device, &member, Permission::BookingsCheckIn)
            .await?;
        let from = current.slot;
        let mut next = current
            .after(Transition::End, now)
            .map_err(ApiError::internal)?;
        next.slot = from.cut_at(now);
        // A booking that ends the second it started holds nothing.
        let ended = Some(next.slot).filter(|slot| !slot.is_empty());
        let audit = self.audit(
            request,
            &device,
            &member,
            "booking.end",
            Some(&current),
            &next,
        );
        let ended = self
            .commit(
                &device,
                &presented,
                &current,
                next,
                (Some(from), ended),
                audit,
            )
            .await?;
        api::json(StatusCode::OK, &steward_calendar::view::booking(&ended))
    }

    /// `POST /v1/terminal/extend`: moves the end of the booking under way by `minutes`.
    pub(super) async fn extend(
        &self,
        request: &ApiRequest,
        device: Device,
    ) -> Result<Response<Body>, ApiError> {
        let input: ExtendInput = request.json()?;
        if !(5..=240).contains(&input.minutes) {
            return Err(ApiError::validation("minutes", "5 to 240"));
        }
        let presented = Presented {
            pin: input.pin,
            badge: input.badge,
        }
        .parse()?;
        let now = second(Timestamp::now());
        let door = self.door(&device, now).await?;
        let (current, member) = self.under_way(&device, &presented, &door, now).await?;
        self.member(&device, &member, Permission::BookingsCheckIn)
            .await?;
        let from = current.slot;
        let to = Slot::new(
            from.start,
            from.end + SignedDuration::from_mins(i64::from(input.minutes)),
        )
        .map_err(ApiError::internal)?;
        let rules = &door.room.room.rules;
        waived(rules, &to, true, None, &Authority::none(), Timestamp::now())?;
        let mut next = current.revised(Timestamp::now());
        next.slot = to;
        let audit = self.audit(
            request,
            &device,
            &member,
            "booking.extend",
            Some(&current),
            &next,
        );
        let extended = self
            .commit(
                &device,
                &presented,
                &current,
                next,
                (Some(from), Some(to)),
                audit,
            )
            .await?;
        api::json(StatusCode::OK, &steward_calendar::view::booking(&extended))
    }

    /// `POST /v1/terminal/heartbeat`.
    pub(super) async fn heartbeat(
        &self,
        request: &ApiRequest,
        device: Device,
    ) -> Result<Response<Body>, ApiError> {
        let input: HeartbeatInput = request.json_or_default()?;
        let shaped = |v: &String| v.len() <= 40 && v.bytes().all(|b| b.is_ascii_graphic());
        if input.app_version.as_ref().is_some_and(|v| !shaped(v)) {
            return Err(ApiError::validation(
                "app_version",
                "at most 40 visible ASCII characters",
            ));
        }
        self.terminals
            .seen(
                &device.terminal.tenant_id,
                &device.terminal.terminal_id,
                &Timestamp::now().to_string(),
                input.app_version.as_deref(),
            )
            .await?;
        api::no_content()
    }
}
