//! Single sign-on through a tenant's OpenID provider, against a real one
//! (tests/identity-provider: oidc-provider from npm) on 127.0.0.1: the whole redirect flow
//! through the gateway, the provider's own login page, every refusal of what must not sign in,
//! and concurrent first sign-ins.

use futures::future::join_all;
use http::Method;
use serde_json::{Value, json};
use steward_e2e::identity_provider::IdentityProvider;
use steward_e2e::{PASSWORD, Person, TestStack, read, send};

const CLIENT_ID: &str = "steward-rooms";
const CLIENT_SECRET: &str = "a client secret: with % and spaces";

/// The people the provider knows: login → what its ID tokens say of them.
fn accounts() -> Value {
    json!({
        "ada": { "email": "ada@acme.test", "email_verified": true, "name": "Ada Lovelace",
                 "groups": ["room-admins", "everyone"] },
        "grace": { "email": "Grace@ACME.test", "email_verified": true, "name": "Grace Hopper",
                   "groups": ["everyone"] },
        "eve": { "email": "eve@elsewhere.test", "email_verified": true, "name": "Eve",
                 "groups": [] },
        "mallory": { "email": "mallory@acme.test", "email_verified": false, "name": "Mallory" },
    })
}

/// A stack whose Acme organisation signs in through a provider started for it.
struct Sso {
    stack: TestStack,
    owner: Person,
    provider: IdentityProvider,
    /// Follows no redirect: each answer is read as the browser would get it.
    browser: reqwest::Client,
}

impl Sso {
    async fn start() -> Self {
        // Licence changes are seen at once.
        let stack = TestStack::with_parameters(&[
            ("LicensingConfigCacheSeconds", "0"),
            ("AuthorizerCacheSeconds", "0"),
        ])
        .await;
        let owner = stack.sign_up("Acme Rooms", "owner@acme.test").await;
        let provider = IdentityProvider::start(
            CLIENT_ID,
            CLIENT_SECRET,
            &stack.url("/v1/auth/sso/callback"),
            accounts(),
        );
        let sso = Self {
            stack,
            owner,
            provider,
            browser: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let (status, settings) = sso.configure(json!({})).await;
        assert_eq!(status, 200, "{settings}");
        sso
    }

    /// The settings, with `changes` over the test's defaults.
    async fn configure(&self, changes: Value) -> (u16, Value) {
        let mut body = json!({
            "issuer": self.provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "domains": ["acme.test"],
            "default_role": "member",
            "group_roles": { "room-admins": ["manager"] },
        });
        for (field, value) in changes.as_object().unwrap() {
            body[field] = value.clone();
        }
        self.stack
            .call(&self.owner, Method::PUT, "/v1/settings/sso", body)
            .await
    }

    /// `GET path` as a browser: status, `Location`, body.
    async fn visit(&self, url: &str) -> (u16, String, Value) {
        let (status, headers, body) = read(self.browser.get(url).send().await.unwrap()).await;
        let location = headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, body)
    }

    /// Steward's start for `email`, then `login` at the provider: where the provider sends the
    /// browser back (Steward's callback with code and state).
    async fn to_callback(&self, email: &str, login: &str) -> String {
        let (status, location, body) = self
            .visit(&self.stack.url(&format!("/v1/auth/sso/start?email={email}")))
            .await;
        assert_eq!(status, 303, "{body}");
        assert!(location.starts_with(&self.provider.issuer), "{location}");
        let back = self.provider.sign_in(&location, login).await;
        assert!(
            back.starts_with(&self.stack.url("/v1/auth/sso/callback")),
            "{back}"
        );
        back
    }

    /// The callback, and the session the web app opens with its ticket: the tokens.
    async fn signed_in(&self, callback: &str) -> Value {
        let (status, location, body) = self.visit(callback).await;
        assert_eq!(status, 303, "{body}");
        let app = self.stack.url("/app/sso#");
        let fragment = location
            .strip_prefix(&app)
            .unwrap_or_else(|| panic!("{location}"));
        assert!(!location.contains("access_token") && !location.contains("refresh_token"));
        let field = |name: &str| {
            fragment
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_owned()
        };
        let (status, _, session) = send(
            self.stack
                .post("/v1/auth/login/tenant")
                .json(&json!({ "ticket": field("ticket"), "tenant_id": field("tenant_id") })),
        )
        .await;
        assert_eq!(status, 200, "{session}");
        session
    }

