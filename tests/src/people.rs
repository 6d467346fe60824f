//! Signed-in people for the tests: an owner by sign-up, others by invitation, and requests
//! made as them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestStack, send};

/// A password that passes the deny list.
pub const PASSWORD: &str = "maple tractor velvet orbit";

/// The subject of the email whose link confirms a sign-up's address.
pub const VERIFY_SUBJECT: &str = "Confirm your email address for Steward";

/// Someone signed in to a tenant.
#[derive(Debug, Clone)]
pub struct Person {
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl Person {
    fn from_answer(answer: &Value, email: &str) -> Self {
        let text = |v: &Value| v.as_str().expect("a string").to_owned();
        Self {
            tenant_id: text(&answer["tenant"]["id"]),
            user_id: text(&answer["user"]["id"]),
            email: email.to_owned(),
            access_token: text(&answer["tokens"]["access_token"]),
            refresh_token: text(&answer["tokens"]["refresh_token"]),
        }
    }
}

impl TestStack {
    /// A request as `person`.
    pub fn as_person(
        &self,
        person: &Person,
        method: Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&person.access_token)
    }

    /// `method` on `path` as `who` with a JSON `body`: the status and the answer.
    pub async fn call(
        &self,
        who: &Person,
        method: Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let (status, _, answer) = send(self.as_person(who, method, path).json(&body)).await;
        (status, answer)
    }

    /// The operator sells `tenant` the `offering` and turns licence enforcement on for all (the
    /// stack wants `LicensingConfigCacheSeconds` and `AuthorizerCacheSeconds` at 0 to see it
    /// at once).
    pub async fn enforce_offering(&self, tenant: &Person, offering: &str) {
        let operator = self.operator().await;
        for (path, body) in [
            (
                format!("/v1/admin/tenants/{}/licence", tenant.tenant_id),
                json!({ "offering": offering }),
            ),
            (
                "/v1/admin/config/licensing".to_owned(),
                json!({ "stage": "general_availability", "enforcement_enabled": true }),
            ),
        ] {
            let (status, answer) = self.call(&operator, Method::PUT, &path, body).await;
            assert_eq!(status, 200, "{path}: {answer}");
        }
    }

    /// `owner` creates a room from `body`: its id.
    pub async fn room(&self, owner: &Person, body: Value) -> String {
        let (status, room) = self.call(owner, Method::POST, "/v1/rooms", body).await;
        assert_eq!(status, 201, "room: {room}");
        room["id"].as_str().expect("a room id").to_owned()
    }

    /// `who` imports `csv` (`text/csv`) at `path`: the status and the answer.
    pub async fn import(&self, who: &Person, path: &str, csv: &str) -> (u16, Value) {
        let request = self
            .as_person(who, Method::POST, path)
            .header("content-type", "text/csv")
            .body(csv.to_owned());
        let (status, _, answer) = send(request).await;
        (status, answer)
    }

    /// `owner` creates a room named `name` whose bookings need a check-in (released 15 minutes
    /// after their start), bookable from 5 minutes long and at no notice: its id.
    pub async fn check_in_room(&self, owner: &Person, name: &str) -> String {
        self.room(
            owner,
            json!({
                "name": name, "time_zone": "Europe/London", "capacity": 6,
                "rules": { "check_in_required": true, "release_minutes": 15,
                           "min_duration_minutes": 5, "min_notice_minutes": 0 },
            }),
        )
        .await
    }

    /// `owner` registers a door terminal for `room`, and it pairs: a terminal that signs its
    /// requests as a real one does.
    pub async fn terminal(&self, owner: &Person, room: &str) -> steward_terminal::Terminal {
        let (status, registered) = self
            .call(
                owner,
                Method::POST,
                "/v1/terminals",
                json!({ "room_id": room, "name": "Door" }),
            )
            .await;
        assert_eq!(status, 201, "terminal: {registered}");
        let code = registered["pairing_code"].as_str().expect("a pairing code");
        let paired = steward_terminal::pair(&self.http, &self.url, code)
            .await
            .expect("the terminal pairs");
        steward_terminal::Terminal::new(paired)
    }

    /// Signs up a new tenant and its owner.
    pub async fn sign_up(&self, tenant_name: &str, email: &str) -> Person {
        let body = self
            .signed_up(json!({
                "tenant_name": tenant_name, "name": "Owner", "email": email, "password": PASSWORD,
            }))
            .await;
        Person::from_answer(&body, email)
    }

