//! The `licensing` binary: `steward_licensing::BINARIES` says what it runs.

steward_kit::main!(steward_licensing);
