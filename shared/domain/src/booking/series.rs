//! A recurring series' policy and its occurrences' outcomes, as stored and shown (SPEC §C).

use serde::{Deserialize, Serialize};

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