    async fn members(&self) -> Vec<Value> {
        let (status, members) = self
            .stack
            .ask(&self.owner, Method::GET, "/v1/members")
            .await;
        assert_eq!(status, 200, "{members}");
        members["items"].as_array().unwrap().clone()
    }

    async fn me(&self, session: &Value) -> Value {
        let token = session["access_token"].as_str().unwrap();
        let (status, _, me) = send(self.stack.get("/v1/me").bearer_auth(token)).await;
        assert_eq!(status, 200, "{me}");
        me
    }

    /// A refused callback: 401 `sign-in-refused` whose detail has `says`, with no member made.
    async fn refused(&self, callback: &str, says: &str) {
        let before = self.members().await.len();
        let (status, _, problem) = self.visit(callback).await;
        assert_eq!(status, 401, "{problem}");
        assert_eq!(problem["type"], "urn:steward:problem:sign-in-refused");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail:?} does not say {says:?}");
        assert_eq!(
            self.members().await.len(),
            before,
            "a refusal made a member"
        );
    }
}

trait Ask {
    /// `method` on `path` as `who`, with no body: the status and the answer.
    async fn ask(&self, who: &Person, method: Method, path: &str) -> (u16, Value);
}

impl Ask for TestStack {
    async fn ask(&self, who: &Person, method: Method, path: &str) -> (u16, Value) {
        let (status, _, answer) = send(self.as_person(who, method, path)).await;
        (status, answer)
    }
}

fn with_query(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    url.to_string()
}

fn query(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap()
}

