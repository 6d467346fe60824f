//! Every mutation leaves exactly one audit entry, and a refused one leaves none: each
//! mutating route of template.yaml is called through the gateway, successfully and where it can
//! be, unsuccessfully, and the tenant's audit log is counted around each call. A mutating route
//! this script does not call fails the test.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use steward_e2e::{PASSWORD, Person, TestStack, repository_root, send};
use steward_template::Template;
use steward_terminal::{Paired, Terminal};

struct Script<'a> {
    stack: &'a TestStack,
    /// Reads the log: an auditor, whose reads are not mutations.
    reader: Person,
    covered: BTreeSet<String>,
}

impl Script<'_> {
    /// Sends `request` for `route`, expects `status`, and checks the log grew by one entry on
    /// success and by none on failure. Answers the body.
    async fn step(&mut self, route: &str, request: reqwest::RequestBuilder, status: u16) -> Value {
        let reader = self.reader.clone();
        self.step_in_log_of(&reader, route, request, status).await
    }

    /// Sends `request` for `route`, expects `status` and exactly `entries` new audit entries:
    /// for answers that change nothing worth an entry (a terminal's heartbeat, an offline
    /// upload whose items were all refused or applied before).
    async fn step_counting(
        &mut self,
        route: &str,
        request: reqwest::RequestBuilder,
        status: u16,
        entries: usize,
    ) -> Value {
        let reader = self.reader.clone();
        self.step_counting_in_log_of(&reader, route, request, status, entries)
            .await
    }

    /// `step_counting` in the log `reader` reads.
    async fn step_counting_in_log_of(
        &mut self,
        reader: &Person,
        route: &str,
        request: reqwest::RequestBuilder,
        status: u16,
        entries: usize,
    ) -> Value {
        let since = began();
        let before = self.stack.audit_entries_since(reader, since).await.len();
        let (got, _, body) = send(request).await;
        assert_eq!(got, status, "{route}: {body}");
        let after = self.stack.audit_entries_since(reader, since).await.len();
        assert_eq!(after - before, entries, "{route} ({got}): {body}");
        self.covered.insert(route.to_owned());
        body
    }

    /// The same, counting the log `reader` reads (the platform's, for operators' switches).
    async fn step_in_log_of(
        &mut self,
        reader: &Person,
        route: &str,
        request: reqwest::RequestBuilder,
        status: u16,
    ) -> Value {
        let since = began();
        let before = self.stack.audit_entries_since(reader, since).await.len();
        let (got, _, body) = send(request).await;
        assert_eq!(got, status, "{route}: {body}");
        let after = self.stack.audit_entries_since(reader, since).await.len();
        let expected = if (200..300).contains(&got) { 1 } else { 0 };
        assert_eq!(
            after - before,
            expected,
            "{route} ({got}) left {} audit entries",
            after - before
        );
        self.covered.insert(route.to_owned());
        body
    }
}

/// Where a step's count of entries starts: now, before its request, so that every entry the
/// request writes is counted and none of the steps before. Reading only these, not the whole
/// log, keeps each step's reads the same size however long the log grows.
fn began() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn person(answer: &Value, email: &str) -> Person {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    Person {
        tenant_id: text(&answer["tenant"]["id"]),
        user_id: text(&answer["user"]["id"]),
        email: email.to_owned(),
        access_token: text(&answer["tokens"]["access_token"]),
        refresh_token: text(&answer["tokens"]["refresh_token"]),
    }
}

fn tokens(person: &mut Person, answer: &Value) {
    person.access_token = answer["access_token"].as_str().unwrap().to_owned();
    person.refresh_token = answer["refresh_token"].as_str().unwrap().to_owned();
}

