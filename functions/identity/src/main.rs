//! The `identity` binary: `steward_identity::BINARIES` says what it runs.

steward_kit::main!(steward_identity);
