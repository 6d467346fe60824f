//! Provisioning by the organisation's directory over SCIM 2.0, through the gateway: an
//! independent client (scim2-client from PyPI, which validates each answer with scim2-models)
//! plays a user's whole life; then suspension cutting a signed-in person off, SCIM errors,
//! seats, tokens and tenant isolation over the wire.

use http::Method;
use serde_json::{Value, json};
use steward_e2e::{PASSWORD, Person, TestStack, repository_root, send};

/// An organisation and its directory's token.
async fn organisation(stack: &TestStack, name: &str, owner: &str) -> (Person, String) {
    let owner = stack.sign_up(name, owner).await;
    let (status, token) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/settings/scim/tokens",
            json!({ "name": "The directory" }),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    (owner, token["token"].as_str().unwrap().to_owned())
}

/// A SCIM request with `token`: status, content type, body.
async fn scim(
    stack: &TestStack,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut request = stack
        .http
        .request(method, stack.url(&format!("/scim/v2{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let (status, headers, body) = send(request).await;
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, body)
}

fn new_user(address: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": address,
        "name": { "givenName": "Some", "familyName": "One" },
    })
}

fn inactive() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "active", "value": false }],
    })
}

/// A SCIM error of `status` and, where given, `scim_type`.
fn assert_scim_error(answer: &(u16, String, Value), status: u16, scim_type: Option<&str>) {
    let (got, content_type, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(content_type, "application/scim+json");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], status.to_string());
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
}

#[tokio::test]
async fn an_independent_scim_client_creates_finds_suspends_replaces_and_deletes_a_user() {
    let stack = TestStack::start().await;
    let (owner, token) = organisation(&stack, "Acme Rooms", "owner@acme.test").await;
    let seen = tokio::process::Command::new(repository_root().join(".venv/bin/python"))
        .arg(repository_root().join("tests/scim/directory.py"))
        .arg(stack.url("/scim/v2"))
        .arg(&token)
        .arg("dee@acme.test")
        .output()
        .await
        .expect("the project's Python runs (make venv)");
    assert!(
        seen.status.success(),
        "{}",
        String::from_utf8_lossy(&seen.stderr)
    );
    let seen: Value = serde_json::from_slice(&seen.stdout).unwrap();
    let id = seen["created"]["id"].as_str().unwrap();
    assert_eq!(seen["created"]["user_name"], "dee@acme.test");
    assert_eq!(seen["created"]["active"], true);
    assert_eq!(seen["found"], json!([id]), "the filter is case-insensitive");
    assert_eq!(seen["fetched"], "Dee Directory");
    assert_eq!(seen["patched_active"], false);
    assert_eq!(
        seen["replaced"],
        json!({ "display_name": "Dee D.", "active": true })
    );
    assert_eq!(seen["after_delete"], json!([]));
    assert_eq!(
        seen["groups"],
        json!(["admin", "auditor", "manager", "member", "provider"]),
        "every role but owner is a group"
    );

    // Every change is in the organisation's audit log, by the directory.
    let audit = stack.audit_entries(&owner).await;
    let by_directory: Vec<&str> = audit
        .iter()
        .filter(|entry| entry["actor"] == "directory")
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    for action in [
        "member.provision",
        "member.suspend",
        "member.rename",
        "member.reinstate",
        "member.remove",
    ] {
        assert!(
            by_directory.contains(&action),
            "no {action} in {by_directory:?}"
        );
    }
}

