use std::collections::BTreeSet;

use steward_authz::{Permission, RoleName};

use super::*;

fn role(name: &str) -> RoleRef {
    RoleRef::parse(name).unwrap()
}

fn member(roles: &[&str]) -> Member {
    Member {
        roles: roles.iter().map(|r| role(r)).collect(),
        status: MemberStatus::Active,
    }
}

/// Owner `o`, admin `a`, manager `m`, and a custom `desk` role held by nobody.
fn tenant() -> PolicyState {
    let mut state = PolicyState {
        version: 3,
        dual_approval: true,
        ..PolicyState::default()
    };
    state.members.insert("o".into(), member(&["owner"]));
    state.members.insert("a".into(), member(&["admin"]));
    state.members.insert("m".into(), member(&["manager"]));
    state.custom_roles.insert(
        RoleName::parse("desk").unwrap(),
        CustomRole {
            permissions: [Permission::MembersList].into(),
            description: "front desk".into(),
        },
    );
    state
}

fn grant(user_id: &str, name: &str) -> Change {
    Change::GrantRole {
        user_id: user_id.into(),
        role: role(name),
    }
}

#[test]
fn the_last_active_owner_cannot_be_revoked_suspended_or_removed() {
    let mut state = tenant();
    state
        .members
        .get_mut("o")
        .unwrap()
        .roles
        .insert(role("member"));
    let before = state.clone();
    for change in [
        Change::RevokeRole {
            user_id: "o".into(),
            role: RoleRef::OWNER,
        },
        Change::SuspendMember {
            user_id: "o".into(),
        },
        Change::RemoveMember {
            user_id: "o".into(),
        },
    ] {
        assert_eq!(
            change.apply(&mut state),
            Err(ChangeError::LastOwner),
            "{change:?}"
        );
        assert_eq!(state, before, "a refused change leaves the state as it was");
    }
    grant("a", "owner").apply(&mut state).unwrap();
    Change::SuspendMember {
        user_id: "o".into(),
    }
    .apply(&mut state)
    .unwrap();
    assert_eq!(state.active_owners(), 1);
}

#[test]
fn a_member_keeps_at_least_one_role() {
    let mut state = tenant();
    let revoke = Change::RevokeRole {
        user_id: "m".into(),
        role: role("manager"),
    };
    assert_eq!(revoke.apply(&mut state), Err(ChangeError::LastRole));
    grant("m", "desk").apply(&mut state).unwrap();
    revoke.apply(&mut state).unwrap();
    assert_eq!(state.members["m"].roles, BTreeSet::from([role("desk")]));
}

#[test]
fn grants_name_known_members_and_roles_once() {
    let mut state = tenant();
    assert_eq!(
        grant("nobody", "member").apply(&mut state),
        Err(ChangeError::UnknownMember("nobody".into()))
    );
    assert_eq!(
        grant("m", "ghost").apply(&mut state),
        Err(ChangeError::UnknownRole("ghost".into()))
    );
    grant("m", "desk").apply(&mut state).unwrap();
    assert!(matches!(
        grant("m", "desk").apply(&mut state),
        Err(ChangeError::AlreadyGranted { .. })
    ));
}

#[test]
fn nobody_hands_out_what_they_do_not_hold() {
    let mut state = tenant();
    // A custom role that may grant roles, but holds nothing else.
    state.custom_roles.insert(
        RoleName::parse("granter").unwrap(),
        CustomRole {
            permissions: [Permission::GrantsCreate, Permission::MembersList].into(),
            description: String::new(),
        },
    );
    state.members.insert("g".into(), member(&["granter"]));
    assert_eq!(grant("m", "desk").authorised_for("g", &state), Ok(()));
    assert!(matches!(
        grant("m", "admin").authorised_for("g", &state),
        Err(ChangeError::Escalation(_))
    ));
    let create = Change::CreateRole {
        name: RoleName::parse("auditor-plus").unwrap(),
        permissions: [Permission::AuditRead].into(),
        description: String::new(),
    };
    assert_eq!(
        create.authorised_for("g", &state),
        Err(ChangeError::Escalation(Permission::AuditRead))
    );
    assert_eq!(create.authorised_for("a", &state), Ok(()));
    // Admins hold every permission but cannot make or unmake owners.
    assert_eq!(
        grant("m", "owner").authorised_for("a", &state),
        Err(ChangeError::OwnerOnly)
    );
    assert_eq!(grant("m", "owner").authorised_for("o", &state), Ok(()));
    assert_eq!(
        Change::SuspendMember {
            user_id: "o".into()
        }
        .authorised_for("a", &state),
        Err(ChangeError::OwnerOnly)
    );
    assert_eq!(
        Change::RemoveMember {
            user_id: "a".into()
        }
        .authorised_for("a", &state),
        Err(ChangeError::OwnSelf)
    );
}

