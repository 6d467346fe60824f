//! Rooms' required credential types (SPEC §E): every booking path refuses an organiser who
//! does not hold each of them verified and valid through the booking's end, naming the missing
//! types.

use std::collections::BTreeMap;

use jiff::Timestamp;
use steward_domain::credential::Held;
use steward_domain::credential::requirement::missing;
use steward_store::StoreError;
use steward_store::credentials::CredentialRecord;
use steward_store::rooms::RoomRecord;

use crate::error::CalendarError;
use crate::{Calendar, Plan};

/// The credentials one member holds, read once for every check a write makes.
pub struct Holdings(Vec<CredentialRecord>);

impl Holdings {
    /// The types `room` requires that these credentials do not cover until `until`.
    pub fn lacking<'r>(&self, room: &'r RoomRecord, until: Timestamp) -> Vec<&'r str> {
        let held: Vec<Held<'_>> = self.0.iter().map(CredentialRecord::held).collect();
        missing(&room.room.required_credentials, &held, until)
    }
}

impl Calendar {
    /// What `member` holds in `tenant_id`.
    pub async fn holdings(&self, tenant_id: &str, member: &str) -> Result<Holdings, StoreError> {
        Ok(Holdings(
            self.credentials.of_provider(tenant_id, member).await?,
        ))
    }

    /// Type ids as a person reads them: "First aid (ct_…)".
    pub async fn credential_names(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<Vec<String>, StoreError> {
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
    ) -> Result<(), CalendarError> {
        if room.room.required_credentials.is_empty() {
            return Ok(());
        }
        let mut until_by_organiser: BTreeMap<&str, Timestamp> = BTreeMap::new();
        for placement in plan.moving() {
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
                return Err(CalendarError::CredentialRequired(
                    self.credential_names(tenant_id, &lacking).await?,
                ));
            }
        }
        Ok(())
    }
}