    /// Signs up with the form `form` as a person does: the form, then the link emailed to its
    /// address (read from the emulator's sent mail) followed. The confirmation's answer (201:
    /// the tenant, its owner and the first tokens).
    pub async fn signed_up(&self, form: Value) -> Value {
        let address = form["email"].as_str().expect("an email").to_lowercase();
        let before = self.emailed_tokens(&address, VERIFY_SUBJECT).await.len();
        let (status, _, answer) = send(self.post("/v1/signup").json(&form)).await;
        assert_eq!(status, 202, "sign-up: {answer}");
        let links = self.emailed_tokens(&address, VERIFY_SUBJECT).await;
        assert_eq!(
            links.len(),
            before + 1,
            "one confirmation link to {address}"
        );
        let (status, _, confirmed) = send(
            self.post("/v1/signup/verify")
                .json(&json!({ "token": links.last() })),
        )
        .await;
        assert_eq!(status, 201, "confirming the sign-up: {confirmed}");
        confirmed
    }

    /// `inviter` invites `email` with `roles`; answers the invitation as created (with its token).
    pub async fn invite(&self, inviter: &Person, email: &str, roles: &[&str]) -> Value {
        let (status, _, body) = send(
            self.as_person(inviter, Method::POST, "/v1/invitations")
                .json(&json!({ "email": email, "roles": roles })),
        )
        .await;
        assert_eq!(status, 201, "invitation: {body}");
        body
    }

    /// Accepts an invitation token as a new member.
    pub async fn accept(&self, token: &str) -> (u16, Value) {
        self.accept_as(token, "New Member").await
    }

    /// Accepts an invitation token as a new member called `name`.
    pub async fn accept_as(&self, token: &str, name: &str) -> (u16, Value) {
        let (status, _, body) = send(self.post("/v1/invitations/accept").json(&json!({
            "token": token, "name": name, "password": PASSWORD,
        })))
        .await;
        (status, body)
    }

    /// `inviter` brings `email` into its tenant with `roles`.
    pub async fn join(&self, inviter: &Person, email: &str, roles: &[&str]) -> Person {
        self.join_as(inviter, email, "New Member", roles).await
    }

    /// `inviter` brings `email`, called `name`, into its tenant with `roles`.
    pub async fn join_as(
        &self,
        inviter: &Person,
        email: &str,
        name: &str,
        roles: &[&str],
    ) -> Person {
        let invitation = self.invite(inviter, email, roles).await;
        let (status, body) = self
            .accept_as(invitation["token"].as_str().unwrap(), name)
            .await;
        assert_eq!(status, 201, "accept: {body}");
        Person::from_answer(&body, email)
    }

    /// `count` members of `owner`'s tenant, in the member role: `member{i}@{domain}`.
    pub async fn members(&self, owner: &Person, domain: &str, count: usize) -> Vec<Person> {
        let mut members = Vec::with_capacity(count);
        for i in 0..count {
            members.push(
                self.join(owner, &format!("member{i}@{domain}"), &["member"])
                    .await,
            );
        }
        members
    }

    /// The platform's operator, created once per stack as `make run` does, then signed in.
    pub async fn operator(&self) -> Person {
        let email = "operator@steward.test";
        let store = steward_store::identity::IdentityStore::new(self.table.clone());
        let password = steward_domain::identity::Password::new(PASSWORD, &[]).unwrap();
        let address: steward_domain::identity::Email =
            serde_json::from_value(json!(email)).unwrap();
        // Already there when a test asks twice.
        let _ =
            steward_access::operators::bootstrap_operator(&store, &address, "Operator", &password)
                .await;
        let (status, _, tokens) = send(
            self.post("/v1/auth/login")
                .json(&json!({ "email": email, "password": PASSWORD })),
        )
        .await;
        assert_eq!(status, 200, "operator sign-in: {tokens}");
        let (_, _, me) = send(
            self.get("/v1/me")
                .bearer_auth(tokens["access_token"].as_str().unwrap()),
        )
        .await;
        Person {
            tenant_id: me["tenant_id"].as_str().unwrap().to_owned(),
            user_id: me["user_id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            access_token: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Every audit entry of `person`'s tenant, newest first, read through the API.
    pub async fn audit_entries(&self, reader: &Person) -> Vec<Value> {
        self.audit_pages(reader, "/v1/audit?limit=200").await
    }

    /// The audit entries of `reader`'s tenant at or after `since`, newest first.
    pub async fn audit_entries_since(&self, reader: &Person, since: jiff::Timestamp) -> Vec<Value> {
        self.audit_pages(reader, &format!("/v1/audit?limit=200&from={since}"))
            .await
    }

    async fn audit_pages(&self, reader: &Person, first: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut path = first.to_owned();
        loop {
            let (status, _, body) = send(self.as_person(reader, Method::GET, &path)).await;
            assert_eq!(status, 200, "audit: {body}");
            entries.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(cursor) => path = format!("{first}&cursor={cursor}"),
                None => return entries,
            }
        }
    }
}