#[tokio::test]
async fn a_first_sign_in_at_the_provider_makes_a_member_with_the_mapped_role() {
    let sso = Sso::start().await;
    let (status, settings) = sso
        .stack
        .ask(&sso.owner, Method::GET, "/v1/settings/sso")
        .await;
    assert_eq!(status, 200);
    assert_eq!(settings["client_secret_set"], true);
    assert!(!settings.to_string().contains(CLIENT_SECRET), "{settings}");
    assert_eq!(
        settings["redirect_uri"],
        sso.stack.url("/v1/auth/sso/callback")
    );

    let callback = sso.to_callback("ada@acme.test", "ada").await;
    let session = sso.signed_in(&callback).await;
    let me = sso.me(&session).await;
    assert_eq!(me["email"], "ada@acme.test");
    assert_eq!(me["tenant_id"], sso.owner.tenant_id.as_str());
    assert_eq!(me["name"], "Ada Lovelace");
    // Her group maps to manager.
    assert_eq!(me["roles"], json!(["manager"]));
    let token = session["access_token"].as_str().unwrap();
    let (status, _, _) = send(sso.stack.get("/v1/rooms").bearer_auth(token)).await;
    assert_eq!(status, 200);

    // Grace's groups map to nothing: the default role. Her address is lowercased.
    let callback = sso.to_callback("grace@acme.test", "grace").await;
    let me = sso.me(&sso.signed_in(&callback).await).await;
    assert_eq!(me["email"], "grace@acme.test");
    assert_eq!(me["roles"], json!(["member"]));

    // A second sign-in finds the membership: no new member. Her groups changed at the
    // provider and the mapping is applied again; under dual approval (the default) as change
    // requests by the provider, for an admin, once however often she signs in.
    let members = sso.members().await.len();
    sso.provider.set_groups("ada", &["everyone"]).await;
    for _ in 0..2 {
        let callback = sso.to_callback("ada@acme.test", "ada").await;
        let me = sso.me(&sso.signed_in(&callback).await).await;
        assert_eq!(
            me["roles"],
            json!(["manager"]),
            "not before an admin approves"
        );
    }
    assert_eq!(sso.members().await.len(), members);
    let (status, requests) = sso
        .stack
        .ask(&sso.owner, Method::GET, "/v1/change-requests")
        .await;
    assert_eq!(status, 200, "{requests}");
    let asked: Vec<&Value> = requests["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["requested_by"] == "identity-provider")
        .collect();
    let kinds: Vec<(&Value, &Value)> = asked
        .iter()
        .map(|r| (&r["change"]["kind"], &r["change"]["role"]))
        .collect();
    assert_eq!(
        kinds.len(),
        2,
        "one grant and one revocation, asked once: {requests}"
    );
    assert!(
        kinds.contains(&(&json!("grant_role"), &json!("member"))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(&json!("revoke_role"), &json!("manager"))),
        "{kinds:?}"
    );
    // The grant first: the revocation alone would leave her with no role.
    let mut asked = asked;
    asked.sort_by_key(|r| r["change"]["kind"] != "grant_role");
    for request in &asked {
        let id = request["id"].as_str().unwrap();
        let (status, approved) = sso
            .stack
            .call(
                &sso.owner,
                Method::POST,
                &format!("/v1/change-requests/{id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{approved}");
    }
    let callback = sso.to_callback("ada@acme.test", "ada").await;
    let me = sso.me(&sso.signed_in(&callback).await).await;
    assert_eq!(me["roles"], json!(["member"]));

    let audit = sso.stack.audit_entries(&sso.owner).await;
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    for action in [
        "settings.sso",
        "member.provision",
        "sso.sign_in",
        "session.create",
    ] {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "member.provision").count(),
        2
    );
}

#[tokio::test]
async fn forged_replayed_and_tampered_sign_ins_are_refused_and_make_nobody() {
    let sso = Sso::start().await;
    // A state nobody issued.
    let callback = sso.to_callback("ada@acme.test", "ada").await;
    sso.refused(
        &with_query(&callback, "state", "sso_0123.forged"),
        "unknown, used already or expired",
    )
    .await;
    // The state was not spent by the forgery: the real callback works, once.
    sso.signed_in(&callback).await;
    let members = sso.members().await.len();
    sso.refused(&callback, "unknown, used already or expired")
        .await;

    // A code already exchanged, brought back with a fresh state.
    let fresh = sso.to_callback("grace@acme.test", "grace").await;
    let replayed = with_query(&fresh, "code", &query(&callback, "code"));
    sso.refused(&replayed, "did not accept the sign-in's code")
        .await;

    // ID tokens the provider's token endpoint is made to answer wrong.
    for (tamper, says) in [
        ("nonce", "another sign-in (nonce)"),
        ("expired", "has expired"),
        ("audience", "for another client"),
        ("other-key", "signature does not verify"),
        ("unknown-key", "no key of the provider"),
        ("none", "not a signed JWT"),
        ("hmac", "HS256, which is not accepted"),
    ] {
        let callback = sso.to_callback("grace@acme.test", "grace").await;
        sso.provider.tamper_next_id_token(tamper).await;
        sso.refused(&callback, says).await;
    }
    // Addresses the organisation does not cover, or the provider did not verify.
    let callback = sso.to_callback("eve@acme.test", "eve").await;
    sso.refused(&callback, "elsewhere.test is not among the domains")
        .await;
    let callback = sso.to_callback("mallory@acme.test", "mallory").await;
    sso.refused(&callback, "did not say the address is verified")
        .await;
    assert_eq!(sso.members().await.len(), members);

    let audit = sso.stack.audit_entries(&sso.owner).await;
    let refusals = audit
        .iter()
        .filter(|entry| entry["action"] == "sso.refused")
        .count();
    // Each refusal after the state was taken is written down (a forged or spent state names
    // no organisation).
    assert_eq!(refusals, 10, "{audit:?}");
}

#[tokio::test]
async fn rotated_keys_are_read_again_and_a_provider_that_is_down_is_a_503() {
    let mut sso = Sso::start().await;
    sso.signed_in(&sso.to_callback("ada@acme.test", "ada").await)
        .await;
    sso.provider.rotate_keys().await;
    // The token is signed with a key Steward has not seen: it reads the keys again.
    sso.signed_in(&sso.to_callback("ada@acme.test", "ada").await)
        .await;

    let callback = sso.to_callback("grace@acme.test", "grace").await;
    let members = sso.members().await.len();
    sso.provider.stop();
    let (status, headers, problem) = read(sso.browser.get(&callback).send().await.unwrap()).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(
        problem["type"],
        "urn:steward:problem:identity-provider-unavailable"
    );
    assert!(headers.contains_key("retry-after"));
    assert_eq!(sso.members().await.len(), members);
}

#[tokio::test]
async fn ten_concurrent_first_sign_ins_of_one_person_make_one_member() {
    let sso = Sso::start().await;
    let before = sso.members().await.len();
    let mut callbacks = Vec::new();
    for _ in 0..10 {
        callbacks.push(sso.to_callback("grace@acme.test", "grace").await);
    }
    let answers = join_all(callbacks.iter().map(|callback| sso.visit(callback))).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _, _)| *status).collect();
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let members = sso.members().await;
    assert_eq!(members.len(), before + 1);
    let graces: Vec<&Value> = members
        .iter()
        .filter(|member| member["email"] == "grace@acme.test")
        .collect();
    assert_eq!(graces.len(), 1, "{members:?}");
}