#[tokio::test]
async fn a_suspended_user_is_cut_off_and_errors_seats_and_tenants_hold() {
    let stack = TestStack::with_parameters(&[
        ("AuthorizerCacheSeconds", "0"),
        ("LicensingConfigCacheSeconds", "0"),
    ])
    .await;
    let (owner, token) = organisation(&stack, "Acme Rooms", "owner@acme.test").await;
    // Bob has an account of his own (another organisation's); the directory adds him here.
    let _bob_home = stack.sign_up("Bob's Rooms", "bob@people.test").await;
    let (status, _, bob) = scim(
        &stack,
        &token,
        Method::POST,
        "/Users",
        Some(new_user("bob@people.test")),
    )
    .await;
    assert_eq!(status, 201, "{bob}");
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    assert_eq!(bob["meta"]["resourceType"], "User");
    assert_eq!(bob["roles"], json!([{ "value": "member" }]));
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::POST,
            "/Users",
            Some(new_user("bob@people.test")),
        )
        .await,
        409,
        Some("uniqueness"),
    );
    let (status, _, signed_in) = send(stack.post("/v1/auth/login").json(&json!({
        "email": "bob@people.test", "password": PASSWORD, "tenant_id": owner.tenant_id,
    })))
    .await;
    assert_eq!(status, 200, "{signed_in}");
    let bob_token = signed_in["access_token"].as_str().unwrap().to_owned();
    let me = || send(stack.get("/v1/me").bearer_auth(&bob_token));
    assert_eq!(me().await.0, 200);

    let (status, _, patched) = scim(
        &stack,
        &token,
        Method::PATCH,
        &format!("/Users/{bob_id}"),
        Some(inactive()),
    )
    .await;
    assert_eq!(
        (status, &patched["active"]),
        (200, &json!(false)),
        "{patched}"
    );
    assert_eq!(me().await.0, 401, "the suspended member's session ended");
    let (status, _, members) = send(stack.as_person(&owner, Method::GET, "/v1/members")).await;
    assert_eq!(status, 200);
    let bob_here = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == bob_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{members}"));
    assert_eq!(bob_here["status"], "suspended");

    // What the directory may not send is answered with SCIM errors, and changes nothing.
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::GET,
            "/Users?filter=emails%20co%20%22bob%22",
            None,
        )
        .await,
        400,
        Some("invalidFilter"),
    );
    let mut odd = new_user("carol@acme.test");
    odd["phoneNumbers"] = json!([{ "value": "555" }]);
    assert_scim_error(
        &scim(&stack, &token, Method::POST, "/Users", Some(odd)).await,
        400,
        Some("invalidSyntax"),
    );
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::PATCH,
            &format!("/Users/{bob_id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "userName", "value": "x@acme.test" }],
            })),
        )
        .await,
        400,
        Some("invalidPath"),
    );
    let (_, _, listed) = scim(
        &stack,
        &token,
        Method::GET,
        "/Users?filter=userName%20eq%20%22carol%40acme.test%22",
        None,
    )
    .await;
    assert_eq!(listed["totalResults"], 0, "the refused create made nobody");
    // The owner is the organisation's people's to manage, never the directory's.
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::PATCH,
            &format!("/Users/{}", owner.user_id),
            Some(inactive()),
        )
        .await,
        403,
        None,
    );

    // Tokens: none, a forged one, another organisation's.
    assert_scim_error(
        &scim(&stack, "", Method::GET, "/Users", None).await,
        401,
        None,
    );
    let forged = format!("{}.scim_x.forged", owner.tenant_id);
    assert_scim_error(
        &scim(&stack, &forged, Method::GET, "/Users", None).await,
        401,
        None,
    );
    let (_, other_token) = organisation(&stack, "Other Rooms", "owner@other.test").await;
    assert_scim_error(
        &scim(
            &stack,
            &other_token,
            Method::GET,
            &format!("/Users/{bob_id}"),
            None,
        )
        .await,
        404,
        None,
    );
    assert_scim_error(
        &scim(
            &stack,
            &other_token,
            Method::DELETE,
            &format!("/Users/{bob_id}"),
            None,
        )
        .await,
        404,
        None,
    );
    let (_, _, theirs) = scim(&stack, &other_token, Method::GET, "/Users", None).await;
    assert_eq!(theirs["totalResults"], 1, "only their own owner: {theirs}");

    // Seats: the trial's ten, enforced; the directory is told in SCIM's words.
    stack.enforce_offering(&owner, "trial").await;
    let mut answers = Vec::new();
    for i in 0..10 {
        let (status, _, body) = scim(
            &stack,
            &token,
            Method::POST,
            "/Users",
            Some(new_user(&format!("p{i}@acme.test"))),
        )
        .await;
        answers.push((status, body));
    }
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 402)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        created, 8,
        "owner and Bob hold two of the ten seats: {answers:?}"
    );
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0]["status"], "402");

    // Deleting frees the seat; a revoked token is refused.
    let (status, _, _) = scim(
        &stack,
        &token,
        Method::DELETE,
        &format!("/Users/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::GET,
            &format!("/Users/{bob_id}"),
            None,
        )
        .await,
        404,
        None,
    );
    let (status, _, _) = scim(
        &stack,
        &token,
        Method::POST,
        "/Users",
        Some(new_user("last@acme.test")),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, tokens) =
        send(stack.as_person(&owner, Method::GET, "/v1/settings/scim/tokens")).await;
    assert_eq!(status, 200);
    assert!(
        !tokens.to_string().contains(&token),
        "a token is shown once"
    );
    let id = tokens["items"][0]["id"].as_str().unwrap();
    let (status, _, _) = send(stack.as_person(
        &owner,
        Method::DELETE,
        &format!("/v1/settings/scim/tokens/{id}"),
    ))
    .await;
    assert_eq!(status, 204);
    assert_scim_error(
        &scim(&stack, &token, Method::GET, "/Users", None).await,
        401,
        None,
    );
}

