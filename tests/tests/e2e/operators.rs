//! Operators (issue 26, item 6), over HTTP through the local gateway: an operator invites an
//! operator and a second one approves; the operators' tenant list by name.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{PASSWORD, Person, TestStack, send};

const INVITED_SUBJECT: &str = "Operator invited you to Steward platform on Steward";

/// The second operator, by the break-glass invitation `make operator` makes once the platform
/// has its first.
async fn second_operator(stack: &TestStack, email: &str) -> Person {
    let access = steward_store::access::AccessStore::new(stack.table.clone());
    let address: steward_domain::identity::Email = serde_json::from_value(json!(email)).unwrap();
    let token = steward_access::operators::invite_operator_directly(&access, &address)
        .await
        .unwrap();
    let (status, body) = stack.accept(&token).await;
    assert_eq!(status, 201, "{body}");
    Person {
        tenant_id: body["tenant"]["id"].as_str().unwrap().to_owned(),
        user_id: body["user"]["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        access_token: body["tokens"]["access_token"].as_str().unwrap().to_owned(),
        refresh_token: body["tokens"]["refresh_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn an_operator_invites_an_operator_and_only_a_second_one_lets_the_invitation_go() {
    let stack = TestStack::start().await;
    let first = stack.operator().await;
    let second = second_operator(&stack, "second@steward.test").await;
    assert_eq!(
        second.tenant_id, first.tenant_id,
        "both operate the platform"
    );

    // The first invites; nothing is sent until another operator approves.
    let (status, invited) = stack
        .call(
            &first,
            Method::POST,
            "/v1/admin/operators",
            json!({ "email": "third@steward.test" }),
        )
        .await;
    assert_eq!(status, 202, "{invited}");
    assert_eq!(invited["status"], "awaiting_approval");
    assert!(invited.get("token").is_none(), "{invited}");
    let id = invited["id"].as_str().unwrap();
    let approve = format!("/v1/admin/operators/{id}/approve");
    let (status, body) = stack.call(&first, Method::POST, &approve, json!({})).await;
    assert_eq!(status, 403, "not by the one who invited: {body}");
    assert!(
        stack
            .emailed_tokens("third@steward.test", INVITED_SUBJECT)
            .await
            .is_empty()
    );
    let (status, approved) = stack.call(&second, Method::POST, &approve, json!({})).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "pending");
    let (status, body) = stack.call(&second, Method::POST, &approve, json!({})).await;
    assert_eq!(status, 409, "decided once: {body}");

    // The invitee follows the emailed link and operates.
    let tokens = stack
        .emailed_tokens("third@steward.test", INVITED_SUBJECT)
        .await;
    assert_eq!(tokens.len(), 1);
    let (status, joined) = stack.accept(&tokens[0]).await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["user"]["roles"], json!(["operator"]));
    let third = Person {
        access_token: joined["tokens"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        ..second.clone()
    };
    let (status, body) = stack
        .call(&third, Method::GET, "/v1/admin/tenants", json!(null))
        .await;
    assert_eq!(status, 200, "{body}");

    // A refused invitation is never sent, and cannot be approved after.
    let (_, refused) = stack
        .call(
            &second,
            Method::POST,
            "/v1/admin/operators",
            json!({ "email": "fourth@steward.test" }),
        )
        .await;
    let id = refused["id"].as_str().unwrap();
    let (status, body) = stack
        .call(
            &first,
            Method::POST,
            &format!("/v1/admin/operators/{id}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "revoked");
    let (status, body) = stack
        .call(
            &third,
            Method::POST,
            &format!("/v1/admin/operators/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        stack
            .emailed_tokens(
                "fourth@steward.test",
                "Operator invited you to Steward platform on Steward"
            )
            .await
            .is_empty()
    );

    // An operator is invited once; a tenant's owner invites no operator.
    let (status, body) = stack
        .call(
            &first,
            Method::POST,
            "/v1/admin/operators",
            json!({ "email": "second@steward.test" }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
    let (status, body) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/admin/operators",
            json!({ "email": "mallory@acme.test" }),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = stack
        .call(&owner, Method::GET, "/v1/admin/tenants", json!(null))
        .await;
    assert_eq!(status, 403, "{body}");
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tenant| tenant["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn operators_list_and_search_tenants_by_name_page_by_page() {
    let stack = TestStack::start().await;
    let operator = stack.operator().await;
    let mut tenants = Vec::new();
    for (name, email) in [
        ("Acme Rooms", "a@acme.test"),
        ("acme Annex", "b@annex.test"),
        ("Beta Desks", "c@beta.test"),
        ("Acme Rooms", "d@acme2.test"),
        ("Zed Halls", "e@zed.test"),
    ] {
        tenants.push(stack.sign_up(name, email).await);
    }
    let list = |query: &str| {
        let path = format!("/v1/admin/tenants{query}");
        let operator = operator.clone();
        let stack = &stack;
        async move {
            let (status, body) = stack.call(&operator, Method::GET, &path, json!(null)).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };

    // By name, any case; the platform's own tenant is not a customer's.
    let all = list("").await;
    assert_eq!(
        names(&all),
        [
            "acme Annex",
            "Acme Rooms",
            "Acme Rooms",
            "Beta Desks",
            "Zed Halls"
        ]
    );
    let first = &all["items"][0];
    assert_eq!(first["tenant_id"], tenants[1].tenant_id.as_str());
    for field in ["created_at", "status", "seats_used", "seats_limit"] {
        assert!(first.get(field).is_some(), "{field}: {first}");
    }
    assert_eq!(first["seats_used"], 1);
    assert_eq!(
        names(&list("?prefix=ACME%20r").await),
        ["Acme Rooms", "Acme Rooms"]
    );
    assert!(names(&list("?prefix=nobody").await).is_empty());

    // Page by page, each cursor for its own search only.
    let page = list("?prefix=a&limit=2").await;
    assert_eq!(names(&page), ["acme Annex", "Acme Rooms"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = list(&format!("?prefix=a&limit=2&cursor={cursor}")).await;
    assert_eq!(names(&rest), ["Acme Rooms"]);
    assert!(rest["next_cursor"].is_null(), "{rest}");
    let (status, body) = stack
        .call(
            &operator,
            Method::GET,
            &format!("/v1/admin/tenants?prefix=b&limit=2&cursor={cursor}"),
            json!(null),
        )
        .await;
    assert_eq!(status, 400, "another search's cursor: {body}");

    // Tenants written before the index are missing until the migration puts them in.
    let dynamo = aws_sdk_dynamodb::Client::new(stack.aws());
    for tenant in &tenants[..2] {
        dynamo
            .update_item()
            .table_name(stack.table.name())
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{}", tenant.tenant_id)),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("TENANT".into()),
            )
            .update_expression("REMOVE gsi2pk, gsi2sk")
            .send()
            .await
            .unwrap();
    }
    assert_eq!(names(&list("").await).len(), 3);
    let store = steward_store::identity::IdentityStore::new(stack.table.clone());
    let report = store.migrate(false).await.unwrap();
    assert_eq!(report.tenants_indexed, 2, "{report:?}");
    assert_eq!(store.migrate(false).await.unwrap().tenants_indexed, 0);
    assert_eq!(names(&list("").await), names(&all));
}

#[tokio::test]
async fn a_break_glass_invitation_is_audited_and_accepted_like_any() {
    let stack = TestStack::start().await;
    let first = stack.operator().await;
    let second = second_operator(&stack, "second@steward.test").await;
    let entries = stack.audit_entries(&first).await;
    assert!(
        entries
            .iter()
            .any(|entry| entry["action"] == "platform.break_glass" && entry["actor"] == "system"),
        "{entries:?}"
    );
    let (status, me) = stack
        .call(&second, Method::GET, "/v1/me", json!(null))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["roles"], json!(["operator"]));
    let (status, _, answer) = send(stack.post("/v1/auth/login").json(&json!({
        "email": "second@steward.test", "password": PASSWORD,
    })))
    .await;
    assert_eq!(status, 200, "{answer}");
}

fn named(moving: &Value) -> Vec<&str> {
    moving["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tenant| tenant["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_change_of_the_switches_is_previewed_tenant_by_tenant_and_nothing_is_saved() {
    let stack = TestStack::start().await;
    let operator = stack.operator().await;
    let pilot = stack.sign_up("Pilot Halls", "p@pilot.test").await;
    stack.sign_up("Other Rooms", "o@other.test").await;
    stack.sign_up("Third Desks", "t@third.test").await;
    let (status, body) = stack
        .call(
            &operator,
            Method::PUT,
            &format!("/v1/admin/tenants/{}/cohort", pilot.tenant_id),
            json!({ "cohort": "pilot" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let pilot_stage = json!({ "stage": "pilot", "enforcement_enabled": true });
    let (status, body) = stack
        .call(
            &operator,
            Method::PUT,
            "/v1/admin/config/licensing",
            pilot_stage.clone(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let audited = stack.audit_entries(&operator).await.len();
    let preview = |switches: Value| {
        let operator = operator.clone();
        let stack = &stack;
        async move {
            let (status, body) = stack
                .call(
                    &operator,
                    Method::POST,
                    "/v1/admin/config/licensing/preview",
                    switches,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };

    let everyone =
        preview(json!({ "stage": "general_availability", "enforcement_enabled": true })).await;
    assert_eq!(everyone["tenants"], 3, "{everyone}");
    assert_eq!(everyone["enforced_now"], 1);
    assert_eq!(everyone["enforced_after"], 3);
    assert_eq!(everyone["starting"]["count"], 2);
    assert_eq!(named(&everyone["starting"]), ["Other Rooms", "Third Desks"]);
    assert_eq!(everyone["stopping"]["count"], 0);

    let off = preview(json!({ "stage": "pilot", "enforcement_enabled": false })).await;
    assert_eq!(off["enforced_after"], 0, "{off}");
    assert_eq!(named(&off["stopping"]), ["Pilot Halls"]);
    assert_eq!(
        off["stopping"]["tenants"][0]["tenant_id"],
        pilot.tenant_id.as_str()
    );
    assert_eq!(off["starting"]["count"], 0);

    // Every early adopter is one the hash puts under the percentage: at 0 none, at 100 all.
    let none = preview(json!({ "stage": "early_adopters", "enforcement_enabled": true, "early_adopter_percent": 0 })).await;
    assert_eq!(none["enforced_after"], 1, "only the pilot: {none}");
    let all = preview(json!({ "stage": "early_adopters", "enforcement_enabled": true, "early_adopter_percent": 100 })).await;
    assert_eq!(all["enforced_after"], 3, "{all}");

    // Bad input is refused; nothing was saved, nothing audited.
    for (bad, field) in [
        (
            json!({ "stage": "everyone", "enforcement_enabled": true }),
            "stage",
        ),
        (
            json!({ "stage": "pilot", "enforcement_enabled": true, "early_adopter_percent": 101 }),
            "early_adopter_percent",
        ),
        (json!({ "stage": "pilot" }), "enforcement_enabled"),
    ] {
        let (status, body) = stack
            .call(
                &operator,
                Method::POST,
                "/v1/admin/config/licensing/preview",
                bad.clone(),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(field), "{body}");
    }
    let (_, switches) = stack
        .call(
            &operator,
            Method::GET,
            "/v1/admin/config/licensing",
            json!(null),
        )
        .await;
    assert_eq!(switches["stage"], "pilot");
    assert_eq!(switches["enforcement_enabled"], true);
    assert_eq!(stack.audit_entries(&operator).await.len(), audited);

    // The tenant list says each tenant's cohort and whether it is enforced now.
    let (_, tenants) = stack
        .call(&operator, Method::GET, "/v1/admin/tenants", json!(null))
        .await;
    let by_name = |name: &str| {
        tenants["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|tenant| tenant["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("Pilot Halls")["cohort"], "pilot");
    assert_eq!(by_name("Pilot Halls")["enforced"], true);
    assert!(by_name("Other Rooms")["cohort"].is_null());
    assert_eq!(by_name("Other Rooms")["enforced"], false);

    // A tenant's owner may not preview the platform's switches.
    let (status, body) = stack
        .call(
            &pilot,
            Method::POST,
            "/v1/admin/config/licensing/preview",
            pilot_stage,
        )
        .await;
    assert_eq!(status, 403, "{body}");
}
