//! The end-to-end tests, one module a capability, in one test binary: each links every function
//! crate and the SDK, and on two cores linking 26 binaries cost more than running their tests.
//! Every test starts a stack of its own (its own table, queues and bucket in the one emulator
//! this binary starts), so modules share nothing but the emulator.
//!
//! Apart, in binaries of their own, are the tests that must run alone: fuzzing (tests/fuzz.rs),
//! the soak (tests/soak.rs), the log capture (tests/log_secrets.rs, which installs the process's
//! one log subscriber) and the request counts `make bench` also runs (tests/requests.rs).
//!
//! One module: `cargo test --workspace --test e2e hardening::`. The metrics lines
//! and the trace segments (tests/telemetry.rs) are captured apart too.

mod access;
mod accounts;
mod audit;
mod bookings;
mod csv;
mod demo;
mod deploys;
mod directory;
mod faults;
mod feeds;
mod gateway;
mod hardening;
mod identity;
mod invitation_mail;
mod isolation;
mod kiosk;
mod kit;
// libtest starts tests in name order: named `sweep`, the longest test (a 520-tenant sweep)
// started among the last and was the binary's tail.
mod licence_sweep;
mod notifications;
mod openapi;
mod operations;
mod operators;
mod queues_and_schedules;
mod quotas;
mod recovery;
mod release;
mod rooms;
mod second_factor;
mod series;
mod single_sign_on;
mod template_check;
mod terminals;
mod uploads;
mod utilisation;
mod web_app;
