//! Rooms and bookings (SPEC §C), the parts that need no storage: wall-clock times in a room's
//! zone ([`local_time`]) and recurring series ([`recurrence`]).

pub mod local_time;
pub mod recurrence;
