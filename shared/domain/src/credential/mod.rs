//! Provider credentials (SPEC §E), the parts that need no storage: the tenant's credential
//! types ([`kind`]), what an uploaded file must be ([`file`]), a credential's states and its
//! review's SLA ([`status`]), a provider's trust score ([`trust`]) and what a room's
//! requirements leave missing ([`requirement`]).

pub mod file;
pub mod kind;
pub mod requirement;
pub mod status;
pub mod trust;
