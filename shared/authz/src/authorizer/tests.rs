//! Tests that need the crate's insides: schema conformance of the entities, the policy-file
//! checks, and feature-gated actions (no permission is gated yet, so [`Action::gated`] makes one).

use std::collections::BTreeSet;

use cedar_policy::{ValidationMode, Validator};
use proptest::prelude::*;

use super::*;
use crate::{BuiltInRole, Feature, LicenceStatus, PrincipalData, TenantData};

fn principal(roles: &[BuiltInRole]) -> PrincipalData {
    PrincipalData {
        user_id: "user-1".into(),
        tenant_id: "tenant-a".into(),
        suspended: false,
        roles: roles.iter().map(|r| r.definition()).collect(),
    }
}

fn tenant(enforced: bool, features: &[Feature]) -> TenantData {
    TenantData {
        tenant_id: "tenant-a".into(),
        licence_status: LicenceStatus::Active,
        licence_enforced: enforced,
        features: features.iter().copied().collect(),
    }
}

#[test]
fn the_policies_validate_against_the_schema() {
    let (schema, warnings) = Schema::from_cedarschema_str(SCHEMA).expect("schema parses");
    assert_eq!(warnings.count(), 0);
    let policies = PolicySet::from_str(POLICIES).expect("policies parse");
    let result = Validator::new(schema).validate(&policies, ValidationMode::Strict);
    let problems: Vec<String> = result
        .validation_errors()
        .map(|e| e.to_string())
        .chain(result.validation_warnings().map(|w| w.to_string()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    Authorizer::new().expect("the authorizer builds");
}

#[test]
fn every_policy_is_known_by_its_id() {
    let policies = Authorizer::load_policies(POLICIES).unwrap();
    let mut ids: Vec<&str> = policies.policies().map(|p| p.id().as_ref()).collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = Forbid::ALL.map(Forbid::id).to_vec();
    expected.push(PERMIT_ID);
    expected.sort_unstable();
    assert_eq!(ids, expected);
}

#[test]
fn the_entities_and_requests_conform_to_the_schema() {
    let authorizer = Authorizer::new().unwrap();
    let (schema, _) = Schema::from_cedarschema_str(SCHEMA).unwrap();
    let mut custom = principal(&[BuiltInRole::Admin, BuiltInRole::Auditor]);
    custom.roles.push(crate::RoleDefinition::custom(
        "desk".parse().unwrap(),
        [Permission::MembersList],
    ));
    // A duplicate role id is merged, not a duplicate entity.
    custom.roles.push(BuiltInRole::Member.definition());
    custom.roles.push(BuiltInRole::Member.definition());
    let licence = tenant(true, &[Feature::Reports, Feature::CsvImport]);
    for (action, edges) in [
        (Action::new(Permission::MembersList), Edges::Requested),
        (Action::new(Permission::AuditRead), Edges::All),
        (
            Action::gated(Permission::MembersList, Feature::Reports),
            Edges::Requested,
        ),
    ] {
        for resource_tenant in ["tenant-a", "tenant-b"] {
            let request = Request {
                principal: &custom,
                action,
                resource_tenant,
                tenant: &licence,
            };
            assert!(
                authorizer
                    .cedar_input(&request, edges, Some(&schema))
                    .is_some()
            );
        }
    }
}

#[test]
fn a_gated_action_needs_its_feature_when_enforced() {
    let authorizer = Authorizer::new().unwrap();
    let owner = principal(&[BuiltInRole::Owner]);
    let action = Action::gated(Permission::MembersList, Feature::CsvImport);
    let decide = |licence: &TenantData| {
        authorizer.decide(&Request {
            principal: &owner,
            action,
            resource_tenant: "tenant-a",
            tenant: licence,
        })
    };
    assert_eq!(
        decide(&tenant(true, &[Feature::Reports])),
        Decision::Deny(DenyReason::FeatureNotLicensed(Feature::CsvImport))
    );
    assert_eq!(
        decide(&tenant(true, &[Feature::CsvImport])),
        Decision::Allow
    );
    assert_eq!(decide(&tenant(true, Feature::ALL)), Decision::Allow);
    // Enforcement off: features are not checked.
    assert_eq!(decide(&tenant(false, &[])), Decision::Allow);
}

#[test]
fn a_gated_action_still_needs_its_permission() {
    let authorizer = Authorizer::new().unwrap();
    let member = principal(&[BuiltInRole::Member]);
    let action = Action::gated(Permission::MembersList, Feature::CsvImport);
    let licence = tenant(true, &[Feature::CsvImport]);
    let decision = authorizer.decide(&Request {
        principal: &member,
        action,
        resource_tenant: "tenant-a",
        tenant: &licence,
    });
    assert_eq!(
        decision,
        Decision::Deny(DenyReason::MissingPermission(Permission::MembersList))
    );
}

#[test]
fn forbid_reasons_follow_their_precedence() {
    let authorizer = Authorizer::new().unwrap();
    let mut suspended = principal(&[BuiltInRole::Owner]);
    suspended.suspended = true;
    let mut dead = tenant(true, &[]);
    dead.licence_status = LicenceStatus::Cancelled;
    let gated = Action::gated(Permission::MembersList, Feature::Terminals);
    let decide = |who: &PrincipalData, resource_tenant: &str, licence: &TenantData| {
        authorizer.decide(&Request {
            principal: who,
            action: gated,
            resource_tenant,
            tenant: licence,
        })
    };
    // Every forbid holds: another tenant wins.
    assert_eq!(
        decide(&suspended, "tenant-b", &dead),
        Decision::Deny(DenyReason::OtherTenant)
    );
    assert_eq!(
        decide(&suspended, "tenant-a", &dead),
        Decision::Deny(DenyReason::SuspendedUser)
    );
    let owner = principal(&[BuiltInRole::Owner]);
    assert_eq!(
        decide(&owner, "tenant-a", &dead),
        Decision::Deny(DenyReason::LicenceInactive {
            status: LicenceStatus::Cancelled
        })
    );
    assert_eq!(
        decide(&owner, "tenant-a", &tenant(true, &[])),
        Decision::Deny(DenyReason::FeatureNotLicensed(Feature::Terminals))
    );
}

#[test]
fn deny_reasons_name_their_policy() {
    let ids: BTreeSet<&str> = [
        DenyReason::MissingPermission(Permission::MeRead),
        DenyReason::FeatureNotLicensed(Feature::Reports),
        DenyReason::LicenceInactive {
            status: LicenceStatus::None,
        },
        DenyReason::SuspendedUser,
        DenyReason::OtherTenant,
    ]
    .iter()
    .map(DenyReason::policy_id)
    .collect();
    let policies = Authorizer::load_policies(POLICIES).unwrap();
    let known: BTreeSet<&str> = policies.policies().map(|p| p.id().as_ref()).collect();
    assert_eq!(ids, known);
}

#[test]
fn a_forbid_that_errors_counts_as_holding() {
    // Without the tenant entity, the licence forbids cannot read `principal.tenant.*` and
    // error; Cedar alone would then allow the owner. The decision must still deny.
    let authorizer = Authorizer::new().unwrap();
    let owner = principal(&[BuiltInRole::Owner]);
    let mut licence = tenant(true, &[]);
    licence.licence_status = LicenceStatus::Suspended;
    let request = Request {
        principal: &owner,
        action: Action::new(Permission::MeRead),
        resource_tenant: "tenant-a",
        tenant: &licence,
    };
    let (cedar_request, entities) = authorizer
        .cedar_input(&request, Edges::Requested, None)
        .unwrap();
    let without_tenant = Entities::from_entities(
        entities
            .iter()
            .filter(|e| e.uid().type_name() != &authorizer.types.tenant)
            .cloned(),
        None,
    )
    .unwrap();
    let response =
        authorizer
            .engine
            .is_authorized(&cedar_request, &authorizer.policies, &without_tenant);
    assert_eq!(response.decision(), CedarDecision::Allow);
    assert!(response.diagnostics().errors().next().is_some());
    assert_eq!(
        interpret(&response, &request),
        Decision::Deny(DenyReason::LicenceInactive {
            status: LicenceStatus::Suspended
        })
    );
}

#[test]
fn no_policy_names_a_permission() {
    let naming = POLICIES.replace(
        "principal in context.permission",
        r#"principal in Steward::Permission::"members:list""#,
    );
    assert_ne!(naming, POLICIES);
    let naming = Authorizer::load_policies(&naming).unwrap();
    let permit = naming.policy(&PolicyId::new(PERMIT_ID)).unwrap();
    assert!(Authorizer::names_a_permission(permit));
    let policies = Authorizer::load_policies(POLICIES).unwrap();
    let naming: Vec<_> = policies
        .policies()
        .filter(|policy| Authorizer::names_a_permission(policy))
        .map(|policy| policy.id().to_string())
        .collect();
    assert!(naming.is_empty(), "{naming:?} name a Permission entity");
}

#[test]
fn a_policy_of_an_unknown_id_or_effect_is_refused() {
    let unknown = r#"@id("owners-only") forbid (principal, action, resource);"#;
    assert!(matches!(
        Authorizer::load_policies(unknown),
        Err(AuthzError::Policy { .. })
    ));
    let wrong_effect = r#"@id("tenant-isolation") permit (principal, action, resource);"#;
    assert!(matches!(
        Authorizer::load_policies(wrong_effect),
        Err(AuthzError::Policy { .. })
    ));
    let missing = r#"@id("role-permission") permit (principal, action, resource);"#;
    assert!(matches!(
        Authorizer::load_policies(missing),
        Err(AuthzError::MissingPolicy("tenant-isolation"))
    ));
}

fn authorizer() -> &'static Authorizer {
    static AUTHORIZER: std::sync::OnceLock<Authorizer> = std::sync::OnceLock::new();
    AUTHORIZER.get_or_init(|| Authorizer::new().unwrap())
}

fn permission_set() -> impl Strategy<Value = BTreeSet<Permission>> {
    proptest::collection::btree_set(proptest::sample::select(Permission::ALL), 0..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Only the requested permission's edges go to Cedar: it must decide as with all of them.
    #[test]
    fn the_sliced_entities_decide_as_the_whole(
        role_sets in proptest::collection::vec(permission_set(), 0..4),
        built_ins in proptest::collection::vec(proptest::sample::select(BuiltInRole::ALL), 0..3),
        permission in proptest::sample::select(Permission::ALL),
        feature in proptest::option::of(proptest::sample::select(Feature::ALL)),
        features in proptest::collection::btree_set(proptest::sample::select(Feature::ALL), 0..4),
        status in proptest::sample::select(LicenceStatus::ALL),
        enforced: bool,
        suspended: bool,
        other_tenant: bool,
    ) {
        let mut who = principal(&built_ins);
        who.suspended = suspended;
        who.roles.extend(role_sets.into_iter().enumerate().map(|(i, set)| {
            crate::RoleDefinition::custom(format!("role-{i}").parse().unwrap(), set)
        }));
        let licence = TenantData {
            licence_status: status,
            features,
            ..tenant(enforced, &[])
        };
        let action = match feature {
            Some(feature) => Action::gated(permission, feature),
            None => Action::new(permission),
        };
        let request = Request {
            principal: &who,
            action,
            resource_tenant: if other_tenant { "tenant-b" } else { "tenant-a" },
            tenant: &licence,
        };
        prop_assert_eq!(
            authorizer().decide_with(&request, Edges::Requested),
            authorizer().decide_with(&request, Edges::All)
        );
    }
}

#[test]
fn the_authorizer_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Authorizer>();
}

/// Cedar refuses to evaluate with under 100 KiB of stack left, which would fail the licence
/// forbid closed and deny an owner: the decision grows the stack instead (found when a deep
/// async call chain in a debug build denied every approval).
#[test]
fn a_decision_deep_in_a_small_stack_still_allows() {
    let authorizer = Authorizer::new().unwrap();
    let owner = principal(&[BuiltInRole::Owner]);
    let licence = tenant(true, Feature::ALL);
    let decision = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(96 * 1024)
            .spawn_scoped(scope, || {
                authorizer.decide(&Request {
                    principal: &owner,
                    action: Action::new(Permission::MembersList),
                    resource_tenant: "tenant-a",
                    tenant: &licence,
                })
            })
            .unwrap()
            .join()
            .unwrap()
    });
    assert_eq!(decision, Decision::Allow);
}
