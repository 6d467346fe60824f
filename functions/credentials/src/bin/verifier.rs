//! The `verifier` binary: `steward_credentials::BINARIES` says what it runs.

steward_kit::main!(steward_credentials);
