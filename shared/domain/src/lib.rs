//! Steward's domain: the types that parse input into values that are valid by construction, and
//! the rules over them. Nothing here knows about AWS, HTTP or storage.

pub mod access;
pub mod booking;
pub mod credential;
pub mod digest;
pub mod identity;
pub mod licensing;
pub mod onboarding;
pub mod sealed;
pub mod terminal;
pub mod text;
