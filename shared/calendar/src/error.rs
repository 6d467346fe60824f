//! Why a calendar write was refused, and the one place that says it as the API's problems.

use steward_access::deny_to_problem;
use steward_authz::DenyReason;
use steward_domain::booking::rules::{Conflict, RuleBreach, Slot};
use steward_kit::retry::Optimistic;
use steward_kit::{ApiError, FieldError, Obstacle};
use steward_store::StoreError;
use steward_store::bookings::MAX_TRANSACTION_ITEMS;
use steward_store::preconditions::Precondition;

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("room {0} was not found")]
    RoomNotFound(String),
    #[error("room {0} is not bookable")]
    NotBookable(String),
    /// A time given as text that is none, or that the room's wall clock skips.
    #[error("{field}: {message}")]
    InvalidTime {
        field: &'static str,
        message: String,
    },
    /// The slot asked for ends before it starts.
    #[error("a booking ends after it starts")]
    EmptySlot,
    /// The room's rules, which only a reason from someone managing rooms waives.
    #[error("the slot breaks the room's rules")]
    RulesBroken(Vec<RuleBreach>),
    /// A reason to waive the rules, from someone whose roles do not let them.
    #[error("the rules are not theirs to waive: {0}")]
    OverrideDenied(DenyReason),
    /// Each slot wanted and what it met; `single` when one booking was moving.
    #[error("the room is taken")]
    Taken {
        met: Vec<(Slot, Vec<Conflict>)>,
        single: bool,
    },
    /// A booking changed since it was read (its version is not the one the write holds to).
    #[error("the booking changed since it was read")]
    Stale,
    /// The room or a day changed under a write on a kept room: read again.
    #[error("the room's calendar changed since it was read")]
    Moved,
    #[error("{0}")]
    QuotaExceeded(String),
    /// The organiser lacks these credential types (named as people read them).
    #[error("credentials required: {}", .0.join(", "))]
    CredentialRequired(Vec<String>),
    #[error("{bookings} bookings over {days} days are more than one write holds")]
    TooLarge { bookings: usize, days: usize },
    /// A precondition of the plan no longer held.
    #[error("a precondition of the write no longer holds")]
    Unmet(Precondition),
    /// Every try met another writer.
    #[error("{tries} tries met other writers")]
    Contended { tries: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(&'static str),
}

impl From<steward_store::bookings::BookingWriteError> for CalendarError {
    fn from(error: steward_store::bookings::BookingWriteError) -> Self {
        use steward_store::bookings::BookingWriteError as W;
        match error {
            W::Moved => Self::Moved,
            W::Stale => Self::Stale,
            W::Store(error) => Self::Store(error),
            W::Unmet(_) => Self::Internal("an unmet precondition, not named"),
        }
    }
}

impl From<CalendarError> for ApiError {
    fn from(error: CalendarError) -> Self {
        use CalendarError as E;
        match error {
            E::RoomNotFound(room_id) => ApiError::NotFound(format!("room {room_id}")),
            E::NotBookable(room_id) => {
                ApiError::Conflict(format!("room {room_id} is not bookable"))
            }
            E::InvalidTime { field, message } => ApiError::validation(field, message),
            E::EmptySlot => ApiError::validation("end", E::EmptySlot.to_string()),
            E::RulesBroken(broken) => breach_problem(&broken),
            E::OverrideDenied(reason) => {
                tracing::warn!(%reason, "a rule override denied");
                deny_to_problem(&reason)
            }
            E::Taken { met, single } => conflicts_problem(&met, single),
            E::Stale => ApiError::PreconditionFailed("booking".into()),
            E::QuotaExceeded(detail) => ApiError::QuotaExceeded(detail),
            E::CredentialRequired(missing) => ApiError::CredentialRequired { missing },
            E::TooLarge { bookings, days } => ApiError::validation(
                "recurrence",
                format!(
                    "{bookings} bookings over {days} days of the room are more than one \
                     all-or-nothing write holds ({MAX_TRANSACTION_ITEMS} items): split the series"
                ),
            ),
            // The terminal's own write tells a revoked terminal from a locked one.
            E::Unmet(Precondition::TerminalPaired { .. }) => {
                ApiError::TerminalUnauthorized("the terminal changed while its request ran".into())
            }
            E::Unmet(_) => ApiError::internal("an unmet precondition the plan did not set"),
            E::Contended { tries } => Optimistic::unavailable(tries),
            // Only a write on a kept room answers it, whose caller reads again; one that
            // reaches the API met another writer.
            E::Moved => Optimistic::unavailable(1),
            E::Store(error) => error.into(),
            E::Internal(what) => ApiError::internal(what),
        }
    }
}

/// Every broken rule, as a field named after it.
fn breach_problem(broken: &[RuleBreach]) -> ApiError {
    ApiError::Validation(
        broken
            .iter()
            .map(|breach| FieldError::new(format!("rules.{}", breach.rule()), breach.to_string()))
            .collect(),
    )
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
pub fn taken_detail(met: &[Conflict]) -> String {
    format!("the room is taken: {}", named(met))
}

/// A conflict as a 409's obstacle, and as availability's reason; whose booking it is, the
/// handler adds (`held_by`).
pub fn obstacle(conflict: &Conflict) -> Obstacle {
    match conflict {
        Conflict::Booking {
            booking_id,
            start,
            end,
            buffer_only,
        } => Obstacle {
            kind: if *buffer_only { "buffer" } else { "booking" },
            booking_id: Some(booking_id.clone()),
            closure_id: None,
            start: start.to_string(),
            end: end.to_string(),
            reason: None,
            held_by: None,
        },
        Conflict::Closure {
            closure_id,
            start,
            end,
            reason,
        } => Obstacle {
            kind: "closure",
            booking_id: None,
            closure_id: Some(closure_id.clone()),
            start: start.to_string(),
            end: end.to_string(),
            reason: Some(reason.clone()),
            held_by: None,
        },
    }
}

/// The problem naming every placement's conflicts; with several placements, each by the slot
/// it wanted.
fn conflicts_problem(all: &[(Slot, Vec<Conflict>)], single: bool) -> ApiError {
    if let ([(_, met)], true) = (all, single) {
        return ApiError::SlotTaken {
            detail: taken_detail(met),
            obstacles: met.iter().map(obstacle).collect(),
        };
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
