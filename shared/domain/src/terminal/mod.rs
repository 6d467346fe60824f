//! Door terminals (SPEC §D), the parts that need no storage: how a terminal signs its requests
//! ([`signature`]), what a booking's check-in allows and when it is released ([`check_in`]), a
//! room's state as a terminal shows it ([`status`]), booking PINs ([`pin`]), badges
//! ([`badge`]) and the order and clock of items captured offline ([`offline`]).

pub mod badge;
pub mod check_in;
pub mod offline;
pub mod pin;
pub mod signature;
pub mod status;
