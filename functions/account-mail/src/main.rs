//! The `account-mail` binary: `steward_account_mail::BINARIES` says what it runs.

steward_kit::main!(steward_account_mail);
