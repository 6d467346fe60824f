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
mod mfa_setting;
mod mutate;
mod onboarding;
mod operator_invitations;
mod policy;
mod roles;

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use steward_access::{Auditor, Guard, Instance};
use steward_authz::Permission;
use steward_kit::ApiError;
pub(crate) use steward_kit::api::no_content;
use steward_kit::api::{self, ApiRequest, HttpFunction, Replayable};
use steward_kit::config::{ConfigError, Env};
use steward_kit::pagination::Cursors;
use steward_store::SdkConfig;
use steward_store::access::AccessStore;
use steward_store::account_mail::AccountMailQueue;
use steward_store::identity::IdentityStore;

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
    account_mail: AccountMailQueue,
}

/// Where invitations' emails are queued (template.yaml).
#[derive(Debug, Clone, Deserialize)]
struct QueuesConfig {
    account_mail_queue_url: String,
}

/// The onboarding checklist's store, and whether ONBOARDING_WIZARD_ENABLED is on.
struct Onboarding {
    enabled: bool,
    store: steward_store::onboarding::OnboardingStore,
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<HttpFunction<Access>, ConfigError> {
    let instance = Instance::new(env, aws)?;
    let table = instance.table();
    let access = Access {
        guard: instance.guard()?,
        store: AccessStore::new(table.clone()),
        identity: IdentityStore::new(table.clone()),
        auditor: instance.auditor(),
        cursors: instance.cursors(),
        lifetimes: instance.parse()?,
        account_mail: AccountMailQueue::new(
            aws,
            instance.parse::<QueuesConfig>()?.account_mail_queue_url,
        ),
        onboarding: Onboarding {
            enabled: instance
                .parse::<steward_kit::config::Flags>()?
                .onboarding_wizard_enabled,
            store: steward_store::onboarding::OnboardingStore::new(table),
        },
    };
    instance.keyed_http(access)
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

steward_kit::routes! {
    /// The access API: members, roles, settings, change requests, invitations, the policy, the audit log, the licence and onboarding.
    pub const ROUTES for Access, fn route(request) {
        "GET /v1/members" => list_members,
        "GET /v1/members/{userId}" => member,
        "POST /v1/members/{userId}/suspend" => suspend,
        "POST /v1/members/{userId}/reinstate" => reinstate,
        "DELETE /v1/members/{userId}" => remove,
        "POST /v1/members/{userId}/roles" => grant,
        "DELETE /v1/members/{userId}/roles/{role}" => revoke,
        "GET /v1/roles" => list_roles,
        "POST /v1/roles" => create_role,
        "PUT /v1/roles/{role}" => update_role,
        "DELETE /v1/roles/{role}" => delete_role,
        "PUT /v1/settings" => update_settings,
        "GET /v1/settings/mfa" => mfa_setting,
        "POST /v1/admin/operators" => invite_operator,
        "POST /v1/admin/operators/{invitationId}/approve" => approve_operator,
        "POST /v1/admin/operators/{invitationId}/reject" => reject_operator,
        "PUT /v1/settings/mfa" => set_mfa_setting,
        "GET /v1/change-requests" => list_change_requests,
        "GET /v1/change-requests/{changeRequestId}" => change_request,
        "POST /v1/change-requests/{changeRequestId}/approve" => approve,
        "POST /v1/change-requests/{changeRequestId}/reject" => reject,
        "POST /v1/invitations" => invite,
        "GET /v1/invitations" => list_invitations,
        "DELETE /v1/invitations/{invitationId}" => revoke_invitation,
        "POST /v1/invitations/{invitationId}/resend" => resend_invitation,
        "GET /v1/policy" => current_policy,
        "GET /v1/policy/versions" => policy_versions,
        "GET /v1/policy/versions/{version}" => policy_version,
        "GET /v1/policy/diff" => policy_diff,
        "GET /v1/audit" => audit_log,
        "GET /v1/licence" => licence,
        "GET /v1/onboarding" => onboarding,
        "POST /v1/onboarding/steps/{step}" => advance_onboarding,
    }
}

steward_kit::routed_api!(Access, route);

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
        "POST /v1/invitations/{invitationId}/resend",
        Permission::InvitationsCreate,
    ),
    (
        "POST /v1/onboarding/steps/{step}",
        Permission::SettingsUpdate,
    ),
    ("POST /v1/admin/operators", Permission::PlatformConfigure),
    (
        "POST /v1/admin/operators/{invitationId}/approve",
        Permission::PlatformConfigure,
    ),
    (
        "POST /v1/admin/operators/{invitationId}/reject",
        Permission::PlatformConfigure,
    ),
];

impl Replayable for Access {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        self.guard.allow_replay(request, KEYED_ROUTES).await
    }
}

steward_kit::binaries! {
    "access" => init,
}

#[cfg(test)]
mod route_table {
    #[test]
    fn the_route_table_is_what_the_template_deploys_to_the_function() {
        steward_template::Template::assert_routes("AccessFunction", super::ROUTES);
    }
}
