//! A room's booking rules and what a slot must satisfy (SPEC §C): duration bounds, the booking
//! horizon, the minimum notice, closures, and no overlap with another booking once both sides'
//! buffers are counted. Every refusal names its rule or the booking or closure it meets, so the
//! API can say why.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The longest buffer a room may keep before or after a booking.
pub const MAX_BUFFER_MINUTES: u32 = 240;

/// How far a booking's buffers can reach beyond it, whatever its room's rules say now: where
/// the days that could hold something meeting it are.
pub const MAX_BUFFER: SignedDuration = SignedDuration::from_mins(MAX_BUFFER_MINUTES as i64);

/// The rules of one room; durations in minutes, as operators write them. Rules left out of a
/// request take their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomRules {
    pub min_duration_minutes: u32,
    pub max_duration_minutes: u32,
    /// How far ahead a booking may start.
    pub horizon_days: u32,
    /// How long before its start a booking must be made.
    pub min_notice_minutes: u32,
    /// Set-up time kept free before each booking.
    pub buffer_before_minutes: u32,
    /// Clean-up time kept free after each booking.
    pub buffer_after_minutes: u32,
    pub approval_required: bool,
    pub check_in_required: bool,
    /// Minutes after the start a booking needing check-in is released without one.
    pub release_minutes: u32,
}

impl Default for RoomRules {
    fn default() -> Self {
        Self {
            min_duration_minutes: 15,
            max_duration_minutes: 8 * 60,
            horizon_days: 180,
            min_notice_minutes: 0,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            approval_required: false,
            check_in_required: false,
            release_minutes: 15,
        }
    }
}

/// A half-open interval of time, `[start, end)`. One made for a request ends after it starts;
/// one cut short may be empty (a booking ended the second it began), never reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedSlot")]
pub struct Slot {
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Deserialize)]
struct UncheckedSlot {
    start: Timestamp,
    end: Timestamp,
}

impl TryFrom<UncheckedSlot> for Slot {
    type Error = EmptySlot;

    fn try_from(slot: UncheckedSlot) -> Result<Self, EmptySlot> {
        if slot.end >= slot.start {
            Ok(Self {
                start: slot.start,
                end: slot.end,
            })
        } else {
            Err(EmptySlot)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a booking ends after it starts")]
pub struct EmptySlot;

impl Slot {
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, EmptySlot> {
        if end > start {
            Ok(Self { start, end })
        } else {
            Err(EmptySlot)
        }
    }

    /// The slot ended at `end`, kept within it: empty when that is its start (or before).
    pub fn cut_at(self, end: Timestamp) -> Self {
        Self {
            start: self.start,
            end: end.clamp(self.start, self.end),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    pub fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The slot with the room's buffers around it: what it keeps others out of.
    pub fn blocked(&self, rules: &RoomRules) -> Slot {
        let minutes = |m: u32| SignedDuration::from_mins(i64::from(m));
        Slot {
            start: self
                .start
                .checked_sub(minutes(rules.buffer_before_minutes))
                .unwrap_or(self.start),
            end: self
                .end
                .checked_add(minutes(rules.buffer_after_minutes))
                .unwrap_or(self.end),
        }
    }
}

/// A rule a slot breaks, with what the rule says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RuleBreach {
    InThePast,
    TooShort { min_minutes: u32 },
    TooLong { max_minutes: u32 },
    BeyondHorizon { horizon_days: u32 },
    TooLittleNotice { min_notice_minutes: u32 },
}

impl RuleBreach {
    /// The rule's name, as its `rule` tag serialises.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::InThePast => "in_the_past",
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::BeyondHorizon { .. } => "beyond_horizon",
            Self::TooLittleNotice { .. } => "too_little_notice",
        }
    }
}

impl std::fmt::Display for RuleBreach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InThePast => write!(f, "the booking starts in the past"),
            Self::TooShort { min_minutes } => {
                write!(
                    f,
                    "shorter than the room's minimum of {min_minutes} minutes"
                )
            }
            Self::TooLong { max_minutes } => {
                write!(f, "longer than the room's maximum of {max_minutes} minutes")
            }
            Self::BeyondHorizon { horizon_days } => {
                write!(
                    f,
                    "further ahead than the room's {horizon_days}-day horizon"
                )
            }
            Self::TooLittleNotice { min_notice_minutes } => write!(
                f,
                "less notice than the room's {min_notice_minutes} minutes"
            ),
        }
    }
}

