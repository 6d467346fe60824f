//! Wall-clock times in a room's time zone (DESIGN §5): what a local time means when clocks
//! change. A local time in a spring-forward gap does not exist and is refused; a local time in
//! a fall-back fold happens twice and means the earlier of the two (the one before the clocks
//! go back), unless the client sends an explicit UTC offset.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, Zoned};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    #[error("{local} does not exist in {zone}: the clocks go from {before} to {after} that day")]
    Nonexistent {
        local: DateTime,
        zone: String,
        before: String,
        after: String,
    },
}

/// A room's IANA time zone, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomZone {
    name: String,
    zone: TimeZone,
}

impl RoomZone {
    pub fn parse(name: &str) -> Result<Self, LocalTimeError> {
        let zone = TimeZone::get(name).map_err(|_| LocalTimeError::UnknownZone(name.to_owned()))?;
        Ok(Self {
            name: name.to_owned(),
            zone,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The instant a local time stands for: refused in a gap, the earlier one in a fold.
    pub fn resolve(&self, local: DateTime) -> Result<Timestamp, LocalTimeError> {
        let ambiguous = self.zone.to_ambiguous_timestamp(local);
        match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { offset } => offset
                .to_timestamp(local)
                .map_err(|_| self.nonexistent(local, offset, offset)),
            AmbiguousOffset::Fold { before, .. } => before
                .to_timestamp(local)
                .map_err(|_| self.nonexistent(local, before, before)),
            AmbiguousOffset::Gap { before, after } => Err(self.nonexistent(local, before, after)),
        }
    }

    /// The local time of an instant in this zone.
    pub fn local(&self, at: Timestamp) -> Zoned {
        at.to_zoned(self.zone.clone())
    }

    fn nonexistent(
        &self,
        local: DateTime,
        before: jiff::tz::Offset,
        after: jiff::tz::Offset,
    ) -> LocalTimeError {
        // Read with the old offset, the local time is an instant just after the clocks jumped:
        // the transition before it gives both walls ("02:00" to "03:00").
        let transition = before
            .to_timestamp(local)
            .ok()
            .and_then(|probe| self.zone.preceding(probe).next())
            .map(|t| t.timestamp());
        let wall = |offset: jiff::tz::Offset| {
            transition.map_or_else(String::new, |t| {
                offset.to_datetime(t).strftime("%H:%M").to_string()
            })
        };
        LocalTimeError::Nonexistent {
            local,
            zone: self.name.clone(),
            before: wall(before),
            after: wall(after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_time_in_the_spring_forward_gap_is_refused_with_the_jump_named() {
        let new_york = RoomZone::parse("America/New_York").unwrap();
        let error = new_york
            .resolve(date(2026, 3, 8).at(2, 30, 0, 0))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "2026-03-08T02:30:00 does not exist in America/New_York: the clocks go from 02:00 to 03:00 that day"
        );
        // Either side of the gap is fine.
        let before = new_york.resolve(date(2026, 3, 8).at(1, 59, 0, 0)).unwrap();
        let after = new_york.resolve(date(2026, 3, 8).at(3, 0, 0, 0)).unwrap();
        assert_eq!(after.as_second() - before.as_second(), 60);
    }

    #[test]
    fn a_time_in_the_fall_back_fold_means_the_earlier_one() {
        let new_york = RoomZone::parse("America/New_York").unwrap();
        let at = new_york.resolve(date(2026, 11, 1).at(1, 30, 0, 0)).unwrap();
        // 01:30 EDT (UTC-4) comes before 01:30 EST (UTC-5).
        assert_eq!(at.to_string(), "2026-11-01T05:30:00Z");
        let london = RoomZone::parse("Europe/London").unwrap();
        let at = london.resolve(date(2026, 10, 25).at(1, 30, 0, 0)).unwrap();
        assert_eq!(at.to_string(), "2026-10-25T00:30:00Z");
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert_eq!(
            RoomZone::parse("Mars/Olympus_Mons").unwrap_err(),
            LocalTimeError::UnknownZone("Mars/Olympus_Mons".into())
        );
        assert!(RoomZone::parse("Australia/Sydney").is_ok());
    }
}
