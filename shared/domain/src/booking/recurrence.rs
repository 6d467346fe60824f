//! Recurring series (SPEC §C): the RFC 5545 RRULE subset Steward takes (FREQ DAILY, WEEKLY or
//! MONTHLY; INTERVAL; BYDAY, with an ordinal for MONTHLY such as `2TU` or `-1FR`; COUNT; UNTIL),
//! expanded on the room's wall clock: a weekly 09:00 meeting is at 09:00 local time on both
//! sides of a clock change. An occurrence whose local time does not exist (in a spring-forward
//! gap) is reported as such, for the series' conflict policy to skip or refuse.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::{SignedDuration, Timestamp, ToSpan};

use super::local_time::{LocalTimeError, RoomZone};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

/// A BYDAY entry: a weekday, with an ordinal within the month for MONTHLY (`2TU`, `-1FR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByDay {
    pub nth: Option<i8>,
    pub weekday: Weekday,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Count(u32),
    /// Inclusive: an occurrence starting at this instant is the last.
    Until(Timestamp),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceRule {
    pub frequency: Frequency,
    pub interval: u32,
    pub by_day: Vec<ByDay>,
    pub end: End,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    #[error("invalid recurrence rule: {0}")]
    Invalid(String),
    #[error("the series' first start must be one of its occurrences")]
    StartNotAnOccurrence,
    #[error("the series has more than {max} occurrences")]
    TooManyOccurrences { max: u32 },
    #[error("the series runs past the booking horizon ({days} days ahead)")]
    BeyondHorizon { days: u32 },
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

fn invalid(message: impl Into<String>) -> RecurrenceError {
    RecurrenceError::Invalid(message.into())
}

impl FromStr for ByDay {
    type Err = RecurrenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let split = text.len().saturating_sub(2);
        let (nth, day) = text.split_at(split);
        let weekday = WEEKDAYS
            .iter()
            .find(|(name, _)| *name == day)
            .map(|(_, weekday)| *weekday)
            .ok_or_else(|| invalid(format!("BYDAY {text:?} is not a weekday")))?;
        let nth = match nth {
            "" => None,
            nth => match nth.trim_start_matches('+').parse::<i8>() {
                Ok(n @ (-5..=-1 | 1..=5)) => Some(n),
                _ => {
                    return Err(invalid(format!(
                        "BYDAY {text:?}: ordinal from -5 to 5, not 0"
                    )));
                }
            },
        };
        Ok(Self { nth, weekday })
    }
}

impl FromStr for RecurrenceRule {
    type Err = RecurrenceError;

    /// `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`, with or without the `RRULE:` prefix.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.strip_prefix("RRULE:").unwrap_or(text);
        let (mut frequency, mut interval, mut by_day, mut count, mut until) =
            (None, None, Vec::new(), None, None);
        for part in text.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("{part:?} is not NAME=VALUE")))?;
            let twice = || invalid(format!("{name} is given twice"));
            match name {
                "FREQ" => {
                    let parsed = match value {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        other => {
                            return Err(invalid(format!(
                                "FREQ {other} is not DAILY, WEEKLY or MONTHLY"
                            )));
                        }
                    };
                    if frequency.replace(parsed).is_some() {
                        return Err(twice());
                    }
                }
                "INTERVAL" => {
                    let parsed = value
                        .parse::<u32>()
                        .ok()
                        .filter(|i| (1..=99).contains(i))
                        .ok_or_else(|| invalid("INTERVAL is a whole number from 1 to 99"))?;
                    if interval.replace(parsed).is_some() {
                        return Err(twice());
                    }
                }
                "BYDAY" => {
                    if !by_day.is_empty() {
                        return Err(twice());
                    }
                    by_day = value
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<Vec<ByDay>, _>>()?;
                }
                "COUNT" => {
                    let parsed = value
                        .parse::<u32>()
                        .ok()
                        .filter(|c| *c >= 1)
                        .ok_or_else(|| invalid("COUNT is a whole number from 1"))?;
                    if count.replace(parsed).is_some() {
                        return Err(twice());
                    }
                }
                "UNTIL" => {
                    let parsed = parse_until(value)?;
                    if until.replace(parsed).is_some() {
                        return Err(twice());
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "{other} is not supported (FREQ, INTERVAL, BYDAY, COUNT, UNTIL)"
                    )));
                }
            }
        }
        let frequency = frequency.ok_or_else(|| invalid("FREQ is required"))?;
        let end = match (count, until) {
            (Some(count), None) => End::Count(count),
            (None, Some(until)) => End::Until(until),
            (Some(_), Some(_)) => return Err(invalid("COUNT and UNTIL exclude each other")),
            (None, None) => return Err(invalid("a series needs COUNT or UNTIL")),
        };
        if frequency != Frequency::Monthly && by_day.iter().any(|d| d.nth.is_some()) {
            return Err(invalid("BYDAY ordinals (2TU) are for FREQ=MONTHLY"));
        }
        Ok(Self {
            frequency,
            interval: interval.unwrap_or(1),
            by_day,
            end,
        })
    }
}

