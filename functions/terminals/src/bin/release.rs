//! The `release` binary: `steward_terminals::BINARIES` says what it runs.

steward_kit::main!(steward_terminals);