/// The rules `slot` breaks if booked at `now`; managers may override these (never conflicts).
pub fn breaches(rules: &RoomRules, slot: &Slot, now: Timestamp) -> Vec<RuleBreach> {
    let mut breaches = Vec::new();
    let minutes = slot.duration().as_secs() / 60;
    if slot.start < now {
        breaches.push(RuleBreach::InThePast);
    }
    if minutes < i64::from(rules.min_duration_minutes) {
        breaches.push(RuleBreach::TooShort {
            min_minutes: rules.min_duration_minutes,
        });
    }
    if minutes > i64::from(rules.max_duration_minutes) {
        breaches.push(RuleBreach::TooLong {
            max_minutes: rules.max_duration_minutes,
        });
    }
    let ahead = slot.start.duration_since(now);
    if ahead > SignedDuration::from_hours(24 * i64::from(rules.horizon_days)) {
        breaches.push(RuleBreach::BeyondHorizon {
            horizon_days: rules.horizon_days,
        });
    }
    if slot.start >= now && ahead < SignedDuration::from_mins(i64::from(rules.min_notice_minutes)) {
        breaches.push(RuleBreach::TooLittleNotice {
            min_notice_minutes: rules.min_notice_minutes,
        });
    }
    breaches
}

/// Something already on the room's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Booking {
        booking_id: String,
        slot: Slot,
    },
    Closure {
        closure_id: String,
        slot: Slot,
        reason: String,
    },
}

/// Why a slot cannot be had: the booking it meets (buffers counted on both sides) or the
/// closure it falls in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    Booking {
        booking_id: String,
        start: Timestamp,
        end: Timestamp,
        /// Whether only the buffers overlap, not the bookings themselves.
        buffer_only: bool,
    },
    Closure {
        closure_id: String,
        start: Timestamp,
        end: Timestamp,
        reason: String,
    },
}

