//! The benchmarks `make bench` runs that are not cargo benches: cold starts under a local
//! Lambda Runtime API ([`cold_start`], [`runtime_api`]). The `steward-bench` binary is their
//! command line.

pub mod cold_start;
pub mod runtime_api;
