//! Rooms' required credential types (SPEC §E): a room names only types its tenant defines.
//! Every booking path refuses an organiser who does not hold them (`steward_calendar`).

use steward_domain::booking::room::Room;
use steward_kit::ApiError;

use crate::Rooms;

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
}