#[test]
fn a_suspended_member_holds_no_permission() {
    let mut state = tenant();
    assert!(state.permissions_of("a").contains(&Permission::AuditRead));
    Change::SuspendMember {
        user_id: "a".into(),
    }
    .apply(&mut state)
    .unwrap();
    assert!(state.permissions_of("a").is_empty());
    assert!(state.permissions_of("nobody").is_empty());
}

#[test]
fn role_and_grant_changes_wait_for_approval_while_dual_approval_is_on() {
    let mut state = tenant();
    let waits = [
        grant("m", "desk"),
        Change::DeleteRole {
            name: RoleName::parse("desk").unwrap(),
        },
        Change::SetDualApproval { enabled: false },
    ];
    let direct = [
        Change::SuspendMember {
            user_id: "m".into(),
        },
        Change::AddMember {
            user_id: "n".into(),
            roles: [role("member")].into(),
        },
    ];
    assert!(waits.iter().all(|c| c.needs_approval(&state)));
    assert!(direct.iter().all(|c| !c.needs_approval(&state)));
    state.dual_approval = false;
    assert!(waits.iter().all(|c| !c.needs_approval(&state)));
    assert!(!Change::SetDualApproval { enabled: true }.needs_approval(&state));
}

#[test]
fn a_role_in_use_cannot_be_deleted_and_custom_roles_are_capped() {
    let mut state = tenant();
    let desk = RoleName::parse("desk").unwrap();
    grant("m", "desk").apply(&mut state).unwrap();
    assert_eq!(
        Change::DeleteRole { name: desk.clone() }.apply(&mut state),
        Err(ChangeError::RoleInUse {
            role: "desk".into(),
            members: 1
        })
    );
    for i in state.custom_roles.len()..PolicyState::MAX_CUSTOM_ROLES {
        Change::CreateRole {
            name: RoleName::parse(&format!("r{i}")).unwrap(),
            permissions: [Permission::MeRead].into(),
            description: String::new(),
        }
        .apply(&mut state)
        .unwrap();
    }
    let one_more = Change::CreateRole {
        name: RoleName::parse("one-more").unwrap(),
        permissions: [Permission::MeRead].into(),
        description: String::new(),
    };
    assert_eq!(
        one_more.apply(&mut state),
        Err(ChangeError::TooManyRoles(PolicyState::MAX_CUSTOM_ROLES))
    );
}

#[test]
fn the_snapshot_lists_active_members_and_the_diff_shows_each_change() {
    let mut state = tenant();
    let before = PolicySnapshot::from(&state);
    let owner = before.roles.iter().find(|r| r.id == "owner").unwrap();
    assert_eq!(owner.members, BTreeSet::from(["o".to_owned()]));
    assert_eq!(
        before.roles.len(),
        steward_authz::built_in_roles().len() + 1
    );

    grant("m", "desk").apply(&mut state).unwrap();
    Change::SuspendMember {
        user_id: "a".into(),
    }
    .apply(&mut state)
    .unwrap();
    Change::UpdateRole {
        name: RoleName::parse("desk").unwrap(),
        permissions: [Permission::MembersList, Permission::RolesList].into(),
        description: "front desk".into(),
    }
    .apply(&mut state)
    .unwrap();
    Change::CreateRole {
        name: RoleName::parse("night").unwrap(),
        permissions: [Permission::MeRead].into(),
        description: String::new(),
    }
    .apply(&mut state)
    .unwrap();
    Change::SetDualApproval { enabled: false }
        .apply(&mut state)
        .unwrap();
    state.version = 4;
    let after = PolicySnapshot::from(&state);

    let diff = before.diff(&after);
    assert_eq!((diff.from, diff.to), (3, 4));
    assert_eq!(diff.dual_approval, Some(false));
    assert_eq!(
        diff.roles_added
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["night"]
    );
    assert!(diff.roles_removed.is_empty());
    /// A role's id, the permissions it gained, the members it gained and lost.
    type Changed<'a> = (&'a str, Vec<Permission>, Vec<&'a str>, Vec<&'a str>);
    let changed: Vec<Changed> = diff
        .roles_changed
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                r.permissions_added.iter().copied().collect(),
                r.members_added.iter().map(String::as_str).collect(),
                r.members_removed.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("admin", vec![], vec![], vec!["a"]),
            ("desk", vec![Permission::RolesList], vec!["m"], vec![]),
        ]
    );
    let back = after.diff(&before);
    assert_eq!(back.roles_removed, ["night"]);
    assert_eq!(before.diff(&before).roles_changed, []);
}