#[tokio::test]
async fn every_mutation_leaves_exactly_one_audit_entry() {
    let stack = TestStack::start_with(|options| {
        options
            .parameter_overrides
            .insert("AuthorizerCacheSeconds".into(), "0".into());
    })
    .await;

    // Sign-up: the new tenant's log holds exactly its one entry.
    let answer = stack
        .signed_up(json!({
            "tenant_name": "Acme Rooms", "name": "Owner", "email": "owner@acme.test", "password": PASSWORD,
        }))
        .await;
    let owner = person(&answer, "owner@acme.test");
    assert_eq!(stack.audit_entries(&owner).await.len(), 1);
    let reader = stack.join(&owner, "reader@acme.test", &["auditor"]).await;
    let mut script = Script {
        stack: &stack,
        reader,
        // The form changes nothing but a pending sign-up, which no log can hold yet; the
        // confirmation writes the tenant's first entry, counted above.
        covered: BTreeSet::from([
            "POST /v1/signup".to_owned(),
            "POST /v1/signup/verify".to_owned(),
        ]),
    };
    let as_ = |who: &Person, method: Method, path: &str| stack.as_person(who, method, path);

    // Invitations and joining.
    let invitation = script
        .step(
            "POST /v1/invitations",
            as_(&owner, Method::POST, "/v1/invitations")
                .json(&json!({ "email": "admin@acme.test", "roles": ["admin"] })),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/invitations",
            as_(&owner, Method::POST, "/v1/invitations")
                .json(&json!({ "email": "x@acme.test", "roles": [] })),
            422,
        )
        .await;
    let joined = script
        .step(
            "POST /v1/invitations/accept",
            stack.post("/v1/invitations/accept").json(
                &json!({ "token": invitation["token"], "name": "Admin", "password": PASSWORD }),
            ),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/invitations/accept",
            stack.post("/v1/invitations/accept").json(
                &json!({ "token": invitation["token"], "name": "Admin", "password": PASSWORD }),
            ),
            409,
        )
        .await;
    let mut admin = person(&joined, "admin@acme.test");
    let spare = stack.invite(&owner, "spare@acme.test", &["member"]).await;
    script.covered.insert("POST /v1/invitations".into());
    let revoke_invitation = format!("/v1/invitations/{}", spare["id"].as_str().unwrap());
    script
        .step(
            "DELETE /v1/invitations/{invitationId}",
            as_(&owner, Method::DELETE, &revoke_invitation),
            204,
        )
        .await;
    script
        .step(
            "DELETE /v1/invitations/{invitationId}",
            as_(&owner, Method::DELETE, &revoke_invitation),
            409,
        )
        .await;
    let pending = stack.invite(&owner, "later@acme.test", &["member"]).await;
    script
        .step(
            "POST /v1/invitations/{invitationId}/resend",
            as_(
                &owner,
                Method::POST,
                &format!("/v1/invitations/{}/resend", pending["id"].as_str().unwrap()),
            ),
            200,
        )
        .await;
    script
        .step(
            "POST /v1/invitations/{invitationId}/resend",
            as_(&owner, Method::POST, &format!("{revoke_invitation}/resend")),
            409,
        )
        .await;
    let member = stack.join(&owner, "member@acme.test", &["member"]).await;

    // A password reset: asking changes no account (and has no tenant to log in: it answers
    // alike for every address); using the link is the change, audited once.
    let forgetful = stack.join(&owner, "forgetful@acme.test", &["member"]).await;
    script
        .step_counting(
            "POST /v1/auth/password-reset",
            stack
                .post("/v1/auth/password-reset")
                .json(&json!({ "email": forgetful.email })),
            202,
            0,
        )
        .await;
    let reset_token = stack
        .emailed_tokens(&forgetful.email, "Choose a new Steward password")
        .await
        .pop()
        .expect("a reset link");
    let reset = |token: &str| {
        stack
            .post("/v1/auth/password-reset/confirm")
            .json(&json!({ "token": token, "new_password": "quartz harbour lantern ferry" }))
    };
    script
        .step(
            "POST /v1/auth/password-reset/confirm",
            reset(&reset_token),
            204,
        )
        .await;
    script
        .step(
            "POST /v1/auth/password-reset/confirm",
            reset(&reset_token),
            400,
        )
        .await;

    // An email change: asking is audited (the account's own request), and so is following the
    // link; a refused link leaves nothing.
    let moving = stack.join(&owner, "moving@acme.test", &["member"]).await;
    script
        .step(
            "POST /v1/me/email",
            as_(&moving, Method::POST, "/v1/me/email")
                .json(&json!({ "new_email": "moved@acme.test", "current_password": PASSWORD })),
            202,
        )
        .await;
    let move_token = stack
        .emailed_tokens(
            "moved@acme.test",
            "Confirm your new email address for Steward",
        )
        .await
        .pop()
        .expect("a link to the new address");
    let confirm_move = |token: &str| {
        stack
            .post("/v1/me/email/verify")
            .json(&json!({ "token": token }))
    };
    script
        .step("POST /v1/me/email/verify", confirm_move(&move_token), 200)
        .await;
    script
        .step("POST /v1/me/email/verify", confirm_move(&move_token), 400)
        .await;

    // Sign-in and tokens.
    let login = json!({ "email": "admin@acme.test", "password": PASSWORD });
    let answer = script
        .step(
            "POST /v1/auth/login",
            stack.post("/v1/auth/login").json(&login),
            200,
        )
        .await;
    tokens(&mut admin, &answer);
    script
        .step(
            "POST /v1/auth/login",
            stack.post("/v1/auth/login").json(
                &json!({ "email": "admin@acme.test", "password": "not the password at all" }),
            ),
            401,
        )
        .await;
    // An account signed in elsewhere joins by invitation.
    let elsewhere_owner = stack.sign_up("Other Rooms", "three@other.test").await;
    let third = stack.invite(&owner, "three@other.test", &["member"]).await;
    let signed_in_accept = json!({ "token": third["token"] });
    for status in [201, 409] {
        script
            .step(
                "POST /v1/me/invitations/accept",
                as_(&elsewhere_owner, Method::POST, "/v1/me/invitations/accept")
                    .json(&signed_in_accept),
                status,
            )
            .await;
    }

    // A person of two organisations chooses one with the sign-in's ticket.
    let _elsewhere = stack.sign_up("Else Rooms", "two@else.test").await;
    let both = stack.invite(&owner, "two@else.test", &["member"]).await;
    let (status, _, body) = send(
        stack
            .post("/v1/invitations/accept")
            .json(&json!({ "token": both["token"], "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, _, asked) = send(
        stack
            .post("/v1/auth/login")
            .json(&json!({ "email": "two@else.test", "password": PASSWORD })),
    )
    .await;
    let choice = json!({ "ticket": asked["ticket"], "tenant_id": owner.tenant_id });
    for status in [200, 400] {
        script
            .step(
                "POST /v1/auth/login/tenant",
                stack.post("/v1/auth/login/tenant").json(&choice),
                status,
            )
            .await;
    }

    let answer = script
        .step(
            "POST /v1/auth/refresh",
            stack
                .post("/v1/auth/refresh")
                .json(&json!({ "refresh_token": admin.refresh_token })),
            200,
        )
        .await;
    tokens(&mut admin, &answer);
    script
        .step(
            "POST /v1/auth/refresh",
            stack
                .post("/v1/auth/refresh")
                .json(&json!({ "refresh_token": "a.b.c.d" })),
            401,
        )
        .await;

    // Grants through dual approval: the request, then its approval or rejection.
    let grant = format!("/v1/members/{}/roles", member.user_id);
    let requested = script
        .step(
            "POST /v1/members/{userId}/roles",
            as_(&owner, Method::POST, &grant).json(&json!({ "role": "auditor" })),
            202,
        )
        .await;
    let approve = format!(
        "/v1/change-requests/{}/approve",
        requested["change_request"]["id"].as_str().unwrap()
    );
    script
        .step(
            "POST /v1/change-requests/{changeRequestId}/approve",
            as_(&owner, Method::POST, &approve),
            403,
        )
        .await;
    script
        .step(
            "POST /v1/change-requests/{changeRequestId}/approve",
            as_(&admin, Method::POST, &approve),
            200,
        )
        .await;
    script
        .step(
            "POST /v1/change-requests/{changeRequestId}/approve",
            as_(&admin, Method::POST, &approve),
            409,
        )
        .await;
    let revoke = format!("/v1/members/{}/roles/auditor", member.user_id);
    let requested = script
        .step(
            "DELETE /v1/members/{userId}/roles/{role}",
            as_(&owner, Method::DELETE, &revoke),
            202,
        )
        .await;
    let reject = format!(
        "/v1/change-requests/{}/reject",
        requested["change_request"]["id"].as_str().unwrap()
    );
    script
        .step(
            "POST /v1/change-requests/{changeRequestId}/reject",
            as_(&admin, Method::POST, &reject).json(&json!({ "reason": "keep it" })),
            200,
        )
        .await;
    script
        .step(
            "POST /v1/change-requests/{changeRequestId}/reject",
            as_(&admin, Method::POST, &reject).json(&json!({})),
            409,
        )
        .await;
    let requested = script
        .step(
            "PUT /v1/settings",
            as_(&owner, Method::PUT, "/v1/settings").json(&json!({ "dual_approval": false })),
            202,
        )
        .await;
    let approve = format!(
        "/v1/change-requests/{}/approve",
        requested["change_request"]["id"].as_str().unwrap()
    );
    script
        .step(
            "POST /v1/change-requests/{changeRequestId}/approve",
            as_(&admin, Method::POST, &approve),
            200,
        )
        .await;
    script
        .step(
            "PUT /v1/settings",
            as_(&owner, Method::PUT, "/v1/settings").json(&json!({ "dual_approval": false })),
            409,
        )
        .await;

    // Roles, now applied directly.
    script
        .step(
            "POST /v1/roles",
            as_(&owner, Method::POST, "/v1/roles")
                .json(&json!({ "name": "desk", "permissions": ["me:read"] })),
            200,
        )
        .await;
    script
        .step(
            "POST /v1/roles",
            as_(&owner, Method::POST, "/v1/roles")
                .json(&json!({ "name": "desk", "permissions": ["me:read"] })),
            409,
        )
        .await;
    script
        .step(
            "PUT /v1/roles/{role}",
            as_(&owner, Method::PUT, "/v1/roles/desk")
                .json(&json!({ "permissions": ["me:read", "roles:list"] })),
            200,
        )
        .await;
    script
        .step(
            "PUT /v1/roles/{role}",
            as_(&owner, Method::PUT, "/v1/roles/desk").json(&json!({ "permissions": [] })),
            422,
        )
        .await;
    script
        .step(
            "POST /v1/members/{userId}/roles",
            as_(&owner, Method::POST, &grant).json(&json!({ "role": "desk" })),
            200,
        )
        .await;
    script
        .step(
            "DELETE /v1/roles/{role}",
            as_(&owner, Method::DELETE, "/v1/roles/desk"),
            409,
        )
        .await;
    script
        .step(
            "DELETE /v1/members/{userId}/roles/{role}",
            as_(
                &owner,
                Method::DELETE,
                &format!("/v1/members/{}/roles/desk", member.user_id),
            ),
            200,
        )
        .await;
    script
        .step(
            "DELETE /v1/roles/{role}",
            as_(&owner, Method::DELETE, "/v1/roles/desk"),
            200,
        )
        .await;

    // Members.
    let suspend = format!("/v1/members/{}/suspend", member.user_id);
    script
        .step(
            "POST /v1/members/{userId}/suspend",
            as_(&owner, Method::POST, &suspend),
            200,
        )
        .await;
    script
        .step(
            "POST /v1/members/{userId}/suspend",
            as_(&owner, Method::POST, &suspend),
            409,
        )
        .await;
    let reinstate = format!("/v1/members/{}/reinstate", member.user_id);
    script
        .step(
            "POST /v1/members/{userId}/reinstate",
            as_(&owner, Method::POST, &reinstate),
            200,
        )
        .await;
    script
        .step(
            "POST /v1/members/{userId}/reinstate",
            as_(&owner, Method::POST, &reinstate),
            409,
        )
        .await;
    let remove = format!("/v1/members/{}", member.user_id);
    script
        .step(
            "DELETE /v1/members/{userId}",
            as_(&owner, Method::DELETE, &remove),
            200,
        )
        .await;
    script
        .step(
            "DELETE /v1/members/{userId}",
            as_(&owner, Method::DELETE, &remove),
            404,
        )
        .await;

    // Operators: a tenant's licence and cohort (in the tenant's log), the switches (the
    // platform's).
    let operator = stack.operator().await;
    let licence = format!("/v1/admin/tenants/{}/licence", owner.tenant_id);
    script
        .step(
            "PUT /v1/admin/tenants/{tenantId}/licence",
            as_(&operator, Method::PUT, &licence).json(&json!({ "offering": "professional" })),
            200,
        )
        .await;
    script
        .step(
            "PUT /v1/admin/tenants/{tenantId}/licence",
            as_(&owner, Method::PUT, &licence).json(&json!({ "offering": "enterprise" })),
            403,
        )
        .await;
    let cohort = format!("/v1/admin/tenants/{}/cohort", owner.tenant_id);
    script
        .step(
            "PUT /v1/admin/tenants/{tenantId}/cohort",
            as_(&operator, Method::PUT, &cohort).json(&json!({ "cohort": "pilot" })),
            200,
        )
        .await;
    script
        .step(
            "PUT /v1/admin/tenants/{tenantId}/cohort",
            as_(
                &operator,
                Method::PUT,
                "/v1/admin/tenants/tnt_nobody/cohort",
            )
            .json(&json!({ "cohort": "pilot" })),
            404,
        )
        .await;
    let switches = json!({ "stage": "disabled", "enforcement_enabled": false });
    script
        .step_in_log_of(
            &operator,
            "PUT /v1/admin/config/licensing",
            as_(&operator, Method::PUT, "/v1/admin/config/licensing").json(&switches),
            200,
        )
        .await;
    script
        .step_in_log_of(
            &operator,
            "PUT /v1/admin/config/licensing",
            as_(&operator, Method::PUT, "/v1/admin/config/licensing")
                .json(&json!({ "stage": "everyone" })),
            422,
        )
        .await;
    // A preview of a change writes nothing, in the platform's log or any.
    script
        .step_counting_in_log_of(
            &operator,
            "POST /v1/admin/config/licensing/preview",
            as_(
                &operator,
                Method::POST,
                "/v1/admin/config/licensing/preview",
            )
            .json(&json!({ "stage": "general_availability", "enforcement_enabled": true })),
            200,
            0,
        )
        .await;

    // Operators invite operators; a second one decides.
    let second = {
        let access = steward_store::access::AccessStore::new(stack.table.clone());
        let address = serde_json::from_value(json!("second@steward.test")).unwrap();
        let token = steward_access::operators::invite_operator_directly(&access, &address)
            .await
            .unwrap();
        let (status, body) = stack.accept(&token).await;
        assert_eq!(status, 201, "{body}");
        person(&body, "second@steward.test")
    };
    let mut awaiting = Vec::new();
    for (email, status) in [
        (json!("third@steward.test"), 202),
        (json!("fourth@steward.test"), 202),
        (json!("not an address"), 422),
    ] {
        let invited = script
            .step_in_log_of(
                &operator,
                "POST /v1/admin/operators",
                as_(&operator, Method::POST, "/v1/admin/operators")
                    .json(&json!({ "email": email })),
                status,
            )
            .await;
        if status == 202 {
            awaiting.push(invited["id"].as_str().unwrap().to_owned());
        }
    }
    for (who, decision, id, status) in [
        (&operator, "approve", &awaiting[0], 403),
        (&second, "approve", &awaiting[0], 200),
        (&second, "approve", &awaiting[0], 409),
        (&second, "reject", &awaiting[1], 200),
        (&second, "reject", &awaiting[1], 409),
    ] {
        script
            .step_in_log_of(
                &operator,
                &format!("POST /v1/admin/operators/{{invitationId}}/{decision}"),
                as_(
                    who,
                    Method::POST,
                    &format!("/v1/admin/operators/{id}/{decision}"),
                ),
                status,
            )
            .await;
    }

    // Operators' sweep and views: audited in the platform's log; a tenant is refused.
    for (route, path, status) in [
        (
            "POST /v1/admin/validate-licenses",
            "/v1/admin/validate-licenses",
            202,
        ),
        (
            "POST /v1/admin/refresh-views",
            "/v1/admin/refresh-views",
            200,
        ),
        ("POST /v1/admin/cache/clear", "/v1/admin/cache/clear", 200),
    ] {
        script
            .step_in_log_of(&operator, route, as_(&operator, Method::POST, path), status)
            .await;
        script
            .step_in_log_of(&operator, route, as_(&owner, Method::POST, path), 403)
            .await;
    }

    // Rooms: created, changed with If-Match, archived; refusals change nothing.
    let hall = json!({ "name": "Hall", "time_zone": "Europe/London", "capacity": 20 });
    let room = script
        .step(
            "POST /v1/rooms",
            as_(&owner, Method::POST, "/v1/rooms").json(&hall),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/rooms",
            as_(&owner, Method::POST, "/v1/rooms").json(&json!({ "name": "" })),
            422,
        )
        .await;
    let room_path = format!("/v1/rooms/{}", room["id"].as_str().unwrap());
    script
        .step(
            "PUT /v1/rooms/{roomId}",
            as_(&owner, Method::PUT, &room_path)
                .header("if-match", "\"1\"")
                .json(&hall),
            200,
        )
        .await;
    script
        .step(
            "PUT /v1/rooms/{roomId}",
            as_(&owner, Method::PUT, &room_path)
                .header("if-match", "\"1\"")
                .json(&hall),
            412,
        )
        .await;
    // CSV imports: one entry a room made, one a room's bookings written; bad sheets leave none.
    let csv = |path: &str, body: String| {
        as_(&owner, Method::POST, path)
            .header("content-type", "text/csv")
            .body(body)
    };
    for (sheet, status) in [
        ("name,time_zone,capacity\nAnnex,UTC,4\n", 200),
        ("name,time_zone,capacity\nAnnex,UTC,many\n", 422),
    ] {
        script
            .step(
                "POST /v1/imports/rooms",
                csv("/v1/imports/rooms", sheet.to_owned()),
                status,
            )
            .await;
    }
    let day = steward_e2e::days_ahead(45);
    for (time, status) in [("07:00", 200), ("not a time", 422)] {
        let sheet = format!(
            "room_id,start,end\n{},{day}T{time},{day}T08:00\n",
            room["id"].as_str().unwrap()
        );
        script
            .step(
                "POST /v1/imports/bookings",
                csv("/v1/imports/bookings", sheet),
                status,
            )
            .await;
    }

    // A booking in that room; a refused one (past the room's rules) leaves nothing.
    // Dates a month ahead, whatever day the test runs.
    let [d1, d2, d3, d4] = [30, 31, 32, 33].map(steward_e2e::days_ahead);
    let booking = json!({ "room_id": room["id"], "start": format!("{d1}T10:00"), "end": format!("{d1}T11:00") });
    let booked = script
        .step(
            "POST /v1/bookings",
            as_(&owner, Method::POST, "/v1/bookings").json(&booking),
            201,
        )
        .await;
    let booked_path = format!("/v1/bookings/{}", booked["id"].as_str().unwrap());
    let later = json!({ "start": format!("{d1}T12:00"), "end": format!("{d1}T13:30") });
    script
        .step(
            "PATCH /v1/bookings/{bookingId}",
            as_(&owner, Method::PATCH, &booked_path)
                .header("if-match", "\"1\"")
                .json(&later),
            200,
        )
        .await;
    script
        .step(
            "PATCH /v1/bookings/{bookingId}",
            as_(&owner, Method::PATCH, &booked_path)
                .header("if-match", "\"1\"")
                .json(&later),
            412,
        )
        .await;
    let cancel = format!("{booked_path}/cancel");
    script
        .step(
            "POST /v1/bookings/{bookingId}/cancel",
            as_(&owner, Method::POST, &cancel).header("if-match", "\"2\""),
            200,
        )
        .await;
    script
        .step(
            "POST /v1/bookings/{bookingId}/cancel",
            as_(&owner, Method::POST, &cancel).header("if-match", "\"3\""),
            409,
        )
        .await;
    // Ending a booking under way (booked in the past by a manager, with a reason).
    let now = jiff::Timestamp::now();
    let under_way = json!({
        "room_id": room["id"],
        "start": (now - jiff::SignedDuration::from_mins(10)).to_string(),
        "end": (now + jiff::SignedDuration::from_mins(50)).to_string(),
        "override_reason": "walked in",
    });
    let running = script
        .step(
            "POST /v1/bookings",
            as_(&owner, Method::POST, "/v1/bookings").json(&under_way),
            201,
        )
        .await;
    let end = format!("/v1/bookings/{}/end", running["id"].as_str().unwrap());
    for (version, status) in [("\"1\"", 200), ("\"2\"", 409)] {
        script
            .step(
                "POST /v1/bookings/{bookingId}/end",
                as_(&owner, Method::POST, &end).header("if-match", version),
                status,
            )
            .await;
    }
    // Approvals, in a room that needs them.
    let board = script
        .step(
            "POST /v1/rooms",
            as_(&owner, Method::POST, "/v1/rooms").json(&json!({
                "name": "Board", "time_zone": "UTC", "capacity": 12,
                "rules": { "approval_required": true },
            })),
            201,
        )
        .await;
    // A member's bookings: a booking is approved by someone other than its organiser.
    let booker = stack.join(&owner, "booker@acme.test", &["member"]).await;
    for (route, verb, hour) in [
        ("POST /v1/bookings/{bookingId}/approve", "approve", 9),
        ("POST /v1/bookings/{bookingId}/reject", "reject", 11),
    ] {
        let pending = script
            .step(
                "POST /v1/bookings",
                as_(&booker, Method::POST, "/v1/bookings").json(&json!({
                    "room_id": board["id"],
                    "start": format!("{d3}T{hour:02}:00"),
                    "end": format!("{d3}T{:02}:00", hour + 1),
                })),
                201,
            )
            .await;
        assert_eq!(pending["status"], "pending");
        let path = format!("/v1/bookings/{}/{verb}", pending["id"].as_str().unwrap());
        for (version, status) in [("\"1\"", 200), ("\"2\"", 409)] {
            script
                .step(
                    route,
                    as_(&owner, Method::POST, &path)
                        .header("if-match", version)
                        .json(&json!({ "reason": "board decision" })),
                    status,
                )
                .await;
        }
    }
    // A series: created, refused when its rule is bad, changed and cancelled from an occurrence on.
    let series = script
        .step(
            "POST /v1/series",
            as_(&owner, Method::POST, "/v1/series").json(&json!({
                "room_id": board["id"], "start": format!("{d4}T15:00"), "end": format!("{d4}T16:00"),
                "recurrence": "FREQ=DAILY;COUNT=3",
            })),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/series",
            as_(&owner, Method::POST, "/v1/series").json(&json!({
                "room_id": board["id"], "start": format!("{d4}T15:00"), "end": format!("{d4}T16:00"),
                "recurrence": "FREQ=YEARLY",
            })),
            422,
        )
        .await;
    let series_path = format!("/v1/series/{}", series["id"].as_str().unwrap());
    for (version, status) in [("\"1\"", 200), ("\"1\"", 412)] {
        script
            .step(
                "PATCH /v1/series/{seriesId}",
                as_(&owner, Method::PATCH, &series_path)
                    .header("if-match", version)
                    .json(&json!({ "from_index": 1, "title": "Renamed" })),
                status,
            )
            .await;
    }
    for (version, status) in [("\"2\"", 200), ("\"2\"", 412)] {
        script
            .step(
                "POST /v1/series/{seriesId}/cancel",
                as_(&owner, Method::POST, &format!("{series_path}/cancel"))
                    .header("if-match", version)
                    .json(&json!({ "from_index": 0 })),
                status,
            )
            .await;
    }
    // Closures.
    let closures = format!("/v1/rooms/{}/closures", board["id"].as_str().unwrap());
    let closure = script
        .step(
            "POST /v1/rooms/{roomId}/closures",
            as_(&owner, Method::POST, &closures).json(&json!({
                "start": format!("{d4}T00:00"), "end": format!("{d4}T23:00"), "reason": "Painting",
            })),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/rooms/{roomId}/closures",
            as_(&owner, Method::POST, &closures)
                .json(&json!({ "start": "soon", "end": "later", "reason": "" })),
            422,
        )
        .await;
    let reopen = format!("{closures}/{}", closure["closure"]["id"].as_str().unwrap());
    for status in [204, 404] {
        script
            .step(
                "DELETE /v1/rooms/{roomId}/closures/{closureId}",
                as_(&owner, Method::DELETE, &reopen),
                status,
            )
            .await;
    }
    let too_long = json!({ "room_id": room["id"], "start": format!("{d2}T08:00"), "end": format!("{d2}T20:00") });
    script
        .step(
            "POST /v1/bookings",
            as_(&owner, Method::POST, "/v1/bookings").json(&too_long),
            422,
        )
        .await;
    script
        .step(
            "DELETE /v1/rooms/{roomId}",
            as_(&owner, Method::DELETE, &room_path),
            428,
        )
        .await;
    script
        .step(
            "DELETE /v1/rooms/{roomId}",
            as_(&owner, Method::DELETE, &room_path).header("if-match", "\"2\""),
            204,
        )
        .await;

    // Calendar feeds: made and revoked; an unknown room or a second revocation changes nothing.
    let feed = script
        .step(
            "POST /v1/feeds",
            as_(&owner, Method::POST, "/v1/feeds").json(&json!({})),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/feeds",
            as_(&owner, Method::POST, "/v1/feeds").json(&json!({ "room_id": "rm_none" })),
            404,
        )
        .await;
    let feed_path = format!("/v1/feeds/{}", feed["id"].as_str().unwrap());
    for status in [204, 404] {
        script
            .step(
                "DELETE /v1/feeds/{feedId}",
                as_(&owner, Method::DELETE, &feed_path),
                status,
            )
            .await;
    }

    // The per-member quota set and lifted; a limit out of range changes nothing.
    for (body, status) in [
        (json!({ "active_bookings": 50, "hours_per_week": 40 }), 200),
        (json!({ "active_bookings": 0 }), 422),
        (
            json!({ "active_bookings": null, "hours_per_week": null }),
            200,
        ),
    ] {
        script
            .step(
                "PUT /v1/settings/booking-quota",
                as_(&owner, Method::PUT, "/v1/settings/booking-quota").json(&body),
                status,
            )
            .await;
    }

    // Terminals: registered, paired once, then signed requests: a walk-up extended and ended,
    // a check-in, an offline check-in applied once; badges; the check-in policy; revocation.
    // A heartbeat records liveness only, and no entry.
    let check_in_room = |name: &str| json!({ "name": name, "time_zone": "UTC", "capacity": 4, "rules": { "check_in_required": true } });
    let (walk_room, door_room) = (
        stack.room(&owner, check_in_room("Walk-up room")).await,
        stack.room(&owner, check_in_room("Door room")).await,
    );
    let mut terminals = Vec::new();
    for room_id in [&walk_room, &door_room] {
        script
            .step(
                "POST /v1/terminals",
                as_(&owner, Method::POST, "/v1/terminals")
                    .json(&json!({ "room_id": "rm_none", "name": "Door" })),
                422,
            )
            .await;
        let registered = script
            .step(
                "POST /v1/terminals",
                as_(&owner, Method::POST, "/v1/terminals")
                    .json(&json!({ "room_id": room_id, "name": "Door" })),
                201,
            )
            .await;
        let pair = || {
            stack
                .post("/v1/terminals/pair")
                .json(&json!({ "pairing_code": registered["pairing_code"] }))
        };
        let paired = script.step("POST /v1/terminals/pair", pair(), 200).await;
        script.step("POST /v1/terminals/pair", pair(), 404).await;
        let text = |field: &str| paired[field].as_str().unwrap().to_owned();
        terminals.push(Terminal::new(Paired {
            api: stack.url.clone(),
            tenant_id: text("tenant_id"),
            terminal_id: text("terminal_id"),
            room_id: text("room_id"),
            secret: text("secret"),
        }));
    }
    let signed = |terminal: &Terminal, path: &str, body: Value| {
        let bytes = body.to_string().into_bytes();
        terminal.request(
            Method::POST,
            path,
            &bytes,
            bytes.clone(),
            &terminal.signing(),
        )
    };
    for (badge, body, status) in [
        ("0E0E0E0E", json!({ "member_id": owner.user_id }), 200),
        ("not-hex", json!({ "member_id": owner.user_id }), 422),
        ("0F0F0F0F", json!({ "member_id": "usr_none" }), 422),
    ] {
        script
            .step(
                "PUT /v1/badges/{badgeId}",
                as_(&owner, Method::PUT, &format!("/v1/badges/{badge}")).json(&body),
                status,
            )
            .await;
    }
    let (walk, door) = (&terminals[0], &terminals[1]);
    let in_twenty = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(20)).to_string();
    for status in [201, 409] {
        script
            .step(
                "POST /v1/terminal/walk-up",
                signed(
                    walk,
                    "/v1/terminal/walk-up",
                    json!({ "badge": "0E0E0E0E", "end": in_twenty }),
                ),
                status,
            )
            .await;
    }
    for (minutes, status) in [(15, 200), (1000, 422)] {
        script
            .step(
                "POST /v1/terminal/extend",
                signed(
                    walk,
                    "/v1/terminal/extend",
                    json!({ "badge": "0E0E0E0E", "minutes": minutes }),
                ),
                status,
            )
            .await;
    }
    for status in [200, 403] {
        script
            .step(
                "POST /v1/terminal/end",
                signed(walk, "/v1/terminal/end", json!({ "badge": "0E0E0E0E" })),
                status,
            )
            .await;
    }
    let soon = steward_e2e::minutes_from_now;
    let (_, booked) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/bookings",
            json!({ "room_id": door_room, "start": soon(3), "end": soon(30) }),
        )
        .await;
    for status in [200, 409] {
        script
            .step(
                "POST /v1/terminal/check-in",
                signed(
                    door,
                    "/v1/terminal/check-in",
                    json!({ "pin": booked["check_in_pin"] }),
                ),
                status,
            )
            .await;
    }
    let (_, offline) = stack
        .call(
            &owner,
            Method::POST,
            "/v1/bookings",
            json!({ "room_id": walk_room, "start": soon(3), "end": soon(30) }),
        )
        .await;
    let item = json!({ "items": [{
        "id": "audit-1", "kind": "check_in", "device_time": jiff::Timestamp::now().to_string(),
        "pin": offline["check_in_pin"],
    }] });
    for entries in [1, 0] {
        script
            .step_counting(
                "POST /v1/terminal/sync",
                signed(walk, "/v1/terminal/sync", item.clone()),
                200,
                entries,
            )
            .await;
    }
    script
        .step(
            "POST /v1/terminal/sync",
            signed(walk, "/v1/terminal/sync", json!({ "items": [] })),
            422,
        )
        .await;
    script
        .step_counting(
            "POST /v1/terminal/heartbeat",
            signed(
                walk,
                "/v1/terminal/heartbeat",
                json!({ "app_version": "audit" }),
            ),
            204,
            0,
        )
        .await;
    for status in [204, 404] {
        script
            .step(
                "DELETE /v1/badges/{badgeId}",
                as_(&owner, Method::DELETE, "/v1/badges/0E0E0E0E"),
                status,
            )
            .await;
    }
    for (body, status) in [
        (json!({ "opens_minutes_before": 5 }), 200),
        (json!({ "pin_attempts": 0 }), 422),
    ] {
        script
            .step(
                "PUT /v1/settings/check-in",
                as_(&owner, Method::PUT, "/v1/settings/check-in").json(&body),
                status,
            )
            .await;
    }
    let revoke = format!("/v1/terminals/{}", walk.paired.terminal_id);
    for status in [204, 404] {
        script
            .step(
                "DELETE /v1/terminals/{terminalId}",
                as_(&owner, Method::DELETE, &revoke),
                status,
            )
            .await;
    }

    // Credentials: a type, then a credential with its upload URL; bad ones change nothing.
    let kind = script
        .step(
            "POST /v1/credential-types",
            as_(&owner, Method::POST, "/v1/credential-types").json(&json!({
                "name": "First aid", "accepted_types": ["application/pdf"], "max_bytes": 1000
            })),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/credential-types",
            as_(&owner, Method::POST, "/v1/credential-types")
                .json(&json!({ "name": "", "accepted_types": [], "max_bytes": 0 })),
            422,
        )
        .await;
    let mut own_credential = Value::Null;
    for (size, status) in [(100, 201), (5_000, 422)] {
        let answer = script
            .step(
                "POST /v1/credentials",
                as_(&owner, Method::POST, "/v1/credentials").json(&json!({
                    "type_id": kind["id"], "content_type": "application/pdf", "size": size
                })),
                status,
            )
            .await;
        if status == 201 {
            own_credential = answer;
        }
    }
    // Nobody reviews their own; a rejection without a reason: nothing changes. (The decisions
    // that succeed are tested through the verifier in tests/tests/uploads.rs.)
    let decide = |verb: &str| {
        format!(
            "/v1/credentials/{}/{verb}",
            own_credential["id"].as_str().unwrap()
        )
    };
    script
        .step(
            "POST /v1/credentials/{credentialId}/approve",
            as_(&owner, Method::POST, &decide("approve")),
            403,
        )
        .await;
    script
        .step(
            "POST /v1/credentials/{credentialId}/reject",
            as_(&owner, Method::POST, &decide("reject")).json(&json!({})),
            422,
        )
        .await;

    // Notifications marked read; a time that is not one changes nothing.
    for (body, status) in [(json!({}), 200), (json!({ "up_to": "yesterday" }), 422)] {
        script
            .step(
                "POST /v1/me/notifications/read",
                as_(&owner, Method::POST, "/v1/me/notifications/read").json(&body),
                status,
            )
            .await;
    }

    // The onboarding checklist: an admin marks a step; bad marks and unknown steps change nothing.
    for (path, body, status) in [
        (
            "/v1/onboarding/steps/review_roles",
            json!({ "status": "done" }),
            200,
        ),
        (
            "/v1/onboarding/steps/review_roles",
            json!({ "status": "maybe" }),
            422,
        ),
        (
            "/v1/onboarding/steps/teleport",
            json!({ "status": "done" }),
            404,
        ),
    ] {
        script
            .step(
                "POST /v1/onboarding/steps/{step}",
                as_(&owner, Method::POST, path).json(&body),
                status,
            )
            .await;
    }

    // The caller's own password and sessions.
    let password =
        json!({ "current_password": PASSWORD, "new_password": "a different long passphrase" });
    script
        .step(
            "POST /v1/me/password",
            as_(&admin, Method::POST, "/v1/me/password").json(&password),
            204,
        )
        .await;
    script
        .step(
            "POST /v1/me/password",
            as_(&admin, Method::POST, "/v1/me/password").json(&password),
            422,
        )
        .await;
    let (_, _, other) = send(
        stack
            .post("/v1/auth/login")
            .json(&json!({ "email": "owner@acme.test", "password": PASSWORD })),
    )
    .await;
    let other = person(
        &json!({ "tenant": { "id": owner.tenant_id }, "user": { "id": owner.user_id }, "tokens": other }),
        "owner@acme.test",
    );
    let (_, _, me) = send(as_(&other, Method::GET, "/v1/me")).await;
    let session = format!("/v1/me/sessions/{}", me["session_id"].as_str().unwrap());
    script
        .step(
            "DELETE /v1/me/sessions/{sessionId}",
            as_(&owner, Method::DELETE, &session),
            204,
        )
        .await;
    script
        .step(
            "DELETE /v1/me/sessions/{sessionId}",
            as_(&owner, Method::DELETE, &session),
            404,
        )
        .await;
    // The owner's second factor: set up, confirmed, turned off; the tenant's requirement.
    let start = json!({ "current_password": PASSWORD });
    let started = script
        .step(
            "POST /v1/me/mfa/totp",
            as_(&owner, Method::POST, "/v1/me/mfa/totp").json(&start),
            201,
        )
        .await;
    let secret = started["secret"].as_str().unwrap();
    script
        .step(
            "POST /v1/me/mfa/totp",
            as_(&owner, Method::POST, "/v1/me/mfa/totp")
                .json(&json!({ "current_password": "wrong wrong wrong" })),
            422,
        )
        .await;
    for status in [200, 409] {
        script
            .step(
                "POST /v1/me/mfa/totp/confirm",
                as_(&owner, Method::POST, "/v1/me/mfa/totp/confirm")
                    .json(&json!({ "code": crate::second_factor::code(secret, 0) })),
                status,
            )
            .await;
    }
    for status in [204, 409] {
        script
            .step(
                "POST /v1/me/mfa/totp/disable",
                as_(&owner, Method::POST, "/v1/me/mfa/totp/disable")
                    .json(&json!({ "code": crate::second_factor::code(secret, 30) })),
                status,
            )
            .await;
    }
    for (body, status) in [
        (json!({ "required_for_owners_and_admins": false }), 200),
        (json!({}), 422),
    ] {
        script
            .step(
                "PUT /v1/settings/mfa",
                as_(&owner, Method::PUT, "/v1/settings/mfa").json(&body),
                status,
            )
            .await;
    }

    // Single sign-on's settings, against a real provider (read before they are saved).
    let provider = steward_e2e::identity_provider::IdentityProvider::start(
        "steward-rooms",
        "a client secret",
        &stack.url("/v1/auth/sso/callback"),
        json!({}),
    );
    let settings = json!({
        "issuer": provider.issuer, "client_id": "steward-rooms",
        "client_secret": "a client secret", "domains": ["audit-sso.test"],
    });
    for (body, status) in [(settings, 200), (json!({ "domains": [] }), 422)] {
        script
            .step(
                "PUT /v1/settings/sso",
                as_(&owner, Method::PUT, "/v1/settings/sso").json(&body),
                status,
            )
            .await;
    }
    for status in [204, 404] {
        script
            .step(
                "DELETE /v1/settings/sso",
                as_(&owner, Method::DELETE, "/v1/settings/sso"),
                status,
            )
            .await;
    }

    // The directory's token, and what the directory does over SCIM with it.
    let created = script
        .step(
            "POST /v1/settings/scim/tokens",
            as_(&owner, Method::POST, "/v1/settings/scim/tokens")
                .json(&json!({ "name": "Directory" })),
            201,
        )
        .await;
    script
        .step(
            "POST /v1/settings/scim/tokens",
            as_(&owner, Method::POST, "/v1/settings/scim/tokens").json(&json!({ "name": "" })),
            422,
        )
        .await;
    let directory_token = created["token"].as_str().unwrap().to_owned();
    let directory = |method: Method, path: &str, body: Option<Value>| {
        let request = stack
            .http
            .request(method, stack.url(&format!("/scim/v2{path}")))
            .bearer_auth(&directory_token);
        match body {
            Some(body) => request
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
            None => request,
        }
    };
    let scim_user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "directory-made@audit.test", "displayName": "Made By Directory",
    });
    let made = script
        .step(
            "POST /scim/v2/Users",
            directory(Method::POST, "/Users", Some(scim_user.clone())),
            201,
        )
        .await;
    script
        .step(
            "POST /scim/v2/Users",
            directory(Method::POST, "/Users", Some(scim_user)),
            409,
        )
        .await;
    let made = format!("/Users/{}", made["id"].as_str().unwrap());
    let inactive = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "active", "value": false }],
    });
    script
        .step(
            "PATCH /scim/v2/Users/{userId}",
            directory(Method::PATCH, &made, Some(inactive)),
            200,
        )
        .await;
    script
        .step(
            "PATCH /scim/v2/Users/{userId}",
            directory(Method::PATCH, &made, Some(json!({ "Operations": [] }))),
            400,
        )
        .await;
    let renamed = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "directory-made@audit.test", "displayName": "Renamed", "active": false,
    });
    script
        .step(
            "PUT /scim/v2/Users/{userId}",
            directory(Method::PUT, &made, Some(renamed)),
            200,
        )
        .await;
    let moved = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "elsewhere@audit.test",
    });
    script
        .step(
            "PUT /scim/v2/Users/{userId}",
            directory(Method::PUT, &made, Some(moved)),
            400,
        )
        .await;
    // A group is a role; under dual approval (the default) each grant asks an admin: one
    // change request, and none again for the same change.
    let made_id = made.trim_start_matches("/Users/").to_owned();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "manager", "members": [{ "value": made_id }],
    });
    script
        .step(
            "POST /scim/v2/Groups",
            directory(Method::POST, "/Groups", Some(group)),
            201,
        )
        .await;
    script
        .step(
            "POST /scim/v2/Groups",
            directory(
                Method::POST,
                "/Groups",
                Some(json!({ "displayName": "owner" })),
            ),
            400,
        )
        .await;
    let add_made = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": made_id }] }],
    });
    script
        .step_counting(
            "PATCH /scim/v2/Groups/{groupId}",
            directory(Method::PATCH, "/Groups/manager", Some(add_made)),
            200,
            0,
        )
        .await;
    script
        .step(
            "PATCH /scim/v2/Groups/{groupId}",
            directory(
                Method::PATCH,
                "/Groups/manager",
                Some(json!({ "Operations": [] })),
            ),
            400,
        )
        .await;
    script
        .step(
            "PUT /scim/v2/Groups/{groupId}",
            directory(
                Method::PUT,
                "/Groups/provider",
                Some(json!({ "displayName": "provider", "members": [{ "value": made_id }] })),
            ),
            200,
        )
        .await;
    script
        .step(
            "PUT /scim/v2/Groups/{groupId}",
            directory(
                Method::PUT,
                "/Groups/provider",
                Some(json!({ "displayName": "boss" })),
            ),
            400,
        )
        .await;
    script
        .step(
            "DELETE /scim/v2/Groups/{groupId}",
            directory(Method::DELETE, "/Groups/manager", None),
            400,
        )
        .await;
    for status in [204, 404] {
        script
            .step(
                "DELETE /scim/v2/Users/{userId}",
                directory(Method::DELETE, &made, None),
                status,
            )
            .await;
    }
    let token_path = format!(
        "/v1/settings/scim/tokens/{}",
        created["id"].as_str().unwrap()
    );
    for status in [204, 404] {
        script
            .step(
                "DELETE /v1/settings/scim/tokens/{tokenId}",
                as_(&owner, Method::DELETE, &token_path),
                status,
            )
            .await;
    }

    let own = json!({ "tenant_id": owner.tenant_id });
    script
        .step(
            "POST /v1/auth/switch",
            as_(&owner, Method::POST, "/v1/auth/switch").json(&own),
            200,
        )
        .await;
    let elsewhere = json!({ "tenant_id": "tnt_not_hers" });
    script
        .step(
            "POST /v1/auth/switch",
            as_(&owner, Method::POST, "/v1/auth/switch").json(&elsewhere),
            403,
        )
        .await;
    script
        .step(
            "POST /v1/auth/logout",
            as_(&admin, Method::POST, "/v1/auth/logout"),
            204,
        )
        .await;
    script
        .step(
            "POST /v1/auth/logout",
            as_(&admin, Method::POST, "/v1/auth/logout"),
            401,
        )
        .await;
    script
        .step(
            "POST /v1/auth/logout-all",
            as_(&owner, Method::POST, "/v1/auth/logout-all"),
            204,
        )
        .await;
    script
        .step(
            "POST /v1/auth/logout-all",
            as_(&owner, Method::POST, "/v1/auth/logout-all"),
            401,
        )
        .await;

    let template = Template::load(repository_root().join("template.yaml")).unwrap();
    let mutations: BTreeSet<String> = template
        .routes()
        .unwrap()
        .into_iter()
        .map(|(key, _, _)| key.to_string())
        .filter(|key| {
            ["POST ", "PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| key.starts_with(m))
        })
        .collect();
    let missing: Vec<&String> = mutations.difference(&script.covered).collect();
    assert!(
        missing.is_empty(),
        "mutating routes this script does not call: {missing:?}"
    );
}

