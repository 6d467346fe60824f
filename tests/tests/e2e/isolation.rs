//! Tenant isolation over every protected route of the API, generated from template.yaml's
//! route list: a principal of tenant B using tenant A's ids gets 404 and none of A's data, and
//! A is unchanged afterwards, though the person behind it is a member of A as well. A route whose path names a parameter this test has no value for
//! fails the test, so a new route cannot slip past it.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, repository_root, send};
use steward_template::{HttpAuth, Template};

/// Tenant A's data, and everything of it B must never see.
struct TenantA {
    owner: Person,
    path_values: BTreeMap<&'static str, String>,
    secrets: Vec<String>,
}

async fn tenant_a(stack: &TestStack) -> TenantA {
    let owner = stack.sign_up("Alpha Rooms", "owner@alpha.test").await;
    let admin = stack.join(&owner, "admin@alpha.test", &["admin"]).await;
    let member = stack.join(&owner, "member@alpha.test", &["member"]).await;
    let ask = |who: &Person, method: Method, path: &str, body: Value| {
        let request = stack.as_person(who, method, path).json(&body);
        async move { send(request).await.2 }
    };
    // A custom role (approved by the second admin), a pending change request, an invitation.
    let created = ask(
        &owner,
        Method::POST,
        "/v1/roles",
        json!({ "name": "desk", "permissions": ["me:read"] }),
    )
    .await;
    let approve = format!(
        "/v1/change-requests/{}/approve",
        created["change_request"]["id"].as_str().unwrap()
    );
    ask(&admin, Method::POST, &approve, json!(null)).await;
    let pending = ask(
        &owner,
        Method::POST,
        &format!("/v1/members/{}/roles", member.user_id),
        json!({ "role": "desk" }),
    )
    .await;
    let change_request = pending["change_request"]["id"].as_str().unwrap().to_owned();
    let invitation = stack
        .invite(&owner, "invitee@alpha.test", &["member"])
        .await;
    let me = ask(&owner, Method::GET, "/v1/me", json!(null)).await;
    let policy = ask(&owner, Method::GET, "/v1/policy", json!(null)).await;
    let room = ask(
        &owner,
        Method::POST,
        "/v1/rooms",
        json!({ "name": "Alpha Hall", "time_zone": "Europe/London", "capacity": 40 }),
    )
    .await;
    let booking = ask(
        &owner,
        Method::POST,
        "/v1/bookings",
        json!({
            "room_id": room["id"],
            "start": format!("{}T10:00", steward_e2e::days_ahead(30)),
            "end": format!("{}T11:00", steward_e2e::days_ahead(30)),
        }),
    )
    .await;

    let closure = ask(
        &owner,
        Method::POST,
        &format!("/v1/rooms/{}/closures", room["id"].as_str().unwrap()),
        json!({ "start": "2027-03-01T00:00", "end": "2027-03-02T00:00", "reason": "Alpha works" }),
    )
    .await;

    let series = ask(
        &owner,
        Method::POST,
        "/v1/series",
        json!({
            "room_id": room["id"],
            "start": format!("{}T14:00", steward_e2e::days_ahead(30)),
            "end": format!("{}T15:00", steward_e2e::days_ahead(30)),
            "recurrence": "FREQ=DAILY;COUNT=2",
        }),
    )
    .await;

    let feed = ask(
        &owner,
        Method::POST,
        "/v1/feeds",
        json!({ "room_id": room["id"] }),
    )
    .await;
    // A credential type and a credential.
    let credential_type = ask(
        &owner,
        Method::POST,
        "/v1/credential-types",
        json!({ "name": "Alpha licence", "accepted_types": ["application/pdf"], "max_bytes": 1000 }),
    )
    .await;
    let credential = ask(
        &owner,
        Method::POST,
        "/v1/credentials",
        json!({ "type_id": credential_type["id"], "content_type": "application/pdf", "size": 100 }),
    )
    .await;

    // A door terminal and a badge.
    let terminal = ask(
        &owner,
        Method::POST,
        "/v1/terminals",
        json!({ "room_id": room["id"], "name": "Alpha door" }),
    )
    .await;
    ask(
        &owner,
        Method::PUT,
        "/v1/badges/0A1B2C3D",
        json!({ "member_id": member.user_id, "label": "Alpha badge" }),
    )
    .await;
    let directory_token = ask(
        &owner,
        Method::POST,
        "/v1/settings/scim/tokens",
        json!({ "name": "Alpha's directory" }),
    )
    .await;

    let path_values = BTreeMap::from([
        ("terminalId", terminal["id"].as_str().unwrap().to_owned()),
        (
            "credentialId",
            credential["id"].as_str().unwrap().to_owned(),
        ),
        // A badge's id is the card's: every tenant has its own registry of them.
        ("badgeId", "0A1B2C3D".to_owned()),
        ("userId", member.user_id.clone()),
        (
            "tokenId",
            directory_token["id"].as_str().unwrap().to_owned(),
        ),
        ("role", "desk".to_owned()),
        ("changeRequestId", change_request.clone()),
        (
            "invitationId",
            invitation["id"].as_str().unwrap().to_owned(),
        ),
        ("sessionId", me["session_id"].as_str().unwrap().to_owned()),
        ("version", policy["version"].to_string()),
        ("tenantId", owner.tenant_id.clone()),
        ("runId", "20261123T020000Z-nightly".to_owned()),
        ("step", "review_roles".to_owned()),
        ("roomId", room["id"].as_str().unwrap().to_owned()),
        ("bookingId", booking["id"].as_str().unwrap().to_owned()),
        ("seriesId", series["id"].as_str().unwrap().to_owned()),
        ("feedId", feed["id"].as_str().unwrap().to_owned()),
        (
            "closureId",
            closure["closure"]["id"].as_str().unwrap().to_owned(),
        ),
    ]);
    let secrets = vec![
        terminal["id"].as_str().unwrap().to_owned(),
        terminal["pairing_code"].as_str().unwrap().to_owned(),
        "Alpha badge".to_owned(),
        "Alpha licence".to_owned(),
        credential["id"].as_str().unwrap().to_owned(),
        room["id"].as_str().unwrap().to_owned(),
        booking["id"].as_str().unwrap().to_owned(),
        closure["closure"]["id"].as_str().unwrap().to_owned(),
        "Alpha works".to_owned(),
        series["id"].as_str().unwrap().to_owned(),
        feed["id"].as_str().unwrap().to_owned(),
        feed["token"].as_str().unwrap().to_owned(),
        owner.tenant_id.clone(),
        owner.user_id.clone(),
        admin.user_id.clone(),
        member.user_id.clone(),
        change_request,
        invitation["id"].as_str().unwrap().to_owned(),
        me["session_id"].as_str().unwrap().to_owned(),
        "alpha.test".to_owned(),
        "Alpha Rooms".to_owned(),
    ];
    TenantA {
        owner,
        path_values,
        secrets,
    }
}

