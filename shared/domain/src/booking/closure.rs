//! Closures (SPEC §C): times a room cannot be booked, once (`2026-12-24T00:00` to
//! `2026-12-27T00:00`) or recurring (every Sunday, by an RRULE of the series subset), on the
//! room's wall clock: "closed 18:00 to 08:00" stays so across clock changes. A closure edge in a
//! spring-forward gap moves to the first instant after it (a closure is never refused for it).

use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::local_time::RoomZone;
use super::recurrence::{Caps, RecurrenceRule, expand};
use super::rules::Slot;

/// How far a recurring closure may reach: ten years of weekly, or about three of daily.
pub const CLOSURE_CAPS: Caps = Caps {
    max_occurrences: 1000,
    horizon_days: 3660,
};

/// At most this many closures a room.
pub const MAX_CLOSURES: usize = 50;

/// A closure as a client sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosureInput {
    /// Local times in the room's zone.
    pub start: String,
    pub end: String,
    pub reason: String,
    /// An RRULE of the series subset (`FREQ=WEEKLY;BYDAY=SU;UNTIL=20301231T000000Z`).
    #[serde(default)]
    pub recurrence: Option<String>,
}

/// A valid closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub id: String,
    pub reason: String,
    /// The first occurrence, on the room's wall clock.
    pub start: DateTime,
    pub end: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
}

impl ClosureInput {
    /// The closure, or each field's problem.
    pub fn parse(self, id: String, zone: &RoomZone) -> Result<Closure, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let local = |field: &str, text: &str, problems: &mut Vec<(String, String)>| {
            let parsed = text.parse::<DateTime>().ok();
            if parsed.is_none() {
                problems.push((
                    field.to_owned(),
                    "a local time in the room's zone, such as 2026-12-24T18:00".to_owned(),
                ));
            }
            parsed
        };
        let start = local("start", &self.start, &mut problems);
        let end = local("end", &self.end, &mut problems);
        if let (Some(start), Some(end)) = (start, end)
            && end <= start
        {
            problems.push(("end".into(), "after start".into()));
        }
        let reason = self.reason.trim().to_owned();
        if reason.is_empty() {
            problems.push(("reason".into(), "1 to 200 characters".into()));
        } else if let Err(error) = crate::text::check(&reason, 200, false) {
            problems.push(("reason".into(), error.to_string()));
        }
        let recurrence = self.recurrence.map(|text| text.trim().to_owned());
        if let Some(text) = &recurrence {
            match crate::text::check(text, 200, false)
                .map_err(|e| e.to_string())
                .and_then(|()| text.parse::<RecurrenceRule>().map_err(|e| e.to_string()))
            {
                Err(error) => problems.push(("recurrence".into(), error.to_string())),
                Ok(rule) => {
                    if let (Some(start), Some(end)) = (start, end)
                        && end > start
                        && let Err(error) =
                            expand(&rule, zone, start, end.duration_since(start), CLOSURE_CAPS)
                    {
                        problems.push(("recurrence".into(), error.to_string()));
                    }
                }
            }
        }
        match (start, end) {
            (Some(start), Some(end)) if problems.is_empty() => Ok(Closure {
                id,
                reason,
                start,
                end,
                recurrence,
            }),
            _ => Err(problems),
        }
    }
}

/// The first instant at or after a local time (a time in a gap moves past the gap).
fn instant(zone: &RoomZone, local: DateTime) -> Option<Timestamp> {
    zone.time_zone()
        .to_ambiguous_timestamp(local)
        .compatible()
        .ok()
}

impl Closure {
    /// Every occurrence of the closure that overlaps `window`.
    pub fn within(&self, zone: &RoomZone, window: &Slot) -> Vec<Slot> {
        let length: SignedDuration = self.end.duration_since(self.start);
        let starts: Vec<DateTime> = match self
            .recurrence
            .as_deref()
            .and_then(|text| text.parse::<RecurrenceRule>().ok())
        {
            Some(rule) => expand(&rule, zone, self.start, length, CLOSURE_CAPS)
                .map(|all| all.into_iter().map(|o| o.local_start).collect())
                .unwrap_or_default(),
            None => vec![self.start],
        };
        starts
            .into_iter()
            .filter_map(|local_start| {
                let local_end = local_start.checked_add(length).ok()?;
                Slot::new(instant(zone, local_start)?, instant(zone, local_end)?).ok()
            })
            .filter(|slot| slot.overlaps(window))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> RoomZone {
        RoomZone::parse("Europe/London").unwrap()
    }

    fn input(start: &str, end: &str, recurrence: Option<&str>) -> ClosureInput {
        ClosureInput {
            start: start.into(),
            end: end.into(),
            reason: "Cleaning".into(),
            recurrence: recurrence.map(str::to_owned),
        }
    }

    fn window(start: &str, end: &str) -> Slot {
        Slot::new(start.parse().unwrap(), end.parse().unwrap()).unwrap()
    }

    #[test]
    fn a_weekly_closure_keeps_its_wall_clock_hours_across_the_clock_change() {
        let closure = input(
            "2026-03-22T18:00",
            "2026-03-22T20:00",
            Some("FREQ=WEEKLY;COUNT=3"),
        )
        .parse("cl_1".into(), &zone())
        .unwrap();
        let found = closure.within(
            &zone(),
            &window("2026-03-01T00:00:00Z", "2026-04-30T00:00:00Z"),
        );
        let starts: Vec<String> = found.iter().map(|s| s.start.to_string()).collect();
        // GMT, then BST from 29 March: 18:00 local is 18:00Z, then 17:00Z.
        assert_eq!(
            starts,
            [
                "2026-03-22T18:00:00Z",
                "2026-03-29T17:00:00Z",
                "2026-04-05T17:00:00Z"
            ]
        );
    }

    #[test]
    fn only_occurrences_overlapping_the_window_are_returned() {
        let closure = input("2026-06-01T00:00", "2026-06-02T00:00", None)
            .parse("cl_1".into(), &zone())
            .unwrap();
        assert!(
            closure
                .within(
                    &zone(),
                    &window("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z")
                )
                .is_empty(),
            "London midnight is 23:00Z: the closure ends at 2026-06-01T23:00Z"
        );
        assert_eq!(
            closure
                .within(
                    &zone(),
                    &window("2026-06-01T22:00:00Z", "2026-06-01T23:30:00Z")
                )
                .len(),
            1
        );
    }

    #[test]
    fn every_problem_is_named() {
        let problems = ClosureInput {
            start: "tomorrow".into(),
            end: "2026-06-01T00:00".into(),
            reason: " ".into(),
            recurrence: None,
        }
        .parse("cl_1".into(), &zone())
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["start", "reason"]);
        let problems = input("2026-06-01T10:00", "2026-06-01T09:00", Some("FREQ=HOURLY"))
            .parse("cl_1".into(), &zone())
            .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["end", "recurrence"]);
        let problems = input(
            "2026-06-01T09:00",
            "2026-06-01T10:00",
            Some("FREQ=DAILY;COUNT=5000"),
        )
        .parse("cl_1".into(), &zone())
        .unwrap_err();
        assert_eq!(problems[0].0, "recurrence");
    }
}