/// Behind the web app's distribution (template.yaml, `OriginSecret`), a request counts and is
/// logged by its viewer's address, `CloudFront-Viewer-Address`, only when it carries the
/// distribution's secret: anyone can send the viewer header to API Gateway directly.
#[tokio::test]
async fn the_viewer_s_address_counts_only_with_the_distribution_s_secret() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Edge Co", "owner@edge.test").await;
    let secret = stack
        .stack
        .secret("OriginSecret")
        .expect("the stack generated the secret")
        .to_owned();
    // A room made with each pair of headers; its audit entry's source hash says whose address
    // counted.
    let source_of = async |name: &str, headers: &[(&str, &str)]| {
        let mut request = stack
            .as_person(&owner, Method::POST, "/v1/rooms")
            .json(&json!({ "name": name, "time_zone": "UTC", "capacity": 4 }));
        for (header, value) in headers {
            request = request.header(*header, *value);
        }
        let (status, _, room) = send(request).await;
        assert_eq!(status, 201, "{room}");
        let target = format!("room:{}", room["id"].as_str().unwrap());
        let (status, _, entries) =
            send(stack.as_person(&owner, Method::GET, &format!("/v1/audit?target={target}"))).await;
        assert_eq!(status, 200, "{entries}");
        entries["items"][0]["source_ip_hash"]
            .as_str()
            .expect("a source hash")
            .to_owned()
    };
    let viewer = ("CloudFront-Viewer-Address", "203.0.113.7:46532");
    let other_viewer = ("CloudFront-Viewer-Address", "198.51.100.9:51000");
    let proven = ("X-Steward-Origin-Secret", secret.as_str());
    let direct = source_of("Direct", &[]).await;
    let forged = source_of("Forged", &[viewer, ("X-Steward-Origin-Secret", "guess")]).await;
    let unproven = source_of("Unproven", &[viewer]).await;
    let through = source_of("Through", &[viewer, proven]).await;
    let again = source_of("Again", &[viewer, proven]).await;
    let someone_else = source_of("Someone else", &[other_viewer, proven]).await;
    assert_eq!(forged, direct, "a wrong secret: the gateway's address");
    assert_eq!(unproven, direct, "no secret: the gateway's address");
    assert_ne!(through, direct, "with the secret: the viewer's address");
    assert_eq!(again, through, "the same viewer, the same source");
    assert_ne!(someone_else, through, "another viewer, another source");
}
