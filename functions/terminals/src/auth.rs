//! Who a terminal request comes from: its signature checked against the terminal's secret, its
//! timestamp against the clock and its nonce against those already used (docs/terminals.md).
//! Each terminal's secret is derived from the service's signing secret, its id and when it
//! was paired: none is stored, so a copy of the table reveals none.

use http::StatusCode;
use jiff::Timestamp;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Caller, Record};
use steward_authz::Permission;
use steward_domain::terminal::signature::{NONCE_MEMORY_SECONDS, Signed, SignedHeader};
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_kit::secret::keyed_hash;
use steward_store::terminals::{NonceTaken, TerminalRecord};

use super::Terminals;
use crate::admin::pairing_code_hash;

/// A terminal whose request holds: its record, the terminal as a principal of its tenant, and
/// when (by its own clock) it signed.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub terminal: TerminalRecord,
    pub caller: Caller,
    pub signed_at: Timestamp,
    /// The request's nonce.
    pub nonce: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairInput {
    pairing_code: String,
}

/// Pairing attempts a source address may make in one window of [`PAIRING_WINDOW`] seconds.
pub(super) const PAIRING_ATTEMPTS: u32 = 20;
const PAIRING_WINDOW: i64 = 15 * 60;

fn refused(why: impl Into<String>) -> ApiError {
    ApiError::TerminalUnauthorized(why.into())
}

/// A terminal that is no longer registered, or was paired again.
pub(super) fn revoked() -> ApiError {
    refused("unknown or revoked terminal")
}

/// A request whose nonce was used before.
pub(super) fn replay() -> ApiError {
    refused("the nonce was used before: a replay")
}

/// Where a terminal's record comes from: read now, or as this instance kept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Read,
    Kept,
}

impl Terminals {
    /// The secret of a terminal paired at `paired_at`.
    fn secret_of(&self, tenant_id: &str, terminal_id: &str, paired_at: &str) -> String {
        keyed_hash(
            &self.secrets,
            &format!("{tenant_id}/{terminal_id}/{paired_at}"),
        )
    }

