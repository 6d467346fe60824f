//! Terminal administration (SPEC §D), for admins with `terminals:manage`: registering a
//! terminal for a room (a one-time pairing code; counted against the licence's terminal limit),
//! listing terminals with their health, revoking one; the badge registry; the tenant's
//! check-in policy.

use http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_access::{Record, new_id};
use steward_authz::Permission;
use steward_domain::terminal::badge::BadgeId;
use steward_domain::terminal::check_in::CheckInPolicy;
use steward_kit::ApiError;
use steward_kit::api::{self, ApiRequest};
use steward_store::terminals::{BadgeRecord, TerminalRecord, TerminalWriteError, pairing_pk};

use crate::Terminals;

/// A terminal silent this long shows as offline.
pub(crate) const OFFLINE_AFTER: SignedDuration = SignedDuration::from_mins(10);

/// How long a pairing code can be used.
const PAIRING_VALID: SignedDuration = SignedDuration::from_hours(24);

/// Crockford's base 32: no I, L, O or U to misread on a screen.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A pairing code: 10 characters, 50 bits, enough for a code that lives a day and is used once.
fn new_pairing_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..10)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// The stored form of a code: its SHA-256, of the code as typed without case or dashes.
pub(crate) fn pairing_code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    steward_domain::digest::sha256_hex(normal)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TerminalInput {
    room_id: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BadgeInput {
    member_id: String,
    #[serde(default)]
    label: steward_domain::text::Name,
}

/// What a terminal is now: waiting for its pairing, online, offline, or revoked.
fn state(record: &TerminalRecord, now: Timestamp) -> &'static str {
    if record.revoked_at.is_some() {
        return "revoked";
    }
    if record.paired_at.is_none() {
        return "pairing";
    }
    let last = record
        .last_seen_at
        .as_deref()
        .or(record.paired_at.as_deref())
        .and_then(|at| at.parse::<Timestamp>().ok());
    match last {
        Some(last) if now.duration_since(last) < OFFLINE_AFTER => "online",
        _ => "offline",
    }
}

fn view(record: &TerminalRecord, now: Timestamp) -> Value {
    json!({
        "id": record.terminal_id,
        "room_id": record.room_id,
        "name": record.name,
        "state": state(record, now),
        "created_at": record.created_at,
        "paired_at": record.paired_at,
        "last_seen_at": record.last_seen_at,
        "app_version": record.app_version,
        "revoked_at": record.revoked_at,
    })
}

fn badge_view(record: &BadgeRecord) -> Value {
    json!({
        "id": record.badge_id,
        "member_id": record.member_id,
        "label": record.label,
        "created_at": record.created_at,
    })
}

fn badge_id(request: &ApiRequest) -> Result<BadgeId, ApiError> {
    BadgeId::parse(request.path_param("badgeId")?)
        .map_err(|message| ApiError::validation("badgeId", message))
}

