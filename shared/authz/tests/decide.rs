//! Decisions through the public API: the role matrix, custom roles, tenant isolation,
//! suspension, licence state, and a property over random role sets.

use std::collections::BTreeSet;

use proptest::prelude::*;
use steward_authz::{
    Action, Authorizer, BuiltInRole, Decision, DenyReason, Feature, LicenceStatus, Permission,
    PrincipalData, Request, RoleDefinition, RoleName, TenantData,
};

const TENANT: &str = "tenant-a";

fn authorizer() -> &'static Authorizer {
    static AUTHORIZER: std::sync::OnceLock<Authorizer> = std::sync::OnceLock::new();
    AUTHORIZER.get_or_init(|| Authorizer::new().expect("the policies are valid"))
}

fn user(tenant: &str, roles: Vec<RoleDefinition>) -> PrincipalData {
    PrincipalData {
        user_id: "user-1".into(),
        tenant_id: tenant.into(),
        suspended: false,
        roles,
    }
}

fn licence(tenant: &str, status: LicenceStatus, enforced: bool) -> TenantData {
    TenantData {
        tenant_id: tenant.into(),
        licence_status: status,
        licence_enforced: enforced,
        features: Feature::ALL.iter().copied().collect(),
    }
}

fn decide(principal: &PrincipalData, permission: Permission, resource_tenant: &str) -> Decision {
    let tenant = licence(&principal.tenant_id, LicenceStatus::Active, true);
    decide_with(principal, permission, resource_tenant, &tenant)
}

fn decide_with(
    principal: &PrincipalData,
    permission: Permission,
    resource_tenant: &str,
    tenant: &TenantData,
) -> Decision {
    authorizer().decide(&Request {
        principal,
        action: Action::new(permission),
        resource_tenant,
        tenant,
    })
}

#[test]
fn every_built_in_role_allows_exactly_its_permissions() {
    for &role in BuiltInRole::ALL {
        let principal = user(TENANT, vec![role.definition()]);
        let granted = role.permissions();
        for &permission in Permission::ALL {
            let expected = if granted.contains(&permission) {
                Decision::Allow
            } else {
                Decision::Deny(DenyReason::MissingPermission(permission))
            };
            assert_eq!(
                decide(&principal, permission, TENANT),
                expected,
                "{role} on {permission}"
            );
        }
    }
}

#[test]
fn built_in_roles_grant_what_the_spec_lists() {
    use Permission as P;
    let set = |ps: &[Permission]| ps.iter().copied().collect::<BTreeSet<_>>();
    let all: BTreeSet<Permission> = Permission::tenant_permissions().collect();
    assert_eq!(BuiltInRole::Owner.permissions(), all);
    assert_eq!(BuiltInRole::Admin.permissions(), all);
    assert_eq!(
        BuiltInRole::Manager.permissions(),
        set(&[
            P::MeRead,
            P::MeUpdate,
            P::SessionsManageOwn,
            P::MembersList,
            P::InvitationsCreate,
            P::InvitationsList,
            P::RolesList,
            P::LicenceRead,
            P::RoomsRead,
            P::RoomsManage,
            P::BookingsCreate,
            P::BookingsRead,
            P::BookingsApprove,
            P::BookingsExport,
            P::BookingsImport,
            P::RoomsImport,
            P::SeriesCreate,
            P::FeedsManage,
            P::ReportsRead,
            P::BookingsCheckIn,
            P::CredentialsUpload,
            P::CredentialsReview
        ])
    );
    for role in [BuiltInRole::Member, BuiltInRole::Provider] {
        assert_eq!(
            role.permissions(),
            set(&[
                P::MeRead,
                P::MeUpdate,
                P::SessionsManageOwn,
                P::RoomsRead,
                P::BookingsCreate,
                P::BookingsRead,
                P::SeriesCreate,
                P::FeedsManage,
                P::BookingsCheckIn,
                P::CredentialsUpload
            ])
        );
    }
    assert_eq!(
        BuiltInRole::Auditor.permissions(),
        set(&[
            P::MeRead,
            P::MeUpdate,
            P::SessionsManageOwn,
            P::MembersList,
            P::RolesList,
            P::PolicyRead,
            P::AuditRead,
            P::LicenceRead,
            P::RoomsRead,
            P::BookingsRead,
            P::BookingsExport,
            P::ReportsRead
        ])
    );
}

#[test]
fn a_custom_role_grants_its_permissions_and_no_other() {
    let desk = RoleDefinition::custom(
        RoleName::parse("front-desk").unwrap(),
        [Permission::MembersList, Permission::InvitationsCreate],
    );
    let principal = user(TENANT, vec![BuiltInRole::Member.definition(), desk]);
    for permission in [
        Permission::MembersList,
        Permission::InvitationsCreate,
        Permission::MeRead,
    ] {
        assert_eq!(decide(&principal, permission, TENANT), Decision::Allow);
    }
    assert_eq!(
        decide(&principal, Permission::MembersRemove, TENANT),
        Decision::Deny(DenyReason::MissingPermission(Permission::MembersRemove))
    );
}

