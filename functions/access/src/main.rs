//! The `access` binary: `steward_access_management::BINARIES` says what it runs.

steward_kit::main!(steward_access_management);