/// A valid body for each route that takes one, so a refusal is about the tenant, not the body.
fn body_for(route: &str, a: &TenantA) -> Value {
    match route {
        "POST /v1/members/{userId}/roles" => json!({ "role": "member" }),
        "POST /v1/roles" => json!({ "name": "desk", "permissions": ["me:read"] }),
        "PUT /v1/roles/{role}" => json!({ "permissions": ["me:read", "members:list"] }),
        "PUT /v1/settings" => json!({ "dual_approval": false }),
        "PUT /v1/settings/booking-quota" => json!({ "active_bookings": 1 }),
        "PUT /v1/settings/check-in" => json!({ "pin_attempts": 1 }),
        "POST /v1/terminals" => json!({ "room_id": a.path_values["roomId"], "name": "Beta door" }),
        "POST /v1/credential-types" => {
            json!({ "name": "Beta", "accepted_types": ["image/png"], "max_bytes": 10 })
        }
        "PUT /v1/badges/{badgeId}" => json!({ "member_id": a.path_values["userId"] }),
        "POST /v1/bookings" => json!({
            "room_id": a.path_values["roomId"],
            "start": format!("{}T10:00", steward_e2e::days_ahead(30)),
            "end": format!("{}T11:00", steward_e2e::days_ahead(30)),
        }),
        "PATCH /v1/bookings/{bookingId}" | "PATCH /v1/series/{seriesId}" => {
            json!({ "title": "Beta was here" })
        }
        "POST /v1/series" => json!({
            "room_id": a.path_values["roomId"],
            "start": format!("{}T16:00", steward_e2e::days_ahead(30)),
            "end": format!("{}T17:00", steward_e2e::days_ahead(30)),
            "recurrence": "FREQ=DAILY;COUNT=2",
        }),
        "POST /v1/rooms/{roomId}/closures" => {
            json!({ "start": "2027-03-05T00:00", "end": "2027-03-06T00:00", "reason": "Beta" })
        }
        "POST /v1/rooms" | "PUT /v1/rooms/{roomId}" => {
            json!({ "name": "Beta Hall", "time_zone": "UTC", "capacity": 2 })
        }
        "POST /v1/change-requests/{changeRequestId}/reject" => json!({ "reason": "no" }),
        "POST /v1/invitations" => json!({ "email": "someone@beta.test", "roles": ["member"] }),
        "POST /v1/me/password" => {
            json!({ "current_password": "wrong password here", "new_password": "another long passphrase" })
        }
        _ => {
            let _ = a;
            json!({})
        }
    }
}