/// What `slot` meets on a calendar of `taken`, skipping `ignoring` (the booking being moved).
pub fn conflicts(
    rules: &RoomRules,
    slot: &Slot,
    taken: &[Taken],
    ignoring: Option<&str>,
) -> Vec<Conflict> {
    let blocked = slot.blocked(rules);
    taken
        .iter()
        .filter_map(|taken| match taken {
            Taken::Booking { booking_id, .. } if Some(booking_id.as_str()) == ignoring => None,
            Taken::Booking {
                booking_id,
                slot: other,
            } => {
                // Each side keeps its own buffers: the gap between two bookings is at least the
                // first one's clean-up plus the second one's set-up.
                blocked
                    .overlaps(&other.blocked(rules))
                    .then(|| Conflict::Booking {
                        booking_id: booking_id.clone(),
                        start: other.start,
                        end: other.end,
                        buffer_only: !slot.overlaps(other),
                    })
            }
            Taken::Closure {
                closure_id,
                slot: closed,
                reason,
            } => slot.overlaps(closed).then(|| Conflict::Closure {
                closure_id: closure_id.clone(),
                start: closed.start,
                end: closed.end,
                reason: reason.clone(),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breach_is_named_by_the_tag_it_serialises_with() {
        for breach in [
            RuleBreach::InThePast,
            RuleBreach::TooShort { min_minutes: 1 },
            RuleBreach::TooLong { max_minutes: 1 },
            RuleBreach::BeyondHorizon { horizon_days: 1 },
            RuleBreach::TooLittleNotice {
                min_notice_minutes: 1,
            },
        ] {
            let tagged = serde_json::to_value(&breach).unwrap();
            assert_eq!(tagged["rule"], breach.rule());
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn slot(start: &str, end: &str) -> Slot {
        Slot::new(at(start), at(end)).unwrap()
    }

    const NOW: &str = "2026-06-01T08:00:00Z";

    #[test]
    fn a_slot_cut_short_stays_within_itself_and_may_be_empty_but_never_reversed() {
        let meeting = slot("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
        let cut = meeting.cut_at(at("2026-06-01T09:20:00Z"));
        assert_eq!(cut, slot("2026-06-01T09:00:00Z", "2026-06-01T09:20:00Z"));
        assert!(!cut.is_empty());
        let at_start = meeting.cut_at(at("2026-06-01T08:59:00Z"));
        assert!(at_start.is_empty());
        assert_eq!(at_start.end, meeting.start);
        assert_eq!(meeting.cut_at(at("2026-06-01T11:00:00Z")), meeting);
        let read = |start: &str, end: &str| {
            serde_json::from_value::<Slot>(serde_json::json!({ "start": start, "end": end }))
        };
        assert_eq!(
            read("2026-06-01T09:00:00Z", "2026-06-01T09:00:00Z").unwrap(),
            at_start
        );
        assert!(read("2026-06-01T09:00:00Z", "2026-06-01T08:00:00Z").is_err());
    }

    #[test]
    fn each_rule_names_itself() {
        let rules = RoomRules {
            min_duration_minutes: 30,
            max_duration_minutes: 120,
            horizon_days: 30,
            min_notice_minutes: 60,
            ..RoomRules::default()
        };
        let now = at(NOW);
        assert!(
            breaches(
                &rules,
                &slot("2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"),
                now
            )
            .is_empty()
        );
        assert_eq!(
            breaches(
                &rules,
                &slot("2026-06-01T10:00:00Z", "2026-06-01T10:15:00Z"),
                now
            ),
            [RuleBreach::TooShort { min_minutes: 30 }]
        );
        assert_eq!(
            breaches(
                &rules,
                &slot("2026-06-01T10:00:00Z", "2026-06-01T13:00:00Z"),
                now
            ),
            [RuleBreach::TooLong { max_minutes: 120 }]
        );
        assert_eq!(
            breaches(
                &rules,
                &slot("2026-07-15T10:00:00Z", "2026-07-15T11:00:00Z"),
                now
            ),
            [RuleBreach::BeyondHorizon { horizon_days: 30 }]
        );
        assert_eq!(
            breaches(
                &rules,
                &slot("2026-06-01T08:30:00Z", "2026-06-01T09:30:00Z"),
                now
            ),
            [RuleBreach::TooLittleNotice {
                min_notice_minutes: 60
            }]
        );
        assert_eq!(
            breaches(
                &rules,
                &slot("2026-06-01T07:00:00Z", "2026-06-01T07:45:00Z"),
                now
            ),
            [RuleBreach::InThePast]
        );
        assert_eq!(Slot::new(at(NOW), at(NOW)), Err(EmptySlot));
    }

    #[test]
    fn buffers_count_on_both_sides_and_back_to_back_is_fine_without_them() {
        let existing = [Taken::Booking {
            booking_id: "bkg_a".into(),
            slot: slot("2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"),
        }];
        let plain = RoomRules::default();
        let after = slot("2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z");
        assert!(
            conflicts(&plain, &after, &existing, None).is_empty(),
            "back to back"
        );

        // 10 minutes of clean-up after, 5 of set-up before: the next may start at 11:15.
        let buffered = RoomRules {
            buffer_before_minutes: 5,
            buffer_after_minutes: 10,
            ..plain
        };
        let met = conflicts(
            &buffered,
            &slot("2026-06-01T11:10:00Z", "2026-06-01T12:00:00Z"),
            &existing,
            None,
        );
        assert_eq!(
            met,
            [Conflict::Booking {
                booking_id: "bkg_a".into(),
                start: at("2026-06-01T10:00:00Z"),
                end: at("2026-06-01T11:00:00Z"),
                buffer_only: true,
            }]
        );
        assert!(
            conflicts(
                &buffered,
                &slot("2026-06-01T11:15:00Z", "2026-06-01T12:00:00Z"),
                &existing,
                None
            )
            .is_empty()
        );
        // Before it: the new one's clean-up plus the existing one's set-up.
        assert_eq!(
            conflicts(
                &buffered,
                &slot("2026-06-01T09:00:00Z", "2026-06-01T09:50:00Z"),
                &existing,
                None
            )
            .len(),
            1
        );
        assert!(
            conflicts(
                &buffered,
                &slot("2026-06-01T09:00:00Z", "2026-06-01T09:45:00Z"),
                &existing,
                None
            )
            .is_empty()
        );
        // A true overlap is not buffer-only; moving the booking itself meets nothing.
        let overlap = slot("2026-06-01T10:30:00Z", "2026-06-01T11:30:00Z");
        assert!(matches!(
            &conflicts(&buffered, &overlap, &existing, None)[0],
            Conflict::Booking {
                buffer_only: false,
                ..
            }
        ));
        assert!(conflicts(&buffered, &overlap, &existing, Some("bkg_a")).is_empty());
    }

    #[test]
    fn closures_refuse_with_their_reason_and_ignore_buffers() {
        let closed = [Taken::Closure {
            closure_id: "cls_1".into(),
            slot: slot("2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z"),
            reason: "cleaning".into(),
        }];
        let buffered = RoomRules {
            buffer_after_minutes: 30,
            ..RoomRules::default()
        };
        let met = conflicts(
            &buffered,
            &slot("2026-06-01T12:30:00Z", "2026-06-01T14:00:00Z"),
            &closed,
            None,
        );
        assert_eq!(serde_json::to_value(&met).unwrap()[0]["reason"], "cleaning");
        assert!(
            conflicts(
                &buffered,
                &slot("2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z"),
                &closed,
                None
            )
            .is_empty()
        );
    }
}
