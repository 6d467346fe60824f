//! The `sweep-schedule` binary: `steward_sweep::BINARIES` says what it runs.

steward_kit::main!(steward_sweep);