#[tokio::test]
async fn groups_are_roles_and_the_directorys_grants_wait_for_a_second_admin() {
    let stack = TestStack::with_parameters(&[
        ("AuthorizerCacheSeconds", "0"),
        ("LicensingConfigCacheSeconds", "0"),
    ])
    .await;
    let (owner, token) = organisation(&stack, "Acme Rooms", "owner@acme.test").await;
    let (status, _, dee) = scim(
        &stack,
        &token,
        Method::POST,
        "/Users",
        Some(new_user("dee@acme.test")),
    )
    .await;
    assert_eq!(status, 201, "{dee}");
    let dee = dee["id"].as_str().unwrap().to_owned();
    let (status, _, found) = scim(
        &stack,
        &token,
        Method::GET,
        "/Groups?filter=displayName%20eq%20%22manager%22",
        None,
    )
    .await;
    assert_eq!(
        (status, &found["totalResults"]),
        (200, &json!(1)),
        "{found}"
    );
    assert_eq!(found["Resources"][0]["members"], json!([]));

    // Dual approval is on (the default): the directory's grant waits for an admin, once.
    let add_dee = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": dee }] }],
    });
    for _ in 0..2 {
        let (status, _, group) = scim(
            &stack,
            &token,
            Method::PATCH,
            "/Groups/manager",
            Some(add_dee.clone()),
        )
        .await;
        assert_eq!(status, 200, "{group}");
        assert_eq!(
            group["members"],
            json!([]),
            "not granted before it is approved"
        );
    }
    let (status, _, requests) =
        send(stack.as_person(&owner, Method::GET, "/v1/change-requests")).await;
    assert_eq!(status, 200, "{requests}");
    let asked: Vec<&Value> = requests["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["requested_by"] == "directory")
        .collect();
    assert_eq!(asked.len(), 1, "asking twice makes one request: {requests}");
    assert_eq!(asked[0]["change"]["kind"], "grant_role");
    assert_eq!(asked[0]["change"]["user_id"], dee.as_str());
    let id = asked[0]["id"]
        .as_str()
        .or(asked[0]["change_request_id"].as_str())
        .unwrap();
    let (status, approved) = stack
        .call(
            &owner,
            Method::POST,
            &format!("/v1/change-requests/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    let (_, _, group) = scim(&stack, &token, Method::GET, "/Groups/manager", None).await;
    assert_eq!(group["members"][0]["value"], dee.as_str(), "{group}");
    let (_, _, user) = scim(&stack, &token, Method::GET, &format!("/Users/{dee}"), None).await;
    assert!(
        user["roles"]
            .as_array()
            .unwrap()
            .contains(&json!({ "value": "manager" })),
        "{user}"
    );

    // What a directory may not do with groups.
    assert_scim_error(
        &scim(&stack, &token, Method::POST, "/Groups", Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "no-such-role",
        }))).await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "owner",
            })),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &scim(&stack, &token, Method::GET, "/Groups/owner", None).await,
        404,
        None,
    );
    assert_scim_error(
        &scim(&stack, &token, Method::DELETE, "/Groups/manager", None).await,
        400,
        Some("mutability"),
    );
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::PATCH,
            "/Groups/manager",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "displayName", "value": "boss" }],
            })),
        )
        .await,
        400,
        Some("invalidPath"),
    );
    // All or none: `member` kept to Dee alone would leave Eli with no role, so nothing is
    // asked, not even Dee's part.
    let (status, _, _) = scim(
        &stack,
        &token,
        Method::POST,
        "/Users",
        Some(new_user("eli@acme.test")),
    )
    .await;
    assert_eq!(status, 201);
    let before = send(stack.as_person(&owner, Method::GET, "/v1/change-requests"))
        .await
        .2;
    let (status, _, refused) = scim(
        &stack,
        &token,
        Method::PUT,
        "/Groups/member",
        Some(json!({ "displayName": "member", "members": [{ "value": dee }] })),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    let after = send(stack.as_person(&owner, Method::GET, "/v1/change-requests"))
        .await
        .2;
    assert_eq!(before["items"], after["items"]);
    assert_scim_error(
        &scim(
            &stack,
            &token,
            Method::GET,
            "/Groups?filter=members%20eq%20%22x%22",
            None,
        )
        .await,
        400,
        Some("invalidFilter"),
    );

    // Without the licence's sso feature the directory is refused, in SCIM's words.
    stack.enforce_offering(&owner, "essential").await;
    assert_scim_error(
        &scim(&stack, &token, Method::GET, "/Users", None).await,
        403,
        None,
    );
}