    /// `POST /v1/terminals/pair`: the one-time code for the terminal's secret. An unknown,
    /// used or expired code is one answer, so that codes cannot be told apart by probing.
    pub(super) async fn pair(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let input: PairInput = request.json()?;
        let now = Timestamp::now();
        self.pairing_attempt(request, now).await?;
        let unknown = || ApiError::NotFound("pairing code (unknown, used or expired)".into());
        let terminals = &self.terminals;
        let pairing = terminals
            .pairing(&pairing_code_hash(&input.pairing_code), now.as_second())
            .await?
            .ok_or_else(unknown)?;
        let actor = format!("terminal:{}", pairing.terminal_id);
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: &pairing.tenant_id,
                actor: &actor,
                action: "terminal.pair",
                target: &actor,
                before: Value::Null,
                after: json!({ "paired_at": now.to_string() }),
            },
        );
        let terminal = terminals
            .pair(&pairing, &now.to_string(), &audit)
            .await?
            .ok_or_else(unknown)?;
        let paired_at = terminal
            .paired_at
            .as_deref()
            .ok_or_else(|| ApiError::internal("a paired terminal without paired_at"))?;
        tracing::info!(terminal = %terminal.terminal_id, tenant = %terminal.tenant_id, "terminal paired");
        api::json(
            StatusCode::OK,
            &json!({
                "tenant_id": terminal.tenant_id,
                "terminal_id": terminal.terminal_id,
                "room_id": terminal.room_id,
                "name": terminal.name,
                "secret": self.secret_of(&terminal.tenant_id, &terminal.terminal_id, paired_at),
            }),
        )
    }

    /// Counts a pairing attempt from `request`'s source address, before its code is looked
    /// at: past [`PAIRING_ATTEMPTS`] in [`PAIRING_WINDOW`] seconds, 429 until the window ends.
    /// Every attempt counts, so that concurrent guesses cannot slip past a read of the count; a
    /// code has 10 characters of 32 (50 bits), so 20 guesses a quarter of an hour find none,
    /// while an office pairing its doors one after another is not held up.
    async fn pairing_attempt(&self, request: &ApiRequest, now: Timestamp) -> Result<(), ApiError> {
        let source = request.source_ip.as_deref().unwrap_or_default();
        let key = format!("PAIRING#{}", keyed_hash(&self.throttle, source));
        let start = now.as_second() - now.as_second().rem_euclid(PAIRING_WINDOW);
        let attempts = self
            .identity
            .count_failure(&key, start, start + PAIRING_WINDOW)
            .await?;
        if attempts > PAIRING_ATTEMPTS {
            return Err(ApiError::TooManyRequests {
                retry_after: std::time::Duration::from_secs(
                    (start + PAIRING_WINDOW - now.as_second())
                        .max(1)
                        .unsigned_abs(),
                ),
            });
        }
        Ok(())
    }

    /// The terminal that signed `request`, or 401 with why; its nonce is then used up. The
    /// nonce is used only once the signature holds, so nobody can burn a terminal's nonces.
    pub(super) async fn authenticate(&self, request: &ApiRequest) -> Result<Device, ApiError> {
        let device = self.signed_by(request, Source::Read).await?;
        self.use_nonce(&device).await?;
        Ok(device)
    }

    /// The terminal that signed `request`, its nonce not used yet: the caller uses it, or has
    /// a write that uses it
    /// ([`steward_store::preconditions::Precondition::NonceUnused`]). From `Source::Kept`, the terminal
    /// is as this instance last saw it, unless its secret no longer checks the signature (it
    /// was paired again): what else a kept record says, the write that relies on it holds.
    pub(super) async fn signed_by(
        &self,
        request: &ApiRequest,
        source: Source,
    ) -> Result<Device, ApiError> {
        let header = request
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let signed = SignedHeader::parse(header).map_err(|e| refused(e.to_string()))?;
        let now = Timestamp::now();
        signed
            .fresh(now.as_second())
            .map_err(|e| refused(e.to_string()))?;
        let credential = &signed.credential;
        let kept = match source {
            Source::Kept => self.kept_terminal(&credential.tenant_id, &credential.terminal_id),
            Source::Read => None,
        };
        let terminal = match kept.filter(|kept| self.verify(&signed, request, kept).is_ok()) {
            Some(kept) => kept,
            None => {
                let read = self
                    .read_terminal(&credential.tenant_id, &credential.terminal_id)
                    .await?
                    .ok_or_else(revoked)?;
                self.verify(&signed, request, &read)?;
                read
            }
        };
        let caller = self
            .guard
            .allow_terminal(
                &terminal.tenant_id,
                &terminal.terminal_id,
                Permission::BookingsCheckIn,
            )
            .await?;
        let signed_at = Timestamp::from_second(signed.timestamp).map_err(ApiError::internal)?;
        Ok(Device {
            terminal,
            caller,
            signed_at,
            nonce: signed.nonce,
        })
    }

    /// Whether `signed` is `terminal`'s signature of `request`.
    fn verify(
        &self,
        signed: &SignedHeader,
        request: &ApiRequest,
        terminal: &TerminalRecord,
    ) -> Result<(), ApiError> {
        let paired_at = terminal
            .paired_at
            .as_deref()
            .ok_or_else(|| refused("the terminal is not paired yet"))?;
        let secret = self.secret_of(&terminal.tenant_id, &terminal.terminal_id, paired_at);
        signed
            .verify(
                &secret,
                Signed {
                    method: request.method.as_str(),
                    path: &request.path,
                    body: &request.body,
                },
            )
            .map_err(|e| refused(e.to_string()))
    }

    /// Uses up the nonce of `device`'s request: 401 if it was used before.
    pub(super) async fn use_nonce(&self, device: &Device) -> Result<(), ApiError> {
        let fresh = self
            .terminals
            .take_nonce(
                &device.terminal.tenant_id,
                &device.terminal.terminal_id,
                &device.nonce,
                Self::nonce_kept_until(),
            )
            .await?;
        if fresh { Ok(()) } else { Err(replay()) }
    }

    /// [`Self::use_nonce`], in one write with the check that the terminal is still paired as
    /// `device` has it: 401 for a terminal revoked or paired again since it was kept.
    pub(super) async fn use_nonce_while_paired(&self, device: &Device) -> Result<(), ApiError> {
        let terminal = &device.terminal;
        let taken = self
            .terminals
            .take_nonce_while_paired(
                (&terminal.tenant_id, &terminal.terminal_id),
                &device.nonce,
                Self::nonce_kept_until(),
                terminal.paired_at.as_deref().unwrap_or_default(),
            )
            .await?;
        match taken {
            NonceTaken::Taken => Ok(()),
            NonceTaken::Replay => Err(replay()),
            NonceTaken::Unpaired => {
                self.forget_terminal(&terminal.tenant_id, &terminal.terminal_id);
                Err(revoked())
            }
        }
    }

    /// Until when a nonce used now is remembered (unix seconds).
    pub(super) fn nonce_kept_until() -> i64 {
        Timestamp::now().as_second() + NONCE_MEMORY_SECONDS
    }
}
