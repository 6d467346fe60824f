//! The `rooms` binary: `steward_rooms::BINARIES` says what it runs.

steward_kit::main!(steward_rooms);