/// Query strings that point a list at A's data where a list takes filters.
fn query_for(route: &str, a: &TenantA) -> String {
    match route {
        "GET /v1/audit" => format!("?actor={}", a.owner.user_id),
        "GET /v1/policy/diff" => format!("?from=1&to={}", a.path_values["version"]),
        "GET /v1/rooms/{roomId}/free-busy" => format!(
            "?from={}T00:00:00Z&to={}T00:00:00Z",
            steward_e2e::days_ahead(29),
            steward_e2e::days_ahead(31)
        ),
        "GET /v1/availability" => format!(
            "?start={}T00:00:00Z&end={}T23:00:00Z",
            steward_e2e::days_ahead(30),
            steward_e2e::days_ahead(30)
        ),
        "GET /v1/bookings" => format!(
            "?room_id={}&from={}T00:00:00Z&to={}T00:00:00Z",
            a.path_values["roomId"],
            steward_e2e::days_ahead(20),
            steward_e2e::days_ahead(40)
        ),
        _ => String::new(),
    }
}

/// A's state as A's owner sees it: the policy, the members, the audit log.
async fn state_of(stack: &TestStack, a: &TenantA) -> Vec<Value> {
    let mut state = Vec::new();
    for path in [
        "/v1/policy",
        "/v1/members",
        "/v1/invitations",
        "/v1/change-requests",
        "/v1/rooms",
        &format!("/v1/bookings/{}", a.path_values["bookingId"]),
        &format!("/v1/rooms/{}/closures", a.path_values["roomId"]),
        &format!("/v1/series/{}", a.path_values["seriesId"]),
        "/v1/feeds",
        "/v1/terminals",
        "/v1/badges",
        "/v1/settings/check-in",
    ] {
        state.push(send(stack.as_person(&a.owner, Method::GET, path)).await.2);
    }
    state.push(json!(stack.audit_entries(&a.owner).await.len()));
    state
}

