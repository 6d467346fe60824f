//! The `authorizer` binary: `steward_authorizer::BINARIES` says what it runs.

steward_kit::main!(steward_authorizer);