#[tokio::test]
async fn sso_only_refuses_the_domains_passwords_and_resets() {
    let sso = Sso::start().await;
    let login = || {
        send(
            sso.stack
                .post("/v1/auth/login")
                .json(&json!({ "email": "owner@acme.test", "password": PASSWORD })),
        )
    };
    assert_eq!(login().await.0, 200);
    let (status, settings) = sso.configure(json!({ "sso_only": true })).await;
    assert_eq!(status, 200, "{settings}");
    let (status, _, problem) = login().await;
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("/v1/auth/sso/start")
    );
    // Any address of the domain, known or not, is told the same.
    let (status, _, _) = send(
        sso.stack
            .post("/v1/auth/login")
            .json(&json!({ "email": "nobody@acme.test", "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, problem) = send(
        sso.stack
            .post("/v1/auth/password-reset")
            .json(&json!({ "email": "owner@acme.test" })),
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    // The provider still signs the domain's people in.
    sso.signed_in(&sso.to_callback("ada@acme.test", "ada").await)
        .await;
    // Turned off again, passwords work again.
    assert_eq!(sso.configure(json!({ "sso_only": false })).await.0, 200);
    assert_eq!(login().await.0, 200);
}

#[tokio::test]
async fn settings_are_checked_licensed_and_each_organisations_own() {
    let sso = Sso::start().await;
    let other = sso.stack.sign_up("Other Rooms", "owner@other.test").await;
    // Another organisation cannot claim a covered domain, nor read or remove these settings.
    let (status, problem) = sso
        .stack
        .call(
            &other,
            Method::PUT,
            "/v1/settings/sso",
            json!({
                "issuer": sso.provider.issuer, "client_id": "x", "client_secret": "y",
                "domains": ["acme.test"],
            }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = sso.stack.ask(&other, method, "/v1/settings/sso").await;
        assert_eq!(status, 404);
    }
    // A ticket of Acme's provider opens no session in another organisation, even the
    // person's own.
    let callback = sso.to_callback("ada@acme.test", "ada").await;
    let (_, location, _) = sso.visit(&callback).await;
    let ticket = location
        .split("ticket=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (status, _, _) = send(
        sso.stack
            .post("/v1/auth/login/tenant")
            .json(&json!({ "ticket": ticket, "tenant_id": other.tenant_id })),
    )
    .await;
    assert_eq!(status, 404);

    // Bad settings are named and change nothing.
    for (changes, field) in [
        (json!({ "issuer": "http://login.example.com" }), "issuer"),
        (json!({ "domains": ["not a domain"] }), "domains"),
        (json!({ "domains": [] }), "domains"),
        (json!({ "default_role": "owner" }), "default_role"),
        (
            json!({ "group_roles": { "x": ["no-such-role"] } }),
            "group_roles",
        ),
        (json!({ "client_id": "" }), "client_id"),
    ] {
        let (status, problem) = sso.configure(changes.clone()).await;
        assert_eq!(status, 422, "{changes}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, problem) = sso.configure(json!({ "surprise": true })).await;
    assert_eq!(
        (status, &problem["errors"][0]["field"]),
        (422, &json!("surprise")),
        "{problem}"
    );
    // A provider that does not answer as the issuer is not saved.
    let (status, _) = sso
        .configure(json!({ "issuer": "http://127.0.0.1:9" }))
        .await;
    assert_eq!(status, 503);
    let (_, settings) = sso
        .stack
        .ask(&sso.owner, Method::GET, "/v1/settings/sso")
        .await;
    assert_eq!(settings["issuer"], sso.provider.issuer.as_str());

    // Removed, the domain is free again.
    let (status, _) = sso
        .stack
        .ask(&sso.owner, Method::DELETE, "/v1/settings/sso")
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = sso
        .visit(&sso.stack.url("/v1/auth/sso/start?email=ada@acme.test"))
        .await;
    assert_eq!(status, 404);
    assert_eq!(sso.configure(json!({})).await.0, 200);

    // Without the licence's sso feature, neither the settings nor the sign-in work.
    sso.stack.enforce_offering(&sso.owner, "essential").await;
    let (status, problem) = sso
        .stack
        .ask(&sso.owner, Method::GET, "/v1/settings/sso")
        .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["missing_feature"], "sso");
    let (status, _, problem) = sso
        .visit(&sso.stack.url("/v1/auth/sso/start?email=ada@acme.test"))
        .await;
    assert_eq!(
        (status, &problem["missing_feature"]),
        (403, &json!("sso")),
        "{problem}"
    );
}

#[tokio::test]
async fn a_first_sign_in_with_no_seat_left_is_a_402_and_makes_nobody() {
    let sso = Sso::start().await;
    // The trial's ten seats, enforced: the owner and nine more made by the directory.
    sso.stack.enforce_offering(&sso.owner, "trial").await;
    let (status, token) = sso
        .stack
        .call(
            &sso.owner,
            Method::POST,
            "/v1/settings/scim/tokens",
            json!({ "name": "Fill" }),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let token = token["token"].as_str().unwrap();
    for i in 0..9 {
        let (status, _, body) = send(
            sso.stack
                .post("/scim/v2/Users")
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(json!({ "userName": format!("seat{i}@acme.test") }).to_string()),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let members = sso.members().await.len();
    let callback = sso.to_callback("ada@acme.test", "ada").await;
    let (status, _, problem) = sso.visit(&callback).await;
    assert_eq!(status, 402, "{problem}");
    assert_eq!(problem["limit"]["name"], "seats", "{problem}");
    assert_eq!(sso.members().await.len(), members);
}

#[tokio::test]
async fn a_browser_signs_in_at_the_provider_and_lands_in_the_web_app() {
    let sso = Sso::start().await;
    // A ticket spent already (by the API, as the app spends its own), for the refusal.
    let callback = sso.to_callback("grace@acme.test", "grace").await;
    let (_, location, _) = sso.visit(&callback).await;
    let spent = location
        .split("ticket=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap()
        .to_owned();
    let (status, _, _) = send(
        sso.stack
            .post("/v1/auth/login/tenant")
            .json(&json!({ "ticket": spent, "tenant_id": sso.owner.tenant_id })),
    )
    .await;
    assert_eq!(status, 200);

    let scenario = json!({
        "app": sso.stack.url("/app/"),
        "start": sso.stack.url("/v1/auth/sso/start?email=ada@acme.test"),
        "login": "ada",
        "name": "Ada Lovelace",
        "organisation": "Acme Rooms",
        "tenant": sso.owner.tenant_id,
        "spentTicket": spent,
    });
    let env = [("SCENARIO", scenario.to_string())];
    let run =
        steward_e2e::browser::run_browser_test("app/single-sign-on.test.mjs", &env, async |what| {
            panic!("the single sign-on test asked for {what}")
        })
        .await
        .unwrap_or_else(|failed| panic!("{failed}"));
    assert_eq!(
        run.steps,
        [
            "signed-in-through-the-provider",
            "accessible-after-single-sign-on",
            "spent-ticket-refused",
            "accessible-single-sign-on-refused",
        ]
    );
    // The browser's sign-in made Ada a member, with her group's role.
    let ada = sso
        .members()
        .await
        .into_iter()
        .find(|member| member["email"] == "ada@acme.test")
        .expect("Ada is a member");
    assert_eq!(ada["roles"], json!(["manager"]));
}

#[tokio::test]
async fn an_owner_changes_and_removes_single_sign_on_in_the_settings_page() {
    let sso = Sso::start().await;
    let settings = async || {
        sso.stack
            .call(&sso.owner, Method::GET, "/v1/settings/sso", Value::Null)
            .await
    };
    let (_, before) = settings().await;
    let scenario = json!({
        "app": sso.stack.url("/app/"),
        "owner": { "email": sso.owner.email, "password": PASSWORD },
        "issuer": sso.provider.issuer,
        "redirect": before["redirect_uri"],
    });
    let env = [("SCENARIO", scenario.to_string())];
    steward_e2e::browser::run_browser_test("app/sso-settings.test.mjs", &env, async |what| {
        let (status, now) = settings().await;
        match what {
            "saved" => {
                assert_eq!(status, 200, "{now}");
                assert_eq!(
                    now["domains"],
                    json!(["acme.example", "acme.test"]),
                    "sorted"
                );
                assert_eq!(now["sso_only"], true);
                assert_eq!(now["client_secret_set"], true, "the secret kept");
                assert_eq!(
                    now["group_roles"], before["group_roles"],
                    "the group mapping kept"
                );
            }
            "removed" => assert_eq!(status, 404, "{now}"),
            _ => panic!("asked {what}"),
        }
        "ok".to_owned()
    })
    .await
    .unwrap_or_else(|failed| panic!("{failed}"));
}