#[tokio::test]
async fn tenant_b_never_reads_or_changes_tenant_a() {
    let stack = TestStack::start_with(|options| {
        options
            .parameter_overrides
            .insert("AuthorizerCacheSeconds".into(), "0".into());
    })
    .await;
    let a = tenant_a(&stack).await;
    // B's owner is a member of A too (one account, two memberships): B's token must still
    // reach nothing of A's.
    let b = stack.sign_up("Beta Rooms", "owner@beta.test").await;
    let invitation = stack.invite(&a.owner, "owner@beta.test", &["member"]).await;
    let (status, _, joined) = send(stack.post("/v1/invitations/accept").json(&json!({
        "token": invitation["token"], "password": steward_e2e::PASSWORD,
    })))
    .await;
    assert_eq!(status, 201, "{joined}");
    let (_, _, me) = send(stack.as_person(&b, Method::GET, "/v1/me")).await;
    assert_eq!(me["tenant_id"], b.tenant_id.as_str());
    assert_eq!(me["memberships"].as_array().unwrap().len(), 2, "{me}");
    let before = state_of(&stack, &a).await;

    let template = Template::load(repository_root().join("template.yaml")).unwrap();
    let mut routes: Vec<(String, String, String)> = template
        .routes()
        .unwrap()
        .into_iter()
        .filter(|(_, _, auth)| !matches!(auth, HttpAuth::None))
        .filter_map(|(key, _, _)| {
            let text = key.to_string();
            let (method, path) = text.split_once(' ')?;
            Some((text.clone(), method.to_owned(), path.to_owned()))
        })
        .collect();
    // B's own sign-outs last: they end the session the others are made with.
    routes.sort_by_key(|(key, _, _)| key.contains("/v1/auth/logout"));
    assert!(
        routes.len() >= 30,
        "the route list is read from the template: {}",
        routes.len()
    );

    let mut checked = 0;
    for (key, method, template_path) in &routes {
        let mut path = template_path.clone();
        let mut names_a = false;
        while let Some(start) = path.find('{') {
            let end = path[start..].find('}').unwrap() + start;
            let name = &path[start + 1..end];
            let value = a.path_values.get(name).unwrap_or_else(|| {
                panic!("{key}: no value of tenant A for the path parameter {{{name}}}; add one")
            });
            // Onboarding steps are the same names in every tenant: B reaches its own.
            // Badge ids are the cards' own: B's registry is B's.
            names_a |= name != "step" && name != "badgeId";
            path.replace_range(start..=end, value);
        }
        path.push_str(&query_for(key, &a));
        let method: Method = method.parse().unwrap();
        let body = body_for(key, &a);
        let sent = format!("{path} {body}");
        let (status, _, answer) =
            send(stack.as_person(&b, method.clone(), &path).json(&body)).await;
        // The account's own memberships (what switching offers) name A, and the person's own
        // user there: that much of A is theirs to know, and nothing else of it is listed.
        let mut shown = answer.clone();
        if let Some(memberships) = shown.as_object_mut().and_then(|o| o.remove("memberships")) {
            for membership in memberships.as_array().unwrap() {
                let mut fields: Vec<&String> = membership.as_object().unwrap().keys().collect();
                fields.sort();
                assert_eq!(
                    fields,
                    ["roles", "status", "tenant_id", "tenant_name", "user_id"],
                    "{key}: {membership}"
                );
            }
        }
        let answer_text = shown.to_string();
        for secret in &a.secrets {
            assert!(
                sent.contains(secret.as_str()) || !answer_text.contains(secret.as_str()),
                "{key}: B's answer holds A's {secret}: {answer_text}"
            );
        }
        if names_a {
            // 404, or 403 for the platform's routes, which no tenant role may call at all.
            let platform_only = answer["missing_permission"]
                .as_str()
                .is_some_and(|p| p.starts_with("platform:"));
            assert!(
                status == 404 || (status == 403 && platform_only),
                "{key} with A's ids answers 404 (or 403) to B: {status} {answer_text}"
            );
        }
        assert!(status < 500, "{key}: {status} {answer_text}");
        checked += 1;
    }
    assert_eq!(checked, routes.len());
    assert_eq!(state_of(&stack, &a).await, before, "tenant A is unchanged");
}
