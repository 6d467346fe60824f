//! Rooms' required credential types (SPEC §E): a room names only types its tenant defines, and
//! every booking path (create, move, series, walk-up, import) refuses an organiser who does not
//! hold each of them verified and valid through the booking's end, naming the missing types.

use std::collections::BTreeMap;

use jiff::Timestamp;
use steward_domain::booking::room::Room;
use steward_domain::credential::Held;
use steward_domain::credential::requirement::missing;
use steward_kit::ApiError;
use steward_store::credentials::CredentialRecord;
use steward_store::rooms::RoomRecord;

use crate::Rooms;
use crate::calendar::Plan;

/// The credentials one member holds, read once for every check a write makes.
pub(crate) struct Holdings(Vec<CredentialRecord>);

impl Holdings {
    /// The types `room` requires that these credentials do not cover until `until`.
    pub(crate) fn lacking<'r>(&self, room: &'r RoomRecord, until: Timestamp) -> Vec<&'r str> {
        let held: Vec<Held<'_>> = self.0.iter().map(CredentialRecord::held).collect();
        missing(&room.room.required_credentials, &held, until)
    }
}

impl Rooms {
    /// Refuses a room requiring a type its tenant does not define: a mistyped id would
    /// otherwise lock every member out of the room. Reads the types only when some are named.
    pub(crate) async fn known_credential_types(
        &self,
        tenant_id: &str,
        room: &Room,
    ) -> Result<(), ApiError> {
        if room.required_credentials.is_empty() {
            return Ok(());
        }
        let types = self.credentials.types(tenant_id).await?;
        let unknown: Vec<&str> = room
            .required_credentials
            .iter()
            .map(String::as_str)
            .filter(|id| !types.iter().any(|t| t.type_id == *id))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(
                "required_credentials",
                format!("no such credential type: {}", unknown.join(", ")),
            ))
        }
    }

    pub(crate) async fn holdings(
        &self,
        tenant_id: &str,
        member: &str,
    ) -> Result<Holdings, ApiError> {
        Ok(Holdings(
            self.credentials.of_provider(tenant_id, member).await?,
        ))
    }

    /// Type ids as a person reads them: "First aid (ct_…)".
    pub(crate) async fn credential_names(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<Vec<String>, ApiError> {
        let types = self.credentials.types(tenant_id).await?;
        Ok(ids
            .iter()
            .map(|id| {
                types
                    .iter()
                    .find(|t| t.type_id == *id)
                    .map(|t| format!("{} ({id})", t.kind.name))
                    .unwrap_or_else(|| (*id).to_owned())
            })
            .collect())
    }

    /// Refuses a plan that places a booking in `room` for an organiser lacking a type the room
    /// requires through the booking's end, naming each missing type. Reads only for rooms with
    /// requirements: one query per organiser placed.
    pub(crate) async fn credentials_cover(
        &self,
        tenant_id: &str,
        room: &RoomRecord,
        plan: &Plan,
    ) -> Result<(), ApiError> {
        if room.room.required_credentials.is_empty() {
            return Ok(());
        }
        let mut until_by_organiser: BTreeMap<&str, Timestamp> = BTreeMap::new();
        for placement in plan.placements.iter().filter(|p| p.moves()) {
            let Some(to) = placement
                .to
                .filter(|_| placement.record.status.holds_room())
            else {
                continue;
            };
            let until = until_by_organiser
                .entry(placement.record.organiser.as_str())
                .or_insert(to.end);
            *until = (*until).max(to.end);
        }
        for (organiser, until) in until_by_organiser {
            let lacking = self
                .holdings(tenant_id, organiser)
                .await?
                .lacking(room, until);
            if !lacking.is_empty() {
                return Err(ApiError::CredentialRequired {
                    missing: self.credential_names(tenant_id, &lacking).await?,
                });
            }
        }
        Ok(())
    }
}
