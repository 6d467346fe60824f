//! Access management over HTTP through the gateway: invitations, members, roles and grants,
//! dual approval, the policy snapshot and its diff, and the audit log.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, send};

async fn stack_with(overrides: &[(&str, &str)]) -> TestStack {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TestStack::start_with(move |options| {
        options
            .parameter_overrides
            .insert("AuthorizerCacheSeconds".into(), "0".into());
        options.parameter_overrides.extend(overrides);
    })
    .await
}

async fn call(
    stack: &TestStack,
    who: &Person,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = stack.as_person(who, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, _, body) = send(request).await;
    (status, body)
}

/// An owner and a second admin, so that dual approval can work.
async fn owner_and_admin(stack: &TestStack) -> (Person, Person) {
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let admin = stack.join(&owner, "admin@acme.test", &["admin"]).await;
    (owner, admin)
}

async fn roles_of(stack: &TestStack, reader: &Person, user_id: &str) -> Value {
    let (status, body) = call(
        stack,
        reader,
        Method::GET,
        &format!("/v1/members/{user_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["roles"].clone()
}

#[tokio::test]
async fn invitations_are_single_use_revocable_and_checked() {
    let stack = stack_with(&[]).await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;

    let invitation = stack.invite(&owner, "mia@acme.test", &["member"]).await;
    assert_eq!(invitation["status"], "pending");
    let token = invitation["token"].as_str().unwrap();
    let (status, list) = call(&stack, &owner, Method::GET, "/v1/invitations", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["email"], "mia@acme.test");
    assert!(
        list["items"][0].get("token").is_none(),
        "the token is shown once only"
    );

    // A forged secret for a real invitation is unknown; the real one joins once.
    let (tenant, rest) = token.split_once('.').unwrap();
    let (id, _) = rest.split_once('.').unwrap();
    let (status, body) = stack.accept(&format!("{tenant}.{id}.forged")).await;
    assert_eq!(status, 404, "{body}");
    let (status, joined) = stack.accept(token).await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["user"]["roles"], json!(["member"]));
    let (status, body) = stack.accept(token).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("accepted"),
        "{body}"
    );

    // The new member signs in, reads itself, and holds nothing more.
    let mia_token = joined["tokens"]["access_token"].as_str().unwrap();
    let (status, _, me) = send(stack.get("/v1/me").bearer_auth(mia_token)).await;
    assert_eq!(
        (status, me["tenant_id"].as_str()),
        (200, Some(owner.tenant_id.as_str()))
    );
    let (status, _, denied) = send(stack.get("/v1/audit").bearer_auth(mia_token)).await;
    assert_eq!(status, 403, "{denied}");
    assert_eq!(denied["missing_permission"], "audit:read");

    // A revoked invitation cannot be accepted, nor revoked twice.
    let revoked = stack.invite(&owner, "rob@acme.test", &["member"]).await;
    let path = format!("/v1/invitations/{}", revoked["id"].as_str().unwrap());
    assert_eq!(
        call(&stack, &owner, Method::DELETE, &path, None).await.0,
        204
    );
    assert_eq!(
        call(&stack, &owner, Method::DELETE, &path, None).await.0,
        409
    );
    assert_eq!(
        stack.accept(revoked["token"].as_str().unwrap()).await.0,
        409
    );

    // Nobody invites into a role above their own, one of the tenant's members, or a role that
    // is not.
    let manager = stack.join(&owner, "max@acme.test", &["manager"]).await;
    let (status, body) = call(
        &stack,
        &manager,
        Method::POST,
        "/v1/invitations",
        Some(json!({ "email": "eve@acme.test", "roles": ["admin"] })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["missing_permission"].is_string(), "{body}");
    let (status, _) = call(
        &stack,
        &owner,
        Method::POST,
        "/v1/invitations",
        Some(json!({ "email": "max@acme.test", "roles": ["member"] })),
    )
    .await;
    assert_eq!(status, 409);
    let (status, body) = call(
        &stack,
        &owner,
        Method::POST,
        "/v1/invitations",
        Some(json!({ "email": "eve@acme.test", "roles": ["Night Shift"] })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "roles/0");
}

#[tokio::test]
async fn an_expired_invitation_cannot_be_accepted() {
    let stack = stack_with(&[("InvitationTtlSeconds", "1")]).await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let invitation = stack.invite(&owner, "late@acme.test", &["member"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = stack.accept(invitation["token"].as_str().unwrap()).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn dual_approval_needs_a_second_admin_and_shows_in_the_snapshot_diff() {
    let stack = stack_with(&[]).await;
    let (owner, admin) = owner_and_admin(&stack).await;
    let member = stack.join(&owner, "mia@acme.test", &["member"]).await;
    let (_, before) = call(&stack, &owner, Method::GET, "/v1/policy", None).await;

    let grant = format!("/v1/members/{}/roles", member.user_id);
    let (status, requested) = call(
        &stack,
        &owner,
        Method::POST,
        &grant,
        Some(json!({ "role": "auditor" })),
    )
    .await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["change_request"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        roles_of(&stack, &owner, &member.user_id).await,
        json!(["member"]),
        "nothing applied yet"
    );

    // The requester cannot approve; the change request is listed pending.
    let approve = format!("/v1/change-requests/{id}/approve");
    let (status, body) = call(&stack, &owner, Method::POST, &approve, None).await;
    assert_eq!(status, 403, "{body}");
    let (_, listed) = call(&stack, &admin, Method::GET, "/v1/change-requests", None).await;
    assert_eq!(listed["items"][0]["status"], "pending");
    // Read alone, it says what approving it would do, role by role, as the policy is now.
    let one = format!("/v1/change-requests/{id}");
    let (_, read) = call(&stack, &admin, Method::GET, &one, None).await;
    let sides = &read["preview"]["roles"];
    assert_eq!(sides.as_array().map(Vec::len), Some(1), "{read}");
    assert_eq!(
        (
            &sides[0]["id"],
            &sides[0]["before"]["members"],
            &sides[0]["after"]["members"]
        ),
        (&json!("auditor"), &json!([]), &json!([member.user_id])),
        "{read}"
    );
    assert_eq!(
        read["preview"]["diff"]["roles_changed"][0]["members_added"],
        json!([member.user_id])
    );

    let (status, approved) = call(&stack, &admin, Method::POST, &approve, None).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(
        roles_of(&stack, &owner, &member.user_id).await,
        json!(["member", "auditor"])
    );
    // The member now holds audit:read at once.
    assert_eq!(
        call(&stack, &member, Method::GET, "/v1/audit", None)
            .await
            .0,
        200
    );
    let (status, body) = call(&stack, &admin, Method::POST, &approve, None).await;
    assert_eq!(status, 409, "approved once: {body}");
    let (_, read) = call(&stack, &admin, Method::GET, &one, None).await;
    assert_eq!(read["preview"], Value::Null, "decided: nothing to preview");

    let from = before["version"].as_u64().unwrap();
    let to = approved["policy_version"].as_u64().unwrap();
    assert_eq!(to, from + 1);
    let (status, diff) = call(
        &stack,
        &owner,
        Method::GET,
        &format!("/v1/policy/diff?from={from}&to={to}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(
        diff["roles_changed"],
        json!([{
            "id": "auditor", "permissions_added": [], "permissions_removed": [],
            "members_added": [member.user_id], "members_removed": [],
        }])
    );
    let (_, versions) = call(&stack, &owner, Method::GET, "/v1/policy/versions", None).await;
    let listed: Vec<u64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, (1..=to).collect::<Vec<_>>());

    // A rejected request cannot be approved afterwards.
    let revoke = format!("/v1/members/{}/roles/auditor", member.user_id);
    let (_, requested) = call(&stack, &owner, Method::DELETE, &revoke, None).await;
    let id = requested["change_request"]["id"].as_str().unwrap();
    let (status, rejected) = call(
        &stack,
        &admin,
        Method::POST,
        &format!("/v1/change-requests/{id}/reject"),
        Some(json!({ "reason": "still needed" })),
    )
    .await;
    assert_eq!(
        (status, rejected["status"].as_str()),
        (200, Some("rejected"))
    );
    assert_eq!(
        call(
            &stack,
            &admin,
            Method::POST,
            &format!("/v1/change-requests/{id}/approve"),
            None
        )
        .await
        .0,
        409
    );
    assert_eq!(
        roles_of(&stack, &owner, &member.user_id).await,
        json!(["member", "auditor"])
    );
}

#[tokio::test]
async fn concurrent_approvals_apply_once() {
    let stack = stack_with(&[]).await;
    let (owner, admin) = owner_and_admin(&stack).await;
    let second = stack.join(&owner, "second@acme.test", &["admin"]).await;
    let member = stack.join(&owner, "mia@acme.test", &["member"]).await;
    for round in 0..3 {
        let role = ["auditor", "manager", "provider"][round];
        let (status, requested) = call(
            &stack,
            &owner,
            Method::POST,
            &format!("/v1/members/{}/roles", member.user_id),
            Some(json!({ "role": role })),
        )
        .await;
        assert_eq!(status, 202, "{requested}");
        let approve = format!(
            "/v1/change-requests/{}/approve",
            requested["change_request"]["id"].as_str().unwrap()
        );
        let attempts = (0..8).map(|i| {
            let who = if i % 2 == 0 { &admin } else { &second };
            call(&stack, who, Method::POST, &approve, None)
        });
        let statuses: Vec<u16> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(
            statuses.iter().filter(|&&s| s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|&s| s == 200 || s == 409),
            "{statuses:?}"
        );
    }
    let approvals = stack
        .audit_entries(&owner)
        .await
        .into_iter()
        .filter(|e| e["action"] == "change_request.approve")
        .count();
    assert_eq!(approvals, 3);
    assert_eq!(
        roles_of(&stack, &owner, &member.user_id).await,
        json!(["manager", "member", "provider", "auditor"])
    );
}

#[tokio::test]
async fn an_expired_change_request_cannot_be_approved() {
    let stack = stack_with(&[("ChangeRequestTtlSeconds", "1")]).await;
    let (owner, admin) = owner_and_admin(&stack).await;
    let (status, requested) = call(
        &stack,
        &owner,
        Method::POST,
        "/v1/roles",
        Some(json!({ "name": "desk", "permissions": ["members:list"] })),
    )
    .await;
    assert_eq!(status, 202, "{requested}");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let id = requested["change_request"]["id"].as_str().unwrap();
    let (status, body) = call(
        &stack,
        &admin,
        Method::POST,
        &format!("/v1/change-requests/{id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("expired"));
    let (_, shown) = call(
        &stack,
        &admin,
        Method::GET,
        &format!("/v1/change-requests/{id}"),
        None,
    )
    .await;
    assert_eq!(shown["status"], "expired");
    let (_, roles) = call(&stack, &owner, Method::GET, "/v1/roles", None).await;
    assert!(
        roles["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != "desk")
    );
}

#[tokio::test]
async fn custom_roles_and_members_once_dual_approval_is_off() {
    let stack = stack_with(&[]).await;
    let (owner, admin) = owner_and_admin(&stack).await;
    // Turning dual approval off is itself a change that needs the second admin.
    let (status, requested) = call(
        &stack,
        &owner,
        Method::PUT,
        "/v1/settings",
        Some(json!({ "dual_approval": false })),
    )
    .await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["change_request"]["id"].as_str().unwrap();
    assert_eq!(
        call(
            &stack,
            &admin,
            Method::POST,
            &format!("/v1/change-requests/{id}/approve"),
            None
        )
        .await
        .0,
        200
    );

    let (status, body) = call(&stack, &owner, Method::POST, "/v1/roles",
        Some(json!({ "name": "desk", "permissions": ["members:list", "me:read"], "description": "front desk" }))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &stack,
        &owner,
        Method::POST,
        "/v1/roles",
        Some(json!({ "name": "desk", "permissions": ["me:read"] })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = call(
        &stack,
        &owner,
        Method::POST,
        "/v1/roles",
        Some(json!({ "name": "owner", "permissions": ["me:read"] })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = call(
        &stack,
        &owner,
        Method::POST,
        "/v1/roles",
        Some(json!({ "name": "desk2", "permissions": ["rooms:fly"] })),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    let desk = stack.join(&owner, "dee@acme.test", &["desk"]).await;
    assert_eq!(
        call(&stack, &desk, Method::GET, "/v1/members", None)
            .await
            .0,
        200
    );
    let (status, body) = call(&stack, &desk, Method::GET, "/v1/roles", None).await;
    assert_eq!(
        (status, body["missing_permission"].as_str()),
        (403, Some("roles:list"))
    );
    // Editing the role changes what its holders may do at once.
    let (status, _) = call(
        &stack,
        &owner,
        Method::PUT,
        "/v1/roles/desk",
        Some(json!({ "permissions": ["me:read", "roles:list"] })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&stack, &desk, Method::GET, "/v1/roles", None).await.0,
        200
    );
    assert_eq!(
        call(&stack, &desk, Method::GET, "/v1/members", None)
            .await
            .0,
        403
    );
    assert_eq!(
        call(&stack, &owner, Method::DELETE, "/v1/roles/desk", None)
            .await
            .0,
        409,
        "in use"
    );
    assert_eq!(
        call(
            &stack,
            &owner,
            Method::PUT,
            "/v1/roles/admin",
            Some(json!({ "permissions": ["me:read"] }))
        )
        .await
        .0,
        404
    );

    // Suspension stops a member at once; reinstating restores it; removal ends its tokens.
    let suspend = format!("/v1/members/{}/suspend", desk.user_id);
    assert_eq!(
        call(&stack, &owner, Method::POST, &suspend, None).await.0,
        200
    );
    let (status, body) = call(&stack, &desk, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("suspended"));
    assert_eq!(
        call(&stack, &owner, Method::POST, &suspend, None).await.0,
        409
    );
    assert_eq!(
        call(
            &stack,
            &owner,
            Method::POST,
            &format!("/v1/members/{}/reinstate", desk.user_id),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&stack, &desk, Method::GET, "/v1/me", None).await.0,
        200
    );
    assert_eq!(
        call(
            &stack,
            &owner,
            Method::DELETE,
            &format!("/v1/members/{}", desk.user_id),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&stack, &desk, Method::GET, "/v1/me", None).await.0,
        401
    );
    assert_eq!(
        call(&stack, &owner, Method::DELETE, "/v1/roles/desk", None)
            .await
            .0,
        200
    );
    // The removed member's email can be invited again.
    stack.invite(&owner, "dee@acme.test", &["member"]).await;

    // Nobody suspends themselves; an admin cannot suspend the owner; the last owner stays.
    let (status, _) = call(
        &stack,
        &admin,
        Method::POST,
        &format!("/v1/members/{}/suspend", admin.user_id),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &stack,
        &admin,
        Method::POST,
        &format!("/v1/members/{}/suspend", owner.user_id),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = call(
        &stack,
        &owner,
        Method::DELETE,
        &format!("/v1/members/{}/roles/owner", owner.user_id),
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn the_audit_log_is_queried_by_time_actor_and_target_in_pages() {
    let stack = stack_with(&[]).await;
    let (owner, admin) = owner_and_admin(&stack).await;
    let start = jiff::Timestamp::now();
    for email in ["a@acme.test", "b@acme.test", "c@acme.test"] {
        stack.invite(&admin, email, &["member"]).await;
    }
    let (status, by_admin) = call(
        &stack,
        &owner,
        Method::GET,
        &format!("/v1/audit?actor={}", admin.user_id),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = by_admin["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "invitation.create",
            "invitation.create",
            "invitation.create",
            "invitation.accept"
        ],
        "newest first"
    );

    let since = format!("/v1/audit?from={start}");
    let mut seen = Vec::new();
    let mut path = format!("{since}&limit=2");
    loop {
        let (status, page) = call(&stack, &owner, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                // A cursor is bound to its filters.
                let (status, _) = call(
                    &stack,
                    &owner,
                    Method::GET,
                    &format!("/v1/audit?limit=2&cursor={cursor}"),
                    None,
                )
                .await;
                assert_eq!(status, 400);
                path = format!("{since}&limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);

    let first = by_admin["items"][0]["target"].as_str().unwrap();
    let (_, by_target) = call(
        &stack,
        &owner,
        Method::GET,
        &format!("/v1/audit?target={first}"),
        None,
    )
    .await;
    assert_eq!(by_target["items"].as_array().unwrap().len(), 1);
    let entry = &by_target["items"][0];
    assert_eq!(entry["actor"], admin.user_id.as_str());
    assert!(entry["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let hash = entry["source_ip_hash"].as_str().unwrap();
    assert!(
        hash.len() == 64 && !hash.contains("127.0.0.1"),
        "the address is keyed-hashed"
    );

    // The bounds are instants, to the nanosecond: an entry is in a range that starts or ends
    // at its own time and outside one a nanosecond past it, whatever its time's digits.
    let at: jiff::Timestamp = entry["at"].as_str().unwrap().parse().unwrap();
    let nanosecond = jiff::SignedDuration::from_nanos(1);
    let second = at.strftime("%Y-%m-%dT%H:%M:%S");
    for (range, holds) in [
        (format!("from={at}&to={at}"), true),
        (format!("from={}", at + nanosecond), false),
        (format!("to={}", at - nanosecond), false),
        (format!("from={second}Z&to={second}.999999999Z"), true),
    ] {
        let (status, page) = call(
            &stack,
            &owner,
            Method::GET,
            &format!("/v1/audit?target={first}&{range}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{range}: {page}");
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            usize::from(holds),
            "{range} holds the entry at {at}: {holds}"
        );
    }

    let (status, _) = call(
        &stack,
        &owner,
        Method::GET,
        "/v1/audit?from=yesterday",
        None,
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &stack,
        &owner,
        Method::GET,
        &format!("/v1/audit?from={}&to={start}", jiff::Timestamp::now()),
        None,
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn with_enforcement_on_a_tenant_without_a_licence_can_do_nothing() {
    // No trial at sign-up: the licence record stays `none` until an operator assigns one.
    let stack = stack_with(&[
        ("LicensingEnforcementEnabled", "true"),
        ("LicensingRolloutStage", "general_availability"),
        ("AutoProvisionEnabled", "false"),
    ])
    .await;
    let owner = stack.sign_up("Unlicensed", "owner@nolicence.test").await;
    let (status, body) = call(&stack, &owner, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("licence is none"),
        "{body}"
    );

    // With the default (auto-provisioned trial) the same enforcement lets the tenant act.
    let stack = stack_with(&[
        ("LicensingEnforcementEnabled", "true"),
        ("LicensingRolloutStage", "general_availability"),
    ])
    .await;
    let answer = stack
        .signed_up(json!({
            "tenant_name": "Trial", "name": "Owner", "email": "owner@trial.test", "password": steward_e2e::PASSWORD,
        }))
        .await;
    assert_eq!(answer["tenant"]["licence"]["status"], "trial");
    // A trial shows every feature.
    assert_eq!(
        answer["tenant"]["licence"]["features"],
        json!([
            "recurring_bookings",
            "terminals",
            "credentials",
            "reports",
            "ical_feeds",
            "csv_import",
            "sso"
        ]),
    );
    let token = answer["tokens"]["access_token"].as_str().unwrap();
    assert_eq!(send(stack.get("/v1/me").bearer_auth(token)).await.0, 200);
}

#[tokio::test]
async fn thirty_concurrent_invitations_for_the_last_seat_admit_exactly_one() {
    let stack = stack_with(&[
        ("LicensingEnforcementEnabled", "true"),
        ("LicensingRolloutStage", "general_availability"),
    ])
    .await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let (_, licence) = call(&stack, &owner, Method::GET, "/v1/licence", None).await;
    assert_eq!(licence["offering"], "trial");
    let seats = licence["limits"]["seats"].as_u64().unwrap();
    assert_eq!(licence["usage"]["seats"], 1, "the owner holds a seat");
    // Fill every seat but one; pending invitations hold seats.
    for i in 2..seats {
        stack
            .invite(&owner, &format!("early{i}@acme.test"), &["member"])
            .await;
    }
    let attempts = (0..30).map(|i| {
        call(
            &stack,
            &owner,
            Method::POST,
            "/v1/invitations",
            Some(json!({ "email": format!("rush{i}@acme.test"), "roles": ["member"] })),
        )
    });
    let answers = futures::future::join_all(attempts).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 402, "{body}");
        assert_eq!(body["type"], "urn:steward:problem:licence-limit-reached");
        assert_eq!(body["limit"], json!({ "name": "seats", "allowed": seats }));
    }
    let (_, licence) = call(&stack, &owner, Method::GET, "/v1/licence", None).await;
    assert_eq!(licence["usage"]["seats"], seats);
    let (_, listed) = call(
        &stack,
        &owner,
        Method::GET,
        "/v1/invitations?limit=200",
        None,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len() as u64,
        seats - 1,
        "refused ones left nothing"
    );

    // Revoking an invitation frees its seat; accepting one keeps it.
    let (_, listed) = call(&stack, &owner, Method::GET, "/v1/invitations", None).await;
    let first = listed["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        call(
            &stack,
            &owner,
            Method::DELETE,
            &format!("/v1/invitations/{first}"),
            None
        )
        .await
        .0,
        204
    );
    let member = stack.join(&owner, "late@acme.test", &["member"]).await;
    let (_, licence) = call(&stack, &owner, Method::GET, "/v1/licence", None).await;
    assert_eq!(licence["usage"]["seats"], seats);
    // Removing a member frees theirs.
    assert_eq!(
        call(
            &stack,
            &owner,
            Method::DELETE,
            &format!("/v1/members/{}", member.user_id),
            None
        )
        .await
        .0,
        200
    );
    let (_, licence) = call(&stack, &owner, Method::GET, "/v1/licence", None).await;
    assert_eq!(licence["usage"]["seats"], seats - 1);
}

/// The operators' licensing switches (the `CONFIG`/`LICENSING` item) override the template's
/// flags without a deploy, within the cache's lifetime (1 s here, 30 s by default).
#[tokio::test]
async fn a_stage_change_and_the_kill_switch_act_within_the_cache_lifetime() {
    use steward_domain::licensing::{Rollout, RolloutStage};
    use steward_store::platform::LicensingConfigRecord;
    let stack = stack_with(&[
        ("AutoProvisionEnabled", "false"),
        ("LicensingConfigCacheSeconds", "1"),
    ])
    .await;
    let unlicensed = stack.sign_up("Unlicensed", "owner@nolicence.test").await;
    let me = || call(&stack, &unlicensed, Method::GET, "/v1/me", None);
    assert_eq!(me().await.0, 200, "the template's default: enforcement off");

    let set = |stage, enforcement_enabled| {
        let record = LicensingConfigRecord::new(
            Rollout {
                stage,
                enforcement_enabled,
                early_adopter_percent: 25,
            },
            "2026-11-23T00:00:00Z",
            "test",
        );
        let table = stack.table.clone();
        async move { table.put(&record).await.unwrap() }
    };
    set(RolloutStage::GeneralAvailability, true).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, body) = me().await;
    assert_eq!(status, 403, "enforced everywhere now: {body}");
    // A stage that leaves this (non-pilot) tenant out.
    set(RolloutStage::Pilot, true).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(me().await.0, 200);
    // The kill switch, at general availability.
    set(RolloutStage::GeneralAvailability, true).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(me().await.0, 403);
    set(RolloutStage::GeneralAvailability, false).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(me().await.0, 200);
}

#[tokio::test]
async fn operators_assign_licences_and_cohorts_and_tenants_cannot() {
    let stack = stack_with(&[("LicensingConfigCacheSeconds", "0")]).await;
    let operator = stack.operator().await;
    assert_eq!(operator.tenant_id, "platform");
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let licence_path = format!("/v1/admin/tenants/{}/licence", owner.tenant_id);

    // A tenant's owner holds every tenant permission, and none of the platform's.
    let (status, body) = call(
        &stack,
        &owner,
        Method::PUT,
        &licence_path,
        Some(json!({ "offering": "enterprise" })),
    )
    .await;
    assert_eq!(
        (status, body["missing_permission"].as_str()),
        (403, Some("platform:manage_licences"))
    );
    let (status, body) = call(
        &stack,
        &owner,
        Method::GET,
        "/v1/admin/config/licensing",
        None,
    )
    .await;
    assert_eq!(
        (status, body["missing_permission"].as_str()),
        (403, Some("platform:configure"))
    );
    // Nor can an owner hand the operator role out.
    let (status, body) = call(
        &stack,
        &owner,
        Method::POST,
        "/v1/invitations",
        Some(json!({ "email": "x@acme.test", "roles": ["operator"] })),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    let (status, assigned) = call(
        &stack,
        &operator,
        Method::PUT,
        &licence_path,
        Some(json!({ "offering": "essential", "expires_at": "2027-11-23T00:00:00Z" })),
    )
    .await;
    assert_eq!(status, 200, "{assigned}");
    let (_, licence) = call(&stack, &owner, Method::GET, "/v1/licence", None).await;
    assert_eq!(licence["offering"], "essential");
    assert_eq!(licence["status"], "active");
    assert_eq!(licence["limits"]["seats"], 25);
    assert_eq!(licence["features"], json!(["ical_feeds"]));
    assert_eq!(licence["usage"]["seats"], 1, "the count is kept");
    let entries = stack.audit_entries(&owner).await;
    assert_eq!(entries[0]["action"], "licence.assign");
    assert_eq!(entries[0]["actor"], operator.user_id.as_str());

    let (status, _) = call(
        &stack,
        &operator,
        Method::PUT,
        "/v1/admin/tenants/tnt_nobody/licence",
        Some(json!({ "offering": "trial" })),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &stack,
        &operator,
        Method::PUT,
        &licence_path,
        Some(json!({ "offering": "platinum" })),
    )
    .await;
    assert_eq!(status, 422);

    // Pilot cohort plus a pilot stage: this tenant is enforced, and its suspended licence bites.
    let cohort_path = format!("/v1/admin/tenants/{}/cohort", owner.tenant_id);
    assert_eq!(
        call(
            &stack,
            &operator,
            Method::PUT,
            &cohort_path,
            Some(json!({ "cohort": "pilot" }))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &stack,
            &operator,
            Method::PUT,
            &licence_path,
            Some(json!({ "offering": "essential", "status": "suspended" }))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&stack, &owner, Method::GET, "/v1/me", None).await.0,
        200,
        "not enforced yet"
    );
    let (status, switches) = call(
        &stack,
        &operator,
        Method::PUT,
        "/v1/admin/config/licensing",
        Some(json!({ "stage": "pilot", "enforcement_enabled": true })),
    )
    .await;
    assert_eq!(
        (status, switches["source"].as_str()),
        (200, Some("configuration item"))
    );
    let (status, body) = call(&stack, &owner, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("suspended"));
    // Out of the pilot cohort, out of enforcement.
    assert_eq!(
        call(
            &stack,
            &operator,
            Method::PUT,
            &cohort_path,
            Some(json!({ "cohort": null }))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&stack, &owner, Method::GET, "/v1/me", None).await.0,
        200
    );
}

/// With the caches on, a role an instance creates is known to it from its next request: a
/// committed change forgets the instance's copy of the tenant (others follow within the TTL).
#[tokio::test]
async fn a_role_created_on_a_warm_instance_is_granted_at_once() {
    let stack = stack_with(&[("CacheEnabled", "true"), ("CacheTtlSeconds", "300")]).await;
    let (owner, admin) = owner_and_admin(&stack).await;
    let (status, requested) = call(
        &stack,
        &owner,
        Method::PUT,
        "/v1/settings",
        Some(json!({ "dual_approval": false })),
    )
    .await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["change_request"]["id"].as_str().unwrap();
    let approve = format!("/v1/change-requests/{id}/approve");
    assert_eq!(
        call(&stack, &admin, Method::POST, &approve, None).await.0,
        200
    );
    let role = json!({ "name": "desk", "permissions": ["members:list", "me:read"] });
    let (status, body) = call(&stack, &owner, Method::POST, "/v1/roles", Some(role)).await;
    assert_eq!(status, 200, "{body}");
    let desk = stack.join(&owner, "dee@acme.test", &["desk"]).await;
    let (status, body) = call(&stack, &desk, Method::GET, "/v1/members", None).await;
    assert_eq!(status, 200, "{body}");
}

/// `GET /v1/me` says what the caller may do, as the API decides it: what a client shows.
#[tokio::test]
async fn me_says_what_each_role_may_do() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let manager = stack.join(&owner, "manager@acme.test", &["manager"]).await;
    let member = stack.join(&owner, "member@acme.test", &["member"]).await;
    let may = async |who: &Person| -> Vec<String> {
        let (status, me) = call(&stack, who, Method::GET, "/v1/me", None).await;
        assert_eq!(status, 200, "{me}");
        serde_json::from_value(me["permissions"].clone()).expect("a list of permissions")
    };
    let (owner_may, manager_may, member_may) =
        (may(&owner).await, may(&manager).await, may(&member).await);
    let tenant_wide: Vec<String> = steward_authz::Permission::tenant_permissions()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(
        owner_may, tenant_wide,
        "an owner may do everything in the tenant"
    );
    assert!(!owner_may.iter().any(|p| p.starts_with("platform:")));
    for (who, may, approve) in [
        ("manager", &manager_may, true),
        ("member", &member_may, false),
    ] {
        assert!(
            may.contains(&"bookings:create".to_owned()),
            "{who}: {may:?}"
        );
        assert_eq!(
            may.contains(&"bookings:approve".to_owned()),
            approve,
            "{who}: {may:?}"
        );
        // Each listed permission is one the API then allows: approving is refused to a member.
        assert!(!may.contains(&"members:remove".to_owned()), "{who}");
    }
}
