//! The `notifier` binary: `steward_notifier::BINARIES` says what it runs.

steward_kit::main!(steward_notifier);