/// UNTIL as RFC 5545 writes it in UTC (`20261231T235959Z`), or RFC 3339.
fn parse_until(value: &str) -> Result<Timestamp, RecurrenceError> {
    if let Ok(at) = value.parse::<Timestamp>() {
        return Ok(at);
    }
    jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", value)
        .and_then(|parsed| parsed.to_datetime())
        .and_then(|local| local.to_zoned(jiff::tz::TimeZone::UTC))
        .map(|zoned| zoned.timestamp())
        .map_err(|_| {
            invalid(format!(
                "UNTIL {value:?} is not a UTC time like 20261231T235959Z"
            ))
        })
}

impl fmt::Display for RecurrenceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frequency = match self.frequency {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
        };
        write!(f, "FREQ={frequency}")?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if !self.by_day.is_empty() {
            let days: Vec<String> = self
                .by_day
                .iter()
                .map(|d| {
                    let name = WEEKDAYS
                        .iter()
                        .find(|(_, w)| *w == d.weekday)
                        .map_or("", |(n, _)| n);
                    match d.nth {
                        Some(n) => format!("{n}{name}"),
                        None => name.to_owned(),
                    }
                })
                .collect();
            write!(f, ";BYDAY={}", days.join(","))?;
        }
        match self.end {
            End::Count(count) => write!(f, ";COUNT={count}"),
            End::Until(until) => write!(f, ";UNTIL={}", until.strftime("%Y%m%dT%H%M%SZ")),
        }
    }
}

/// How far a series may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max_occurrences: u32,
    /// Days after the first start.
    pub horizon_days: u32,
}

/// One occurrence: its local date, and its instants (or why its local start does not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// 0-based position in the series (stable: it names the occurrence).
    pub index: u32,
    pub local_start: DateTime,
    pub slot: Result<(Timestamp, Timestamp), LocalTimeError>,
}

