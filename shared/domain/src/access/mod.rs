//! Who may do what in a tenant (SPEC §B): the roles members hold, the changes an admin makes to
//! them, the versioned snapshot of roles → permissions → members, and the diff between two
//! snapshots. Pure: storage loads a [`PolicyState`], applies a [`Change`] here, and writes the
//! result and its snapshot in one transaction.

mod change;
mod invitation;
mod role;
mod snapshot;
mod state;

pub use change::{Change, ChangeError};
pub use invitation::InvitationToken;
pub use role::{RoleRef, RoleRefError};
pub use snapshot::{PolicyDiff, PolicySnapshot, RoleDiff, RoleSides, SnapshotRole};
pub use state::{CustomRole, Member, MemberStatus, PolicyState, definition};

#[cfg(test)]
mod tests;
