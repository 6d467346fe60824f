//! The `deploy-check` binary: `steward_deploy_check::BINARIES` says what it runs.

steward_kit::main!(steward_deploy_check);