/// The occurrences of `rule` for a series whose first occurrence starts at `first` (local, in
/// `zone`) and lasts `duration`. Refused when the first start is not an occurrence, or when the
/// series would pass `caps`.
pub fn expand(
    rule: &RecurrenceRule,
    zone: &RoomZone,
    first: DateTime,
    duration: SignedDuration,
    caps: Caps,
) -> Result<Vec<Occurrence>, RecurrenceError> {
    let time = first.time();
    let horizon = first
        .date()
        .checked_add(i64::from(caps.horizon_days).days())
        .map_err(|_| invalid("the horizon is out of range"))?;
    let mut dates = Vec::new();
    let mut period = 0i64;
    'periods: loop {
        let start = period_start(rule, first.date(), period)?;
        let candidates = dates_of_period(rule, first.date(), period)?;
        period += 1;
        for date in candidates {
            if date < first.date() {
                continue;
            }
            let local = date.to_datetime(time);
            match rule.end {
                End::Count(count) if dates.len() as u32 >= count => break 'periods,
                End::Until(until) => {
                    // Compared as instants; a nonexistent local time compares as if shifted.
                    let at = zone
                        .time_zone()
                        .to_ambiguous_timestamp(local)
                        .compatible()
                        .map_err(|_| invalid("an occurrence is out of range"))?;
                    if at > until {
                        break 'periods;
                    }
                }
                End::Count(_) => {}
            }
            if date > horizon {
                return Err(RecurrenceError::BeyondHorizon {
                    days: caps.horizon_days,
                });
            }
            if dates.len() as u32 >= caps.max_occurrences {
                return Err(RecurrenceError::TooManyOccurrences {
                    max: caps.max_occurrences,
                });
            }
            dates.push(local);
        }
        // A period wholly past the horizon ends the search (a date in it has failed above),
        // so a rule whose periods hold no dates (BYDAY=5FR in short months) still ends.
        if start > horizon {
            if matches!(rule.end, End::Count(count) if (dates.len() as u32) < count) {
                return Err(RecurrenceError::BeyondHorizon {
                    days: caps.horizon_days,
                });
            }
            break;
        }
    }
    if dates.first() != Some(&first) {
        return Err(RecurrenceError::StartNotAnOccurrence);
    }
    Ok(dates
        .into_iter()
        .enumerate()
        .map(|(index, local_start)| Occurrence {
            index: index as u32,
            local_start,
            slot: zone.resolve(local_start).map(|start| {
                let end = start.checked_add(duration).unwrap_or(start);
                (start, end)
            }),
        })
        .collect())
}

/// The first day of period `n` (day, week from Monday, or month) counted from `first`'s.
fn period_start(rule: &RecurrenceRule, first: Date, n: i64) -> Result<Date, RecurrenceError> {
    let step = n * i64::from(rule.interval);
    let out_of_range = |_| invalid("the series is out of range");
    match rule.frequency {
        Frequency::Daily => first.checked_add(step.days()).map_err(out_of_range),
        Frequency::Weekly => {
            let monday = first
                .checked_sub(i64::from(first.weekday().to_monday_zero_offset()).days())
                .map_err(out_of_range)?;
            monday.checked_add((step * 7).days()).map_err(out_of_range)
        }
        Frequency::Monthly => first
            .first_of_month()
            .checked_add(step.months())
            .map_err(out_of_range),
    }
}

