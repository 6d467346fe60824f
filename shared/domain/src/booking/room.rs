//! A room as operators describe it (SPEC §C), parsed whole: every field's problem is reported
//! at once, and what comes out is valid by construction.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::local_time::RoomZone;
use super::rules::{MAX_BUFFER_MINUTES, RoomRules};

/// A room's description as a client sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomInput {
    pub name: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub building: String,
    #[serde(default)]
    pub floor: String,
    pub time_zone: String,
    pub capacity: u32,
    #[serde(default)]
    pub equipment: BTreeSet<String>,
    #[serde(default = "bookable")]
    pub bookable: bool,
    #[serde(default)]
    pub rules: RoomRules,
    /// Credential types (ids) a member must hold, verified and unexpired, to book it.
    #[serde(default)]
    pub required_credentials: BTreeSet<String>,
}

fn bookable() -> bool {
    true
}

/// A valid room description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub name: String,
    pub site: String,
    pub building: String,
    pub floor: String,
    pub time_zone: String,
    pub capacity: u32,
    pub equipment: BTreeSet<String>,
    pub bookable: bool,
    pub rules: RoomRules,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub required_credentials: BTreeSet<String>,
}

/// One field's problem: the field's path and what is wrong.
pub type FieldProblem = (String, String);

const MAX_TEXT: usize = 100;
const MAX_EQUIPMENT: usize = 50;

impl RoomInput {
    pub fn parse(self) -> Result<Room, Vec<FieldProblem>> {
        let mut problems: Vec<FieldProblem> = Vec::new();
        let mut problem = |field: &str, message: String| problems.push((field.to_owned(), message));
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            problem("name", format!("1 to {MAX_TEXT} characters"));
        }
        for (field, value) in [
            ("name", &name),
            ("site", &self.site),
            ("building", &self.building),
            ("floor", &self.floor),
        ] {
            if let Err(error) = crate::text::check(value, MAX_TEXT, false) {
                problem(field, error.to_string());
            }
        }
        if RoomZone::parse(&self.time_zone).is_err() {
            problem(
                "time_zone",
                format!(
                    "{:?} is not an IANA time zone such as Europe/London",
                    self.time_zone
                ),
            );
        }
        if !(1..=10_000).contains(&self.capacity) {
            problem("capacity", "from 1 to 10000 people".into());
        }
        let equipment: BTreeSet<String> = self
            .equipment
            .iter()
            .map(|item| item.trim().to_lowercase())
            .collect();
        if equipment.len() > MAX_EQUIPMENT {
            problem("equipment", format!("at most {MAX_EQUIPMENT} items"));
        }
        if let Some(bad) = equipment.iter().find(|item| {
            item.is_empty()
                || item.len() > 40
                || !item
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' '))
        }) {
            problem(
                "equipment",
                format!("{bad:?}: 1 to 40 of a-z, 0-9, space, - and _"),
            );
        }
        let rules = self.rules;
        let week = 7 * 24 * 60;
        if !(5..=week).contains(&rules.min_duration_minutes) {
            problem("rules.min_duration_minutes", format!("from 5 to {week}"));
        }
        if rules.max_duration_minutes < rules.min_duration_minutes
            || rules.max_duration_minutes > week
        {
            problem(
                "rules.max_duration_minutes",
                format!("from min_duration_minutes to {week}"),
            );
        }
        if !(1..=730).contains(&rules.horizon_days) {
            problem("rules.horizon_days", "from 1 to 730".into());
        }
        if rules.min_notice_minutes > 30 * 24 * 60 {
            problem("rules.min_notice_minutes", "at most 30 days".into());
        }
        for (field, minutes) in [
            ("rules.buffer_before_minutes", rules.buffer_before_minutes),
            ("rules.buffer_after_minutes", rules.buffer_after_minutes),
        ] {
            if minutes > MAX_BUFFER_MINUTES {
                problem(field, format!("at most {MAX_BUFFER_MINUTES}"));
            }
        }
        if !(1..=240).contains(&rules.release_minutes) {
            problem("rules.release_minutes", "from 1 to 240".into());
        }
        if self.required_credentials.len() > 20
            || self.required_credentials.iter().any(|id| {
                !(1..=64).contains(&id.len())
                    || !id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        {
            problem(
                "required_credentials",
                "at most 20 credential type ids".into(),
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Room {
            name,
            site: self.site.trim().to_owned(),
            building: self.building.trim().to_owned(),
            floor: self.floor.trim().to_owned(),
            time_zone: self.time_zone,
            capacity: self.capacity,
            equipment,
            bookable: self.bookable,
            rules,
            required_credentials: self.required_credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> RoomInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_room_is_parsed_with_defaults_and_normalised_equipment() {
        let room = input(serde_json::json!({
            "name": "  Orion ", "time_zone": "Europe/London", "capacity": 8,
            "equipment": ["Projector", "projector ", "video-conf"],
        }))
        .parse()
        .unwrap();
        assert_eq!(room.name, "Orion");
        assert_eq!(
            room.equipment,
            BTreeSet::from(["projector".into(), "video-conf".into()])
        );
        assert!(room.bookable);
        assert_eq!(room.rules, RoomRules::default());
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let problems = input(serde_json::json!({
            "name": "", "time_zone": "Europe/Atlantis", "capacity": 0,
            "equipment": ["laser!"],
            "rules": { "min_duration_minutes": 60, "max_duration_minutes": 30, "horizon_days": 0,
                       "min_notice_minutes": 0, "buffer_before_minutes": 300, "buffer_after_minutes": 0,
                       "approval_required": false, "check_in_required": false, "release_minutes": 15 },
        }))
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "time_zone",
                "capacity",
                "equipment",
                "rules.max_duration_minutes",
                "rules.horizon_days",
                "rules.buffer_before_minutes"
            ]
        );
    }
}