#[test]
fn a_user_without_roles_is_denied() {
    let principal = user(TENANT, vec![]);
    assert_eq!(
        decide(&principal, Permission::MeRead, TENANT),
        Decision::Deny(DenyReason::MissingPermission(Permission::MeRead))
    );
}

#[test]
fn another_tenants_resource_is_refused_even_to_an_owner() {
    let owner = user("tenant-b", vec![BuiltInRole::Owner.definition()]);
    for &permission in Permission::ALL {
        assert_eq!(
            decide(&owner, permission, TENANT),
            Decision::Deny(DenyReason::OtherTenant),
            "{permission}"
        );
    }
    // And a licence of another tenant is never used for the principal's.
    let foreign = licence(TENANT, LicenceStatus::Active, false);
    assert_eq!(
        decide_with(&owner, Permission::MeRead, "tenant-b", &foreign),
        Decision::Deny(DenyReason::OtherTenant)
    );
}

#[test]
fn a_suspended_user_is_denied_whatever_its_roles() {
    let mut owner = user(TENANT, vec![BuiltInRole::Owner.definition()]);
    owner.suspended = true;
    assert_eq!(
        decide(&owner, Permission::MeRead, TENANT),
        Decision::Deny(DenyReason::SuspendedUser)
    );
}

#[test]
fn an_inactive_licence_denies_only_when_enforced() {
    let admin = user(TENANT, vec![BuiltInRole::Admin.definition()]);
    for &status in LicenceStatus::ALL {
        let usable = matches!(
            status,
            LicenceStatus::Trial | LicenceStatus::Active | LicenceStatus::Grace
        );
        let enforced = licence(TENANT, status, true);
        let expected = if usable {
            Decision::Allow
        } else {
            Decision::Deny(DenyReason::LicenceInactive { status })
        };
        assert_eq!(
            decide_with(&admin, Permission::MembersList, TENANT, &enforced),
            expected,
            "{status}"
        );
        let lenient = licence(TENANT, status, false);
        assert_eq!(
            decide_with(&admin, Permission::MembersList, TENANT, &lenient),
            Decision::Allow,
            "{status} without enforcement"
        );
    }
}

#[test]
fn a_licence_without_features_gates_exactly_the_feature_gated_actions() {
    let admin = user(TENANT, vec![BuiltInRole::Admin.definition()]);
    let mut bare = licence(TENANT, LicenceStatus::Active, true);
    bare.features.clear();
    let mut gated = Vec::new();
    for permission in Permission::tenant_permissions() {
        let expected = match permission.required_feature() {
            None => Decision::Allow,
            Some(feature) => {
                gated.push(permission);
                Decision::Deny(DenyReason::FeatureNotLicensed(feature))
            }
        };
        assert_eq!(
            decide_with(&admin, permission, TENANT, &bare),
            expected,
            "{permission}"
        );
    }
    assert_eq!(
        gated,
        [
            Permission::SeriesCreate,
            Permission::FeedsManage,
            Permission::RoomsImport,
            Permission::BookingsImport,
            Permission::ReportsRead,
            Permission::TerminalsManage,
            Permission::BookingsCheckIn,
            Permission::CredentialTypesManage,
            Permission::CredentialsUpload,
            Permission::CredentialsReview,
            Permission::SsoManage
        ]
    );
    // Not enforced, nothing is gated.
    let mut lenient = licence(TENANT, LicenceStatus::Active, false);
    lenient.features.clear();
    assert_eq!(
        decide_with(&admin, Permission::SeriesCreate, TENANT, &lenient),
        Decision::Allow
    );
}

#[test]
fn deny_reasons_read_well() {
    assert_eq!(
        DenyReason::MissingPermission(Permission::MembersList).to_string(),
        "missing permission members:list"
    );
    assert_eq!(
        Decision::Deny(DenyReason::LicenceInactive {
            status: LicenceStatus::Suspended
        })
        .to_string(),
        "deny: the licence is suspended"
    );
    assert_eq!(
        DenyReason::FeatureNotLicensed(Feature::IcalFeeds).to_string(),
        "the licence does not include the feature ical_feeds"
    );
}

fn permission_set() -> impl Strategy<Value = BTreeSet<Permission>> {
    proptest::collection::btree_set(proptest::sample::select(Permission::ALL), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn allowed_iff_some_role_grants_the_permission(
        sets in proptest::collection::vec(permission_set(), 0..4),
        permission in proptest::sample::select(Permission::ALL),
        status in proptest::sample::select(&[LicenceStatus::Trial, LicenceStatus::Active, LicenceStatus::Grace][..]),
    ) {
        let roles: Vec<RoleDefinition> = sets
            .iter()
            .enumerate()
            .map(|(i, set)| {
                RoleDefinition::custom(RoleName::parse(&format!("role-{i}")).unwrap(), set.iter().copied())
            })
            .collect();
        let union: BTreeSet<Permission> = sets.iter().flatten().copied().collect();
        let principal = user(TENANT, roles);
        let tenant = licence(TENANT, status, true);
        let decision = decide_with(&principal, permission, TENANT, &tenant);
        if union.contains(&permission) {
            prop_assert_eq!(decision, Decision::Allow);
        } else {
            prop_assert_eq!(decision, Decision::Deny(DenyReason::MissingPermission(permission)));
        }
    }
}