/// The dates of period `n`, in order.
fn dates_of_period(
    rule: &RecurrenceRule,
    first: Date,
    n: i64,
) -> Result<Vec<Date>, RecurrenceError> {
    let start = period_start(rule, first, n)?;
    let wanted = |date: Date| {
        rule.by_day.is_empty() || rule.by_day.iter().any(|d| d.weekday == date.weekday())
    };
    let mut dates: Vec<Date> = match rule.frequency {
        Frequency::Daily => vec![start].into_iter().filter(|d| wanted(*d)).collect(),
        Frequency::Weekly => {
            let days = (0..7).filter_map(|i| start.checked_add(i.days()).ok());
            if rule.by_day.is_empty() {
                days.filter(|d| d.weekday() == first.weekday()).collect()
            } else {
                days.filter(|d| wanted(*d)).collect()
            }
        }
        Frequency::Monthly => {
            if rule.by_day.is_empty() {
                // The same day of the month; months without it are skipped (RFC 5545).
                Date::new(start.year(), start.month(), first.day())
                    .ok()
                    .into_iter()
                    .collect()
            } else {
                let month: Vec<Date> = (0..start.days_in_month())
                    .filter_map(|i| start.checked_add(i64::from(i).days()).ok())
                    .collect();
                month
                    .iter()
                    .copied()
                    .filter(|date| {
                        rule.by_day.iter().any(|by| {
                            by.weekday == date.weekday()
                                && match by.nth {
                                    None => true,
                                    Some(nth) => {
                                        let same: Vec<&Date> = month
                                            .iter()
                                            .filter(|d| d.weekday() == by.weekday)
                                            .collect();
                                        let position = if nth > 0 {
                                            same.get(nth as usize - 1)
                                        } else {
                                            same.len()
                                                .checked_sub(nth.unsigned_abs() as usize)
                                                .and_then(|i| same.get(i))
                                        };
                                        position.is_some_and(|d| **d == *date)
                                    }
                                }
                        })
                    })
                    .collect()
            }
        }
    };
    dates.sort();
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const CAPS: Caps = Caps {
        max_occurrences: 500,
        horizon_days: 730,
    };

    fn starts(zone: &str, first: DateTime, rule: &str) -> Vec<Occurrence> {
        let zone = RoomZone::parse(zone).unwrap();
        expand(
            &rule.parse().unwrap(),
            &zone,
            first,
            SignedDuration::from_mins(60),
            CAPS,
        )
        .unwrap()
    }

    fn dates_of(occurrences: &[Occurrence]) -> Vec<String> {
        occurrences
            .iter()
            .map(|o| o.local_start.date().to_string())
            .collect()
    }

    /// Each occurrence's local wall-clock start, read back from its instant.
    fn local_times(zone: &str, occurrences: &[Occurrence]) -> Vec<String> {
        let zone = RoomZone::parse(zone).unwrap();
        occurrences
            .iter()
            .map(|o| {
                let (start, _) = o.slot.clone().unwrap();
                zone.local(start).strftime("%Y-%m-%d %H:%M %Z").to_string()
            })
            .collect()
    }

    #[test]
    fn a_weekly_nine_oclock_stays_at_nine_across_both_clock_changes_in_three_zones() {
        for (zone, first) in [
            ("Europe/London", date(2026, 3, 2)),
            ("America/New_York", date(2026, 2, 23)),
            ("Australia/Sydney", date(2026, 3, 2)),
        ] {
            // 40 weeks from early March crosses spring and autumn changes in each zone
            // (Sydney: April back, October forward).
            let occurrences = starts(zone, first.at(9, 0, 0, 0), "FREQ=WEEKLY;COUNT=40");
            assert_eq!(occurrences.len(), 40);
            let locals = local_times(zone, &occurrences);
            assert!(
                locals.iter().all(|l| l.contains(" 09:00 ")),
                "{zone}: {locals:?}"
            );
            let utc_hours: std::collections::BTreeSet<i8> = occurrences
                .iter()
                .map(|o| {
                    o.slot
                        .clone()
                        .unwrap()
                        .0
                        .to_zoned(jiff::tz::TimeZone::UTC)
                        .hour()
                })
                .collect();
            assert_eq!(
                utc_hours.len(),
                2,
                "{zone}: the UTC hour moves with the clocks"
            );
            // Both changes are crossed: the last occurrence is back on the first one's offset.
            let utc_hour = |o: &Occurrence| {
                o.slot
                    .clone()
                    .unwrap()
                    .0
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .hour()
            };
            assert_eq!(
                utc_hour(&occurrences[0]),
                utc_hour(&occurrences[39]),
                "{zone}"
            );
            assert_ne!(
                utc_hour(&occurrences[0]),
                utc_hour(&occurrences[20]),
                "{zone}"
            );
        }
    }

    #[test]
    fn an_occurrence_in_a_gap_is_reported_not_shifted() {
        let occurrences = starts(
            "America/New_York",
            date(2026, 3, 6).at(2, 30, 0, 0),
            "FREQ=DAILY;COUNT=4",
        );
        let gaps: Vec<u32> = occurrences
            .iter()
            .filter(|o| o.slot.is_err())
            .map(|o| o.index)
            .collect();
        assert_eq!(gaps, [2], "2026-03-08 02:30 does not exist in New York");
    }

    #[test]
    fn byday_interval_count_and_until_follow_rfc_5545() {
        let mon_wed = starts(
            "Europe/London",
            date(2026, 6, 1).at(10, 0, 0, 0),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=4",
        );
        let dates = dates_of(&mon_wed);
        assert_eq!(
            dates,
            ["2026-06-01", "2026-06-03", "2026-06-15", "2026-06-17"]
        );

        let second_tuesdays = starts(
            "Europe/London",
            date(2026, 1, 13).at(14, 0, 0, 0),
            "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20260430T235959Z",
        );
        let dates = dates_of(&second_tuesdays);
        assert_eq!(
            dates,
            ["2026-01-13", "2026-02-10", "2026-03-10", "2026-04-14"]
        );

        let last_fridays = starts(
            "Europe/London",
            date(2026, 1, 30).at(16, 0, 0, 0),
            "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3",
        );
        let dates = dates_of(&last_fridays);
        assert_eq!(dates, ["2026-01-30", "2026-02-27", "2026-03-27"]);

        // The 31st: months without one are skipped.
        let thirty_firsts = starts(
            "Europe/London",
            date(2026, 1, 31).at(9, 0, 0, 0),
            "FREQ=MONTHLY;COUNT=3",
        );
        let dates = dates_of(&thirty_firsts);
        assert_eq!(dates, ["2026-01-31", "2026-03-31", "2026-05-31"]);

        let weekdays = starts(
            "Europe/London",
            date(2026, 6, 5).at(8, 0, 0, 0),
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=3",
        );
        let dates = dates_of(&weekdays);
        assert_eq!(
            dates,
            ["2026-06-05", "2026-06-08", "2026-06-09"],
            "the weekend is skipped"
        );
    }

    #[test]
    fn rules_are_parsed_strictly_and_round_trip() {
        for (text, problem) in [
            ("FREQ=YEARLY;COUNT=2", "FREQ YEARLY"),
            ("FREQ=WEEKLY", "COUNT or UNTIL"),
            (
                "FREQ=WEEKLY;COUNT=2;UNTIL=20261231T000000Z",
                "exclude each other",
            ),
            ("FREQ=WEEKLY;BYDAY=2TU;COUNT=2", "for FREQ=MONTHLY"),
            ("FREQ=DAILY;INTERVAL=0;COUNT=2", "INTERVAL"),
            ("FREQ=DAILY;BYHOUR=9;COUNT=2", "BYHOUR is not supported"),
            ("FREQ=DAILY;COUNT=2;COUNT=3", "given twice"),
            ("FREQ=MONTHLY;BYDAY=0MO;COUNT=2", "ordinal"),
        ] {
            let error = text.parse::<RecurrenceRule>().unwrap_err().to_string();
            assert!(error.contains(problem), "{text}: {error}");
        }
        let rule: RecurrenceRule =
            "RRULE:FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR,2TU;UNTIL=20261231T235959Z"
                .parse()
                .unwrap();
        assert_eq!(
            rule.to_string(),
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR,2TU;UNTIL=20261231T235959Z"
        );
        assert_eq!(rule.to_string().parse::<RecurrenceRule>().unwrap(), rule);
    }

    #[test]
    fn caps_and_the_first_start_are_enforced() {
        let zone = RoomZone::parse("Europe/London").unwrap();
        let hour = SignedDuration::from_mins(60);
        let daily: RecurrenceRule = "FREQ=DAILY;COUNT=100".parse().unwrap();
        let small = Caps {
            max_occurrences: 50,
            horizon_days: 365,
        };
        assert_eq!(
            expand(&daily, &zone, date(2026, 6, 1).at(9, 0, 0, 0), hour, small),
            Err(RecurrenceError::TooManyOccurrences { max: 50 })
        );
        let near = Caps {
            max_occurrences: 500,
            horizon_days: 30,
        };
        assert_eq!(
            expand(&daily, &zone, date(2026, 6, 1).at(9, 0, 0, 0), hour, near),
            Err(RecurrenceError::BeyondHorizon { days: 30 })
        );
        let mondays: RecurrenceRule = "FREQ=WEEKLY;BYDAY=MO;COUNT=3".parse().unwrap();
        assert_eq!(
            expand(&mondays, &zone, date(2026, 6, 2).at(9, 0, 0, 0), hour, CAPS),
            Err(RecurrenceError::StartNotAnOccurrence),
            "a Tuesday start is not a Monday occurrence"
        );
    }
}
