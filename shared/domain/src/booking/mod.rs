//! Rooms and bookings (SPEC §C), the parts that need no storage: wall-clock times in a room's
//! zone ([`local_time`]), recurring series ([`recurrence`]), and what a slot must satisfy
//! ([`rules`]: duration, horizon, notice, closures, conflicts with buffers on both sides), and
//! the days a room's calendar is kept on ([`days`]), and the booking itself ([`entity`]).

pub mod closure;
pub mod days;
pub mod entity;
pub mod local_time;
pub mod notice;
pub mod quota;
pub mod recurrence;
pub mod room;
pub mod rules;
pub mod series;
pub mod status;
pub mod utilisation;
