//! Per-member quotas (SPEC §C): how many bookings a member may hold at once, and how many hours
//! starting in one week. A change is refused only if it makes a member hold more than allowed
//! and more than before: cancelling, shortening or moving within the limits always goes
//! through, even after a tenant lowered its quota below what someone already holds.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A tenant's limits on what one member may hold; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quota {
    /// Bookings a member may hold at once that have not ended (pending, confirmed, checked in).
    pub active_bookings: Option<u32>,
    /// Hours of bookings a member may hold starting in one week (Monday to Sunday, UTC).
    pub hours_per_week: Option<u32>,
}

/// One booking a member holds, as their ledger lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub booking_id: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaExceeded {
    #[error("a member may hold {limit} bookings that have not ended; this would make {would_hold}")]
    ActiveBookings { limit: u32, would_hold: usize },
    #[error(
        "a member may hold {limit} hours of bookings starting in one week; in the week of {week} this would make {would_hold}"
    )]
    HoursPerWeek {
        limit: u32,
        /// The week's Monday.
        week: Date,
        /// Hours, with minutes as a fraction (`"7.5"`).
        would_hold: String,
    },
}

impl Quota {
    pub fn is_unlimited(&self) -> bool {
        self.active_bookings.is_none() && self.hours_per_week.is_none()
    }

    /// Whether a member holding `before` may hold `after` (both as their ledger lists them) at
    /// `now`: bookings that have ended count for neither limit.
    pub fn allows(
        &self,
        before: &[Held],
        after: &[Held],
        now: Timestamp,
    ) -> Result<(), QuotaExceeded> {
        if let Some(limit) = self.active_bookings {
            let (was, will) = (active(before, now), active(after, now));
            if will > limit as usize && will > was {
                return Err(QuotaExceeded::ActiveBookings {
                    limit,
                    would_hold: will,
                });
            }
        }
        if let Some(limit) = self.hours_per_week {
            let allowed = SignedDuration::from_hours(i64::from(limit));
            let was = weekly(before, now);
            for (week, will) in weekly(after, now) {
                let had = was.get(&week).copied().unwrap_or_default();
                if will > allowed && will > had {
                    return Err(QuotaExceeded::HoursPerWeek {
                        limit,
                        week,
                        would_hold: hours(will),
                    });
                }
            }
        }
        Ok(())
    }
}

fn active(held: &[Held], now: Timestamp) -> usize {
    held.iter().filter(|h| h.end > now).count()
}

/// Hours held per week (by the week's Monday, UTC) of the bookings not yet ended.
fn weekly(held: &[Held], now: Timestamp) -> BTreeMap<Date, SignedDuration> {
    let mut weeks = BTreeMap::new();
    for h in held.iter().filter(|h| h.end > now) {
        let day = h.start.to_zoned(TimeZone::UTC).date();
        let back = jiff::Span::new().days(i64::from(day.weekday().to_monday_zero_offset()));
        let monday = day.checked_sub(back).unwrap_or(day);
        *weeks.entry(monday).or_insert(SignedDuration::ZERO) += h.end.duration_since(h.start);
    }
    weeks
}

fn hours(duration: SignedDuration) -> String {
    let minutes = duration.as_secs() / 60;
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{:.2}", minutes as f64 / 60.0)
            .trim_end_matches('0')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: &str, start: &str, hours: i64) -> Held {
        let start: Timestamp = start.parse().unwrap();
        Held {
            booking_id: id.into(),
            start,
            end: start + SignedDuration::from_hours(hours),
        }
    }

    const NOW: &str = "2027-03-01T00:00:00Z";

    #[test]
    fn active_bookings_are_counted_until_they_end() {
        let quota = Quota {
            active_bookings: Some(2),
            hours_per_week: None,
        };
        let now: Timestamp = NOW.parse().unwrap();
        let two = vec![
            held("a", "2027-03-02T09:00:00Z", 1),
            held("b", "2027-03-03T09:00:00Z", 1),
        ];
        let mut three = two.clone();
        three.push(held("c", "2027-03-04T09:00:00Z", 1));
        assert_eq!(
            quota.allows(&two, &three, now),
            Err(QuotaExceeded::ActiveBookings {
                limit: 2,
                would_hold: 3
            })
        );
        // One of them over already: it no longer counts.
        let mut with_past = three.clone();
        with_past[0] = held("a", "2027-02-27T09:00:00Z", 1);
        assert_eq!(quota.allows(&two, &with_past, now), Ok(()));
    }

    #[test]
    fn hours_are_counted_per_week_from_monday() {
        let quota = Quota {
            active_bookings: None,
            hours_per_week: Some(8),
        };
        let now: Timestamp = NOW.parse().unwrap();
        // Monday 1 March 2027 and Sunday 7 March are one week; Monday 8 March the next.
        let before = vec![
            held("a", "2027-03-01T09:00:00Z", 4),
            held("b", "2027-03-07T09:00:00Z", 3),
        ];
        let mut next_week = before.clone();
        next_week.push(held("c", "2027-03-08T09:00:00Z", 8));
        assert_eq!(quota.allows(&before, &next_week, now), Ok(()));
        let mut same_week = before.clone();
        same_week.push(Held {
            booking_id: "c".into(),
            start: "2027-03-05T09:00:00Z".parse().unwrap(),
            end: "2027-03-05T10:30:00Z".parse().unwrap(),
        });
        assert_eq!(
            quota.allows(&before, &same_week, now),
            Err(QuotaExceeded::HoursPerWeek {
                limit: 8,
                week: "2027-03-01".parse().unwrap(),
                would_hold: "8.5".into()
            })
        );
    }

    #[test]
    fn what_holds_less_always_goes_through() {
        let quota = Quota {
            active_bookings: Some(1),
            hours_per_week: Some(2),
        };
        let now: Timestamp = NOW.parse().unwrap();
        // Over both limits already (the quota was lowered): cancelling one, or shortening,
        // is allowed; so is moving one within the same week.
        let over = vec![
            held("a", "2027-03-02T09:00:00Z", 3),
            held("b", "2027-03-03T09:00:00Z", 3),
        ];
        assert_eq!(quota.allows(&over, &over[..1], now), Ok(()));
        let shorter = vec![over[0].clone(), held("b", "2027-03-03T09:00:00Z", 1)];
        assert_eq!(quota.allows(&over, &shorter, now), Ok(()));
        let moved = vec![over[0].clone(), held("b", "2027-03-04T09:00:00Z", 3)];
        assert_eq!(quota.allows(&over, &moved, now), Ok(()));
        assert!(Quota::default().is_unlimited());
    }
}
