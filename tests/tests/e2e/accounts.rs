//! One person, several organisations (issue 26, item 4), over HTTP through the local gateway:
//! an account apart from its memberships, sign-in that asks which organisation, tokens bound
//! to one, switching, suspension and removal acting on the membership, and the migration of a
//! table written before accounts existed.

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{PASSWORD, Person};
use steward_e2e::{TestStack, send};

const ALICE: &str = "alice@people.test";

fn room(name: &str) -> Value {
    json!({ "name": name, "time_zone": "Europe/London", "capacity": 4 })
}

async fn login(stack: &TestStack, email: &str, tenant: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "email": email, "password": PASSWORD });
    if let Some(tenant) = tenant {
        body["tenant_id"] = json!(tenant);
    }
    let (status, _, answer) = send(stack.post("/v1/auth/login").json(&body)).await;
    (status, answer)
}

/// The person a signed-in answer (sign-in, switch) is.
fn signed_in(answer: &Value, email: &str) -> Person {
    assert_eq!(answer["status"], "signed_in", "{answer}");
    let tenant_id = answer["tenant_id"].as_str().unwrap().to_owned();
    let user_id = answer["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["tenant_id"] == tenant_id.as_str())
        .expect("the membership signed in to is listed")["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    Person {
        tenant_id,
        user_id,
        email: email.to_owned(),
        access_token: answer["access_token"].as_str().unwrap().to_owned(),
        refresh_token: answer["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// The tenants of a sign-in answer's memberships, with their statuses.
fn memberships(answer: &Value) -> Vec<(String, String)> {
    answer["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["tenant_id"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn switch(stack: &TestStack, who: &Person, tenant_id: &str) -> (u16, Value) {
    stack
        .call(
            who,
            Method::POST,
            "/v1/auth/switch",
            json!({ "tenant_id": tenant_id }),
        )
        .await
}

async fn member_emails(stack: &TestStack, admin: &Person) -> Vec<String> {
    let (status, members) = stack
        .call(admin, Method::GET, "/v1/members", json!(null))
        .await;
    assert_eq!(status, 200, "{members}");
    members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn seats(stack: &TestStack, admin: &Person) -> u64 {
    let (status, licence) = stack
        .call(admin, Method::GET, "/v1/licence", json!(null))
        .await;
    assert_eq!(status, 200, "{licence}");
    licence["usage"]["seats"].as_u64().unwrap()
}

async fn accept_with(stack: &TestStack, token: &str, password: &str) -> (u16, Value) {
    let (status, _, answer) = send(
        stack
            .post("/v1/invitations/accept")
            .json(&json!({ "token": token, "password": password })),
    )
    .await;
    (status, answer)
}

#[tokio::test]
async fn one_person_belongs_to_two_organisations_and_each_token_reaches_only_its_own() {
    let stack = TestStack::start().await;
    let alice_a = stack.sign_up("Alpha Rooms", ALICE).await;
    let bob = stack.sign_up("Beta Rooms", "bob@beta.test").await;
    let carol = stack.sign_up("Gamma Rooms", "carol@gamma.test").await;
    let room_a = stack.room(&alice_a, room("Alpha one")).await;
    let room_b = stack.room(&bob, room("Beta one")).await;

    // Bob invites Alice's address; her account joins with its own password, and only with it.
    let seats_before = seats(&stack, &bob).await;
    let invitation = stack.invite(&bob, ALICE, &["member"]).await;
    let token = invitation["token"].as_str().unwrap();
    let (status, refused) = accept_with(&stack, token, "not her password at all").await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(member_emails(&stack, &bob).await, ["bob@beta.test"]);
    let (status, joined) = accept_with(&stack, token, PASSWORD).await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(
        joined["user"]["name"], "Owner",
        "the account's name: {joined}"
    );
    assert_eq!(
        seats(&stack, &bob).await,
        seats_before + 1,
        "the membership holds the seat the invitation took"
    );

    // Sign-in asks which organisation, and opens the one named.
    let (status, asked) = login(&stack, ALICE, None).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked["status"], "choose_tenant");
    assert!(asked.get("access_token").is_none(), "no tokens: {asked}");
    let mut both = vec![
        (alice_a.tenant_id.clone(), "active".to_owned()),
        (bob.tenant_id.clone(), "active".to_owned()),
    ];
    both.sort();
    assert_eq!(memberships(&asked), both);
    let (status, answer) = login(&stack, ALICE, Some(&bob.tenant_id)).await;
    assert_eq!(status, 200, "{answer}");
    let alice_b = signed_in(&answer, ALICE);
    assert_eq!(alice_b.tenant_id, bob.tenant_id);
    assert_ne!(alice_b.user_id, alice_a.user_id, "a user per membership");
    let (status, answer) = login(&stack, ALICE, Some(&carol.tenant_id)).await;
    assert_eq!(status, 403, "not a member of Gamma: {answer}");

    // Each token reaches its own organisation only: the other's room is not found.
    for (who, own, other) in [(&alice_a, &room_a, &room_b), (&alice_b, &room_b, &room_a)] {
        let (status, me) = stack.call(who, Method::GET, "/v1/me", json!(null)).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["tenant_id"], who.tenant_id.as_str());
        assert_eq!(me["memberships"].as_array().unwrap().len(), 2, "{me}");
        let (status, body) = stack
            .call(who, Method::GET, &format!("/v1/rooms/{own}"), json!(null))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = stack
            .call(who, Method::GET, &format!("/v1/rooms/{other}"), json!(null))
            .await;
        assert_eq!(status, 404, "another organisation's room: {body}");
    }

    // Switching opens a session in another of her organisations, and in no other.
    let (status, switched) = switch(&stack, &alice_a, &bob.tenant_id).await;
    assert_eq!(status, 200, "{switched}");
    let switched = signed_in(&switched, ALICE);
    let (status, body) = stack
        .call(
            &switched,
            Method::GET,
            &format!("/v1/rooms/{room_b}"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = switch(&stack, &alice_a, &carol.tenant_id).await;
    assert_eq!(status, 403, "{body}");

    // Suspension acts on the membership: Beta is closed to her, Alpha is not.
    let path = format!("/v1/members/{}/suspend", alice_b.user_id);
    let (status, body) = stack.call(&bob, Method::POST, &path, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = login(&stack, ALICE, Some(&bob.tenant_id)).await;
    assert_eq!(status, 403, "{body}");
    let (status, answer) = login(&stack, ALICE, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        signed_in(&answer, ALICE).tenant_id,
        alice_a.tenant_id,
        "the one active membership opens without asking"
    );
    let (status, body) = switch(&stack, &alice_a, &bob.tenant_id).await;
    assert_eq!(status, 403, "{body}");

    // Removal ends the membership and frees its seat; the account and Alpha stay.
    let seats_joined = seats(&stack, &bob).await;
    let (status, body) = stack
        .call(
            &bob,
            Method::DELETE,
            &format!("/v1/members/{}", alice_b.user_id),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(seats(&stack, &bob).await, seats_joined - 1);
    let (status, answer) = login(&stack, ALICE, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        memberships(&answer),
        [(alice_a.tenant_id.clone(), "active".to_owned())]
    );
}

#[tokio::test]
async fn a_password_is_the_accounts_and_changing_it_ends_the_sessions_of_every_membership() {
    let stack = TestStack::start().await;
    let alice_a = stack.sign_up("Alpha Rooms", ALICE).await;
    let bob = stack.sign_up("Beta Rooms", "bob@beta.test").await;
    let invitation = stack.invite(&bob, ALICE, &["member"]).await;
    let (status, body) = accept_with(&stack, invitation["token"].as_str().unwrap(), PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    let (_, answer) = login(&stack, ALICE, Some(&bob.tenant_id)).await;
    let alice_b = signed_in(&answer, ALICE);

    let new_password = "quartz lantern meadow thistle";
    let (status, body) = stack
        .call(
            &alice_a,
            Method::POST,
            "/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": new_password }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = stack
        .call(&alice_b, Method::GET, "/v1/me", json!(null))
        .await;
    assert_eq!(
        status, 401,
        "her Beta session ended with the change made in Alpha"
    );
    let (status, _) = stack
        .call(&alice_a, Method::GET, "/v1/me", json!(null))
        .await;
    assert_eq!(status, 200, "the session that changed it stays");
    let (status, _, answer) = send(stack.post("/v1/auth/login").json(&json!({
        "email": ALICE, "password": new_password, "tenant_id": bob.tenant_id,
    })))
    .await;
    assert_eq!(status, 200, "the new password opens Beta too: {answer}");
    let changes: Vec<Value> = stack
        .audit_entries(&bob)
        .await
        .into_iter()
        .filter(|entry| entry["action"] == "user.password_change")
        .collect();
    assert_eq!(changes.len(), 1, "audited in each organisation");
    assert_eq!(changes[0]["actor"], alice_b.user_id.as_str());
}

#[tokio::test]
async fn twenty_concurrent_accepts_of_one_invitation_add_one_membership() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Alpha Rooms", "owner@alpha.test").await;
    let _alice = stack.sign_up("Home Rooms", ALICE).await;
    for (address, body) in [
        // An address with an account: its password.
        (ALICE, json!({ "password": PASSWORD })),
        // An address without one: a new account.
        (
            "newcomer@people.test",
            json!({ "name": "Newcomer", "password": PASSWORD }),
        ),
    ] {
        let seats_before = seats(&stack, &owner).await;
        let invitation = stack.invite(&owner, address, &["member"]).await;
        let mut body = body;
        body["token"] = invitation["token"].clone();
        let attempts = (0..20).map(|_| send(stack.post("/v1/invitations/accept").json(&body)));
        let answers = futures::future::join_all(attempts).await;
        let statuses: Vec<u16> = answers.iter().map(|(status, _, _)| *status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{address}: one accept wins: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [201, 409].contains(s)),
            "{address}: the others are told it was used: {statuses:?}"
        );
        let emails = member_emails(&stack, &owner).await;
        assert_eq!(
            emails.iter().filter(|e| e.as_str() == address).count(),
            1,
            "{address}: one membership: {emails:?}"
        );
        assert_eq!(seats(&stack, &owner).await, seats_before + 1);
        let (status, answer) = login(&stack, address, Some(&owner.tenant_id)).await;
        assert_eq!(status, 200, "{answer}");
    }
}

#[tokio::test]
async fn an_account_left_with_no_organisation_is_closed_and_its_address_signs_up_afresh() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Alpha Rooms", "owner@alpha.test").await;
    let member = stack.join(&owner, "leaver@people.test", &["member"]).await;
    let (status, body) = stack
        .call(
            &owner,
            Method::DELETE,
            &format!("/v1/members/{}", member.user_id),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = login(&stack, "leaver@people.test", None).await;
    assert_eq!(status, 401, "no account is left: {body}");
    let again = stack.sign_up("Leaver Rooms", "leaver@people.test").await;
    let (status, me) = stack.call(&again, Method::GET, "/v1/me", json!(null)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
}

/// Rewrites a signed-up owner as the version before accounts wrote them: the password on the
/// user, the email item naming the user, no account.
async fn as_written_before_accounts(stack: &TestStack, person: &Person) -> String {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let dynamo = aws_sdk_dynamodb::Client::new(stack.aws());
    let table = stack.table.name();
    let s = |text: &str| A::S(text.to_owned());
    let get = |pk: String, sk: &str| {
        dynamo
            .get_item()
            .table_name(table)
            .key("pk", s(&pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
    };
    let user_pk = format!("T#{}", person.tenant_id);
    let user_sk = format!("USER#{}", person.user_id);
    let user = get(user_pk.clone(), &user_sk).await.unwrap().item.unwrap();
    let account_id = user["account_id"].as_s().unwrap().clone();
    let account = get(format!("ACCOUNT#{account_id}"), "ACCOUNT")
        .await
        .unwrap()
        .item
        .unwrap();
    let mut legacy = user.clone();
    legacy.remove("account_id");
    legacy.insert("password_hash".into(), account["password_hash"].clone());
    legacy.insert(
        "password_changed_at".into(),
        account["password_changed_at"].clone(),
    );
    dynamo
        .put_item()
        .table_name(table)
        .set_item(Some(legacy))
        .send()
        .await
        .unwrap();
    dynamo
        .put_item()
        .table_name(table)
        .item("pk", s(&format!("EMAIL#{}", person.email)))
        .item("sk", s("EMAIL"))
        .item("tenant_id", s(&person.tenant_id))
        .item("user_id", s(&person.user_id))
        .send()
        .await
        .unwrap();
    for sk in ["ACCOUNT".to_owned(), format!("MEMBER#{}", person.tenant_id)] {
        dynamo
            .delete_item()
            .table_name(table)
            .key("pk", s(&format!("ACCOUNT#{account_id}")))
            .key("sk", s(&sk))
            .send()
            .await
            .unwrap();
    }
    user_sk
}

#[tokio::test]
async fn a_table_written_before_accounts_migrates_on_first_sign_in_and_by_the_command() {
    let stack = TestStack::start().await;
    let first = stack.sign_up("Alpha Rooms", "first@alpha.test").await;
    let second = stack.join(&first, "second@alpha.test", &["member"]).await;
    let third = stack.join(&first, "third@alpha.test", &["member"]).await;
    for person in [&first, &second, &third] {
        as_written_before_accounts(&stack, person).await;
    }
    let store = steward_store::identity::IdentityStore::new(stack.table.clone());

    // The new version signs a legacy user in, making their account on the way.
    let (status, answer) = login(&stack, "first@alpha.test", None).await;
    assert_eq!(status, 200, "{answer}");
    let first_again = signed_in(&answer, "first@alpha.test");
    assert_eq!(first_again.user_id, first.user_id);
    let (status, me) = stack
        .call(&first_again, Method::GET, "/v1/me", json!(null))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["account_id"], first.user_id.as_str(), "the user's id");

    // The command's migration makes the rest, then nothing; the contract step cleans up.
    let report = store.migrate(false).await.unwrap();
    assert_eq!((report.made, report.already), (2, 1), "{report:?}");
    let report = store.migrate(false).await.unwrap();
    assert_eq!((report.made, report.already), (0, 3), "{report:?}");
    let report = store.migrate(true).await.unwrap();
    assert_eq!(report.contracted, 3, "{report:?}");
    let report = store.migrate(true).await.unwrap();
    assert_eq!(report.contracted, 0, "nothing left to contract: {report:?}");
    for person in [&second, &third] {
        let (status, answer) = login(&stack, &person.email, None).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(signed_in(&answer, &person.email).user_id, person.user_id);
    }
    let user = store
        .user(&second.tenant_id, &second.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.account_id, second.user_id);
}

#[tokio::test]
async fn a_sign_in_that_asks_for_the_organisation_opens_one_with_its_ticket_once() {
    let stack = TestStack::start().await;
    let _alice = stack.sign_up("Alpha Rooms", ALICE).await;
    let bob = stack.sign_up("Beta Rooms", "bob@beta.test").await;
    let invitation = stack.invite(&bob, ALICE, &["member"]).await;
    let (status, body) = accept_with(&stack, invitation["token"].as_str().unwrap(), PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    let (status, asked) = login(&stack, ALICE, None).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked["status"], "choose_tenant");
    let ticket = asked["ticket"].as_str().expect("a ticket").to_owned();
    let choose = |tenant: &str| {
        send(
            stack
                .post("/v1/auth/login/tenant")
                .json(&json!({ "ticket": ticket, "tenant_id": tenant })),
        )
    };

    let (status, _, body) = choose("tnt_not_hers").await;
    assert_eq!(status, 403, "{body}");
    let (status, _, answer) = choose(&bob.tenant_id).await;
    assert_eq!(
        status, 200,
        "the refused choice left the ticket usable: {answer}"
    );
    let alice_b = signed_in(&answer, ALICE);
    assert_eq!(alice_b.tenant_id, bob.tenant_id);
    let (status, me) = stack
        .call(&alice_b, Method::GET, "/v1/me", json!(null))
        .await;
    assert_eq!(status, 200, "{me}");
    let (status, _, body) = choose(&bob.tenant_id).await;
    assert_eq!(status, 400, "once: {body}");
    assert_eq!(body["type"], "urn:steward:problem:invalid-token");
    let (status, _, body) = send(
        stack
            .post("/v1/auth/login/tenant")
            .json(&json!({ "ticket": "sgn_forged.forged", "tenant_id": bob.tenant_id })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_signed_in_account_joins_by_invitation_to_its_own_address_only() {
    let stack = TestStack::start().await;
    let alice = stack.sign_up("Alpha Rooms", ALICE).await;
    let bob = stack.sign_up("Beta Rooms", "bob@beta.test").await;
    let for_alice = stack.invite(&bob, ALICE, &["manager"]).await;
    let for_carol = stack.invite(&bob, "carol@people.test", &["member"]).await;
    let accept = |token: &Value| json!({ "token": token, "name": "Alice at Beta" });

    let (status, body) = stack
        .call(
            &alice,
            Method::POST,
            "/v1/me/invitations/accept",
            accept(&for_carol["token"]),
        )
        .await;
    assert_eq!(status, 403, "another address's invitation: {body}");
    let (status, joined) = stack
        .call(
            &alice,
            Method::POST,
            "/v1/me/invitations/accept",
            accept(&for_alice["token"]),
        )
        .await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["tenant"]["id"], bob.tenant_id.as_str());
    assert_eq!(joined["user"]["name"], "Alice at Beta");
    assert_eq!(joined["user"]["roles"], json!(["manager"]));
    let (status, body) = stack
        .call(
            &alice,
            Method::POST,
            "/v1/me/invitations/accept",
            accept(&for_alice["token"]),
        )
        .await;
    assert_eq!(status, 409, "once: {body}");
    let (_, me) = stack.call(&alice, Method::GET, "/v1/me", json!(null)).await;
    assert_eq!(me["memberships"].as_array().unwrap().len(), 2, "{me}");
    assert!(
        member_emails(&stack, &bob)
            .await
            .contains(&ALICE.to_owned())
    );
}

#[tokio::test]
async fn a_password_changed_after_a_sign_in_proved_the_old_one_opens_no_session() {
    let stack = TestStack::start().await;
    let alice = stack.sign_up("Alpha Rooms", ALICE).await;
    let bob = stack.sign_up("Beta Rooms", "bob@beta.test").await;
    let invitation = stack.invite(&bob, ALICE, &["member"]).await;
    let (status, body) = accept_with(&stack, invitation["token"].as_str().unwrap(), PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    // The old password proven, the organisation still to choose...
    let (_, asked) = login(&stack, ALICE, None).await;
    let ticket = asked["ticket"].as_str().expect("a ticket").to_owned();
    // ...the password changes (as a reset or a change racing the sign-in would)...
    let (status, body) = stack
        .call(
            &alice,
            Method::POST,
            "/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "quartz lantern meadow thistle" }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    // ...and what the old password proved opens nothing.
    let (status, _, body) = send(
        stack
            .post("/v1/auth/login/tenant")
            .json(&json!({ "ticket": ticket, "tenant_id": bob.tenant_id })),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = stack.call(&alice, Method::GET, "/v1/me", json!(null)).await;
    assert_eq!(status, 200, "the session that changed it stays");
}

/// The race a reset or a change of password must not lose, played in order against the store:
/// the sessions read, a sign-in's session written, then the change. It writes nothing, so the
/// handler reads the sessions again (`recovery::a_reset_racing_twenty_sign_ins_leaves_none_of_their_sessions_alive`
/// races it through HTTP, without choosing the order).
#[tokio::test]
async fn a_change_of_password_that_read_the_sessions_before_one_opened_writes_nothing() {
    let stack = TestStack::start().await;
    let alice = stack.sign_up("Alpha Rooms", ALICE).await;
    let store = steward_store::identity::IdentityStore::new(stack.table.clone());
    let user = store
        .user(&alice.tenant_id, &alice.user_id)
        .await
        .unwrap()
        .unwrap();
    let now = jiff::Timestamp::now().as_second();
    let read = store
        .open_sessions(&user.account_id, now)
        .await
        .unwrap()
        .expect("her account");
    assert_eq!(read.by_membership.len(), 1);

    // A sign-in opens a session after the read...
    let (status, opened) = login(&stack, ALICE, None).await;
    assert_eq!(status, 200, "{opened}");
    // ...so a change conditioned on that read is refused, and changes nothing.
    let changed = store
        .set_password(
            &user.account_id,
            "not a hash",
            "2026-12-04T00:00:00Z",
            &read,
            &[],
        )
        .await
        .unwrap();
    assert!(!changed);
    let (status, body) = login(&stack, ALICE, None).await;
    assert_eq!(status, 200, "the old password still opens: {body}");
    let fresh = store
        .open_sessions(&user.account_id, now)
        .await
        .unwrap()
        .unwrap();
    assert!(fresh.seen > read.seen);
    let live: usize = fresh.by_membership.iter().map(|(_, ids)| ids.len()).sum();
    assert_eq!(
        live, 3,
        "the sign-up's session and the two sign-ins', none ended"
    );
}
