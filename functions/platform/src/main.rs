//! The `platform` binary: `steward_platform::BINARIES` says what it runs.

steward_kit::main!(steward_platform);
