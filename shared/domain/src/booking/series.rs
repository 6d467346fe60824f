//! A recurring series (SPEC §C): its rule, its policy and what became of each occurrence. Each
//! booked occurrence is a booking of its own (`series_id`, `occurrence`), so everything a
//! booking does an occurrence does.

use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use super::rules::Conflict;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    pub series_id: String,
    pub tenant_id: String,
    pub room_id: String,
    pub organiser: String,
    pub title: String,
    /// The RRULE, as written back from its parse.
    pub recurrence: String,
    /// The first occurrence, on the room's wall clock.
    pub local_start: DateTime,
    pub local_end: DateTime,
    pub time_zone: String,
    pub on_conflict: SeriesPolicy,
    pub occurrences: Vec<Occurrence>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Series {
    /// Its next version, as a change made `at` starts from.
    pub fn revised(&self, at: Timestamp) -> Self {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = at;
        next
    }
}

/// One occurrence of a series and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub index: u32,
    pub local_start: DateTime,
    /// Where it falls (a skipped one too, when its times exist in the zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    /// Why it was skipped: the booking, closure or rule it met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The bookings and closures a skipped occurrence met, for an answer that names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub met: Vec<Conflict>,
}

/// What a series does with an occurrence that cannot be booked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesPolicy {
    /// Nothing is booked unless every occurrence can be.
    #[default]
    AllOrNothing,
    /// The others are booked; it is left out, saying why.
    Skip,
}

/// What became of one occurrence of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Booked,
    Skipped,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn policies_and_outcomes_keep_the_names_stored_and_shown() {
        assert_eq!(json!(SeriesPolicy::AllOrNothing), json!("all_or_nothing"));
        assert_eq!(json!(SeriesPolicy::Skip), json!("skip"));
        assert_eq!(json!(Outcome::Booked), json!("booked"));
        assert_eq!(json!(Outcome::Skipped), json!("skipped"));
        let read: SeriesPolicy = serde_json::from_value(json!("skip")).unwrap();
        assert_eq!(read, SeriesPolicy::Skip);
        assert!(serde_json::from_value::<SeriesPolicy>(json!("some")).is_err());
    }
}