#[test]
fn changes_travel_as_tagged_json() {
    let change: Change =
        serde_json::from_str(r#"{"kind":"grant_role","user_id":"u1","role":"desk"}"#).unwrap();
    assert_eq!(change, grant("u1", "desk"));
    assert!(
        serde_json::from_str::<Change>(r#"{"kind":"grant_role","user_id":"u1","role":"Desk"}"#)
            .is_err()
    );
    assert!(serde_json::from_str::<Change>(r#"{"kind":"make_god","user_id":"u1"}"#).is_err());
}

/// The owner-only rule, over every change to a member and every state of actor and target:
/// whoever is not an active owner suspends, reinstates or removes no member who holds the
/// owner role, suspended or not, and makes or unmakes no owner.
mod owner_only {
    use proptest::prelude::*;

    use super::*;

    fn status() -> impl Strategy<Value = MemberStatus> {
        prop_oneof![Just(MemberStatus::Active), Just(MemberStatus::Suspended)]
    }

    fn roles() -> impl Strategy<Value = BTreeSet<RoleRef>> {
        proptest::sample::subsequence(vec!["owner", "admin", "manager", "member", "desk"], 1..=3)
            .prop_map(|names| names.into_iter().map(role).collect())
    }

    fn change(target: &'static str) -> impl Strategy<Value = Change> {
        let user_id = || target.to_owned();
        prop_oneof![
            Just(Change::SuspendMember { user_id: user_id() }),
            Just(Change::ReinstateMember { user_id: user_id() }),
            Just(Change::RemoveMember { user_id: user_id() }),
            proptest::sample::select(vec!["owner", "admin", "member", "desk"]).prop_map(move |r| {
                Change::GrantRole {
                    user_id: user_id(),
                    role: role(r),
                }
            }),
            proptest::sample::select(vec!["owner", "admin", "member", "desk"]).prop_map(move |r| {
                Change::RevokeRole {
                    user_id: user_id(),
                    role: role(r),
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn only_an_active_owner_changes_an_owner(
            (actor_roles, actor_status) in (roles(), status()),
            (target_roles, target_status) in (roles(), status()),
            change in change("t"),
        ) {
            let mut state = tenant();
            state.members.insert("x".into(), Member { roles: actor_roles, status: actor_status });
            state.members.insert("t".into(), Member { roles: target_roles, status: target_status });
            let owner_concerned = match &change {
                Change::GrantRole { role, .. } | Change::RevokeRole { role, .. } => {
                    *role == RoleRef::OWNER
                }
                _ => state.holds_owner_role("t"),
            };
            let decided = change.authorised_for("x", &state);
            if owner_concerned && !state.is_owner("x") {
                prop_assert_eq!(&decided, &Err(ChangeError::OwnerOnly));
            }
            if decided == Err(ChangeError::OwnerOnly) {
                prop_assert!(owner_concerned && !state.is_owner("x"));
            }
        }

        #[test]
        fn an_active_owner_is_never_refused_as_not_an_owner(
            (target_roles, target_status) in (roles(), status()),
            change in change("t"),
        ) {
            let mut state = tenant();
            state.members.insert("t".into(), Member { roles: target_roles, status: target_status });
            prop_assert_ne!(change.authorised_for("o", &state), Err(ChangeError::OwnerOnly));
        }
    }
}

#[test]
fn an_admin_cannot_reinstate_remove_or_unmake_a_suspended_owner() {
    let mut state = tenant();
    state.members.insert(
        "s".into(),
        Member {
            roles: [RoleRef::OWNER].into(),
            status: MemberStatus::Suspended,
        },
    );
    for change in [
        Change::ReinstateMember {
            user_id: "s".into(),
        },
        Change::RemoveMember {
            user_id: "s".into(),
        },
        Change::RevokeRole {
            user_id: "s".into(),
            role: RoleRef::OWNER,
        },
    ] {
        assert_eq!(
            change.authorised_for("a", &state),
            Err(ChangeError::OwnerOnly),
            "{change:?}"
        );
        assert_eq!(change.authorised_for("o", &state), Ok(()), "{change:?}");
    }
}

#[test]
fn a_tenant_that_never_had_an_owner_takes_members_all_the_same() {
    // The platform's tenant: operators, no owner.
    let mut state = tenant();
    state.members.clear();
    let add = Change::AddMember {
        user_id: "op2".into(),
        roles: [role("member")].into(),
    };
    add.apply(&mut state).unwrap();
    assert!(state.members.contains_key("op2"));
    assert_eq!(state.active_owners(), 0);
}