impl Terminals {
    /// `POST /v1/terminals`: registers a terminal for a room; the answer's pairing code is
    /// shown once.
    pub(crate) async fn register_terminal(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::TerminalsManage)
            .await?;
        let input: TerminalInput = request.json()?;
        let name = input.name.trim();
        if name.is_empty() {
            return Err(ApiError::validation("name", "1 to 100 characters"));
        }
        steward_domain::text::check(name, 100, false)
            .map_err(|error| ApiError::validation("name", error.to_string()))?;
        let tenant_id = caller.tenant_id();
        let room = self
            .rooms
            .get(tenant_id, &input.room_id)
            .await?
            .ok_or_else(|| ApiError::validation("room_id", "no such room"))?;
        let now = Timestamp::now();
        let code = new_pairing_code();
        let terminal_id = new_id("tm");
        let (pk, sk) = TerminalRecord::key(tenant_id, &terminal_id);
        let expires = now + PAIRING_VALID;
        let record = TerminalRecord {
            pk,
            sk,
            terminal_id: terminal_id.clone(),
            tenant_id: tenant_id.to_owned(),
            room_id: room.room_id.clone(),
            name: name.to_owned(),
            created_at: now.to_string(),
            created_by: caller.user_id().to_owned(),
            pairing_pk: Some(pairing_pk(&pairing_code_hash(&code))),
            pairing_expires_at: expires.as_second(),
            paired_at: None,
            last_seen_at: None,
            app_version: None,
            pin_failures: 0,
            pin_window_start: 0,
            pin_locked_until: 0,
            revoked_at: None,
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "terminal.register",
                target: &format!("terminal:{terminal_id}"),
                before: Value::Null,
                after: view(&record, now),
            },
        );
        let limit = caller
            .licence_enforced
            .then_some(caller.tenant.licence.limits.terminals);
        self.terminals
            .register(&record, limit, &audit)
            .await
            .map_err(|error| match error {
                TerminalWriteError::LimitReached => ApiError::LicenceLimit {
                    limit: "terminals".into(),
                    allowed: caller.tenant.licence.limits.terminals,
                },
                TerminalWriteError::NotFound => ApiError::NotFound("tenant".into()),
                TerminalWriteError::Store(error) => error.into(),
            })?;
        let mut body = view(&record, now);
        body["pairing_code"] = json!(code);
        body["pairing_expires_at"] = json!(expires.to_string());
        api::json(StatusCode::CREATED, &body)
    }

    /// `GET /v1/terminals`: every terminal with its state, and how many are in each.
    pub(crate) async fn list_terminals(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::TerminalsManage)
            .await?;
        let now = Timestamp::now();
        let records = self.terminals.list(caller.tenant_id()).await?;
        let items: Vec<Value> = records.iter().map(|r| view(r, now)).collect();
        let count = |wanted: &str| items.iter().filter(|t| t["state"] == wanted).count();
        api::json(
            StatusCode::OK,
            &json!({
                "items": items,
                "health": {
                    "online": count("online"),
                    "offline": count("offline"),
                    "pairing": count("pairing"),
                    "revoked": count("revoked"),
                    "offline_after_minutes": OFFLINE_AFTER.as_mins(),
                },
            }),
        )
    }

    /// `DELETE /v1/terminals/{terminalId}`: its secret stops working at once.
    pub(crate) async fn revoke_terminal(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::TerminalsManage)
            .await?;
        let id = request.path_param("terminalId")?;
        let not_found = || ApiError::NotFound(format!("terminal {id}"));
        let record = self
            .terminals
            .get(caller.tenant_id(), id)
            .await?
            .ok_or_else(not_found)?;
        let now = Timestamp::now();
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "terminal.revoke",
                target: &format!("terminal:{id}"),
                before: view(&record, now),
                after: json!({ "revoked_at": now.to_string() }),
            },
        );
        self.terminals
            .revoke(&record, &now.to_string(), &audit)
            .await
            .map_err(|error| match error {
                TerminalWriteError::NotFound | TerminalWriteError::LimitReached => not_found(),
                TerminalWriteError::Store(error) => error.into(),
            })?;
        api::no_content()
    }

    /// `PUT /v1/badges/{badgeId}`: the badge now checks in as `member_id`.
    pub(crate) async fn put_badge(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::TerminalsManage)
            .await?;
        let badge = badge_id(request)?;
        let input: BadgeInput = request.json()?;
        let tenant_id = caller.tenant_id();
        let member = self
            .identity
            .user(tenant_id, &input.member_id)
            .await?
            .ok_or_else(|| ApiError::validation("member_id", "no such member"))?;
        let before = self.terminals.badge(tenant_id, badge.as_str()).await?;
        let (pk, sk) = BadgeRecord::key(tenant_id, badge.as_str());
        let record = BadgeRecord {
            pk,
            sk,
            badge_id: badge.as_str().to_owned(),
            tenant_id: tenant_id.to_owned(),
            member_id: member.user_id,
            label: input.label.trim().to_owned(),
            created_at: Timestamp::now().to_string(),
        };
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id,
                actor: caller.user_id(),
                action: "badge.put",
                target: &format!("badge:{}", badge.as_str()),
                before: before.as_ref().map(badge_view).unwrap_or(Value::Null),
                after: badge_view(&record),
            },
        );
        self.terminals.put_badge(&record, &audit).await?;
        api::json(StatusCode::OK, &badge_view(&record))
    }

    /// `GET /v1/badges`.
    pub(crate) async fn list_badges(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::TerminalsManage)
            .await?;
        let badges = self.terminals.badges(caller.tenant_id(), 10_000).await?;
        let items: Vec<Value> = badges.iter().map(badge_view).collect();
        api::json(StatusCode::OK, &json!({ "items": items }))
    }

    /// `DELETE /v1/badges/{badgeId}`.
    pub(crate) async fn remove_badge(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::TerminalsManage)
            .await?;
        let badge = badge_id(request)?;
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "badge.remove",
                target: &format!("badge:{}", badge.as_str()),
                before: json!({ "id": badge.as_str() }),
                after: Value::Null,
            },
        );
        if !self
            .terminals
            .remove_badge(caller.tenant_id(), badge.as_str(), &audit)
            .await?
        {
            return Err(ApiError::NotFound(format!("badge {}", badge.as_str())));
        }
        api::no_content()
    }

    /// `GET /v1/settings/check-in`.
    pub(crate) async fn check_in_policy(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self.guard.allow(request, Permission::RoomsRead).await?;
        api::json(StatusCode::OK, &caller.tenant.check_in.unwrap_or_default())
    }

    /// `PUT /v1/settings/check-in`: what is left out takes its default.
    pub(crate) async fn set_check_in_policy(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let caller = self
            .guard
            .allow(request, Permission::SettingsUpdate)
            .await?;
        let policy: CheckInPolicy = request.json()?;
        let problems = policy.problems();
        if !problems.is_empty() {
            return Err(ApiError::invalid(problems));
        }
        let audit = self.auditor.entry(
            request,
            Record {
                tenant_id: caller.tenant_id(),
                actor: caller.user_id(),
                action: "settings.check_in",
                target: &format!("tenant:{}", caller.tenant_id()),
                before: json!(caller.tenant.check_in.unwrap_or_default()),
                after: json!(policy),
            },
        );
        self.identity
            .set_check_in_policy(caller.tenant_id(), &policy, &audit)
            .await?;
        self.guard.forget_tenant(caller.tenant_id());
        api::json(StatusCode::OK, &policy)
    }
}
