//! The benchmarks `make bench` runs that are not cargo benches: cold starts under a local
//! Lambda Runtime API ([`cold_start`], [`runtime_api`]); and `make verify-build`, the deploy
//! artifacts started the same way ([`verify_build`]). The `steward-bench` binary is their
//! command line.

pub mod cold_start;
pub mod runtime_api;
pub mod verify_build;
