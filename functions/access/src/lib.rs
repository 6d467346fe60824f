//! The access-management function (SPEC §B): members, roles and grants, dual-approval change
//! requests, invitations, the versioned policy snapshot and its diff, and the audit log.
//!
//! Each handler asks the [`Guard`](steward_access::Guard) for its route's permission first,
//! then works on the tenant of the principal only: every key is built from it.

mod audit_log;
mod change_requests;
mod invitations;
mod licence;
mod members;
mod mutate;
mod onboarding;
mod policy;
mod roles;

use std::time::Duration;

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use steward_access::{Auditor, Guard};
use steward_authz::Permission;
use steward_kit::ApiError;
pub(crate) use steward_kit::api::no_content;
use steward_kit::api::{self, Api, ApiRequest, HttpFunction, Replayable};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::idempotency::Idempotency;
use steward_kit::pagination::Cursors;
use steward_store::access::AccessStore;
use steward_store::idempotency::IdempotencyStore;
use steward_store::identity::IdentityStore;
use steward_store::{SdkConfig, Table};

/// Lifetimes, from the environment.
#[derive(Debug, Clone, Deserialize)]
struct Lifetimes {
    /// SPEC §B: a change request expires 72 hours after it was made.
    #[serde(default = "defaults::change_request")]
    change_request_ttl_seconds: i64,
    #[serde(default = "defaults::invitation")]
    invitation_ttl_seconds: i64,
}

mod defaults {
    pub fn change_request() -> i64 {
        72 * 3600
    }
    pub fn invitation() -> i64 {
        7 * 86_400
    }
}

pub struct Access {
    guard: Guard,
    store: AccessStore,
    identity: IdentityStore,
    auditor: Auditor,
    cursors: Cursors,
    lifetimes: Lifetimes,
    onboarding: Onboarding,
}

/// The onboarding checklist's store, and whether ONBOARDING_WIZARD_ENABLED is on.
struct Onboarding {
    enabled: bool,
    store: steward_store::onboarding::OnboardingStore,
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Access>, ConfigError> {
    let common: Common = env.parse()?;
    let lifetimes: Lifetimes = env.parse()?;
    let table = Table::new(aws, &common.table);
    let identity = IdentityStore::new(table.clone());
    let guard = Guard::from_env(env, &table)?;
    let access = Access {
        guard,
        store: AccessStore::new(table.clone()),
        identity,
        auditor: Auditor::new(&common.signing_secret),
        cursors: Cursors::new(&common.signing_secret),
        lifetimes,
        onboarding: Onboarding {
            enabled: env
                .parse::<steward_kit::config::Flags>()?
                .onboarding_wizard_enabled,
            store: steward_store::onboarding::OnboardingStore::new(table.clone()),
        },
    };
    let idempotency = Idempotency::new(
        IdempotencyStore::new(table.clone()),
        Duration::from_secs(10),
    );
    HttpFunction::new(common.function_name, access, common.cors_allowed_origins)
        .with_idempotency(idempotency)
        .with_request_counts(env)?
        .with_recorded_latencies(&table, env)
}

impl Access {
    /// One page of the tenant's items of a kind (`prefix`), each shown by `view`; the cursor is
    /// sealed to this tenant and this `list`.
    pub(crate) async fn list<T: serde::de::DeserializeOwned, V: serde::Serialize>(
        &self,
        request: &ApiRequest,
        tenant_id: &str,
        list: &str,
        prefix: &str,
        view: impl Fn(&T) -> V,
    ) -> Result<Response<Body>, ApiError> {
        let scope = format!("{}#{list}", request.scope);
        let page = self.cursors.page_request(&scope, &request.query)?;
        let (records, next) = self
            .store
            .page::<T>(tenant_id, prefix, page.limit, page.start)
            .await?;
        let items: Vec<V> = records.iter().map(view).collect();
        api::json(StatusCode::OK, &self.cursors.page(&scope, items, next))
    }
}

impl Api for Access {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        match request.route.as_str() {
            "GET /v1/members" => self.list_members(request).await,
            "GET /v1/members/{userId}" => self.member(request).await,
            "POST /v1/members/{userId}/suspend" => self.suspend(request).await,
            "POST /v1/members/{userId}/reinstate" => self.reinstate(request).await,
            "DELETE /v1/members/{userId}" => self.remove(request).await,
            "POST /v1/members/{userId}/roles" => self.grant(request).await,
            "DELETE /v1/members/{userId}/roles/{role}" => self.revoke(request).await,
            "GET /v1/roles" => self.list_roles(request).await,
            "POST /v1/roles" => self.create_role(request).await,
            "PUT /v1/roles/{role}" => self.update_role(request).await,
            "DELETE /v1/roles/{role}" => self.delete_role(request).await,
            "PUT /v1/settings" => self.update_settings(request).await,
            "GET /v1/change-requests" => self.list_change_requests(request).await,
            "GET /v1/change-requests/{changeRequestId}" => self.change_request(request).await,
            "POST /v1/change-requests/{changeRequestId}/approve" => self.approve(request).await,
            "POST /v1/change-requests/{changeRequestId}/reject" => self.reject(request).await,
            "POST /v1/invitations" => self.invite(request).await,
            "GET /v1/invitations" => self.list_invitations(request).await,
            "DELETE /v1/invitations/{invitationId}" => self.revoke_invitation(request).await,
            "GET /v1/policy" => self.current_policy(request).await,
            "GET /v1/policy/versions" => self.policy_versions(request).await,
            "GET /v1/policy/versions/{version}" => self.policy_version(request).await,
            "GET /v1/policy/diff" => self.policy_diff(request).await,
            "GET /v1/audit" => self.audit_log(request).await,
            "GET /v1/licence" => self.licence(request).await,
            "GET /v1/onboarding" => self.onboarding(request).await,
            "POST /v1/onboarding/steps/{step}" => self.advance_onboarding(request).await,
            other => Err(ApiError::NotFound(format!("route {other}"))),
        }
    }
}

/// The routes that take an `Idempotency-Key`, with the permission each one's handler checks
/// first: what a replay is allowed on.
pub const KEYED_ROUTES: &[(&str, Permission)] = &[
    (
        "POST /v1/members/{userId}/suspend",
        Permission::MembersSuspend,
    ),
    (
        "POST /v1/members/{userId}/reinstate",
        Permission::MembersSuspend,
    ),
    ("POST /v1/members/{userId}/roles", Permission::GrantsCreate),
    ("POST /v1/roles", Permission::RolesCreate),
    (
        "POST /v1/change-requests/{changeRequestId}/approve",
        Permission::ChangeRequestsDecide,
    ),
    (
        "POST /v1/change-requests/{changeRequestId}/reject",
        Permission::ChangeRequestsDecide,
    ),
    ("POST /v1/invitations", Permission::InvitationsCreate),
    (
        "POST /v1/onboarding/steps/{step}",
        Permission::SettingsUpdate,
    ),
];

impl Replayable for Access {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}
