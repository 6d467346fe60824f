//! The room catalogue through the gateway (SPEC §C, §F): create, read, list, change with
//! If-Match, archive; every field's problem named; the licence's room limit held under
//! concurrent creations.

use futures::future::join_all;
use http::Method;
use serde_json::{Value, json};
use steward_e2e::{Person, TestStack, send};

fn orion() -> Value {
    json!({
        "name": "Orion", "site": "Leeds", "building": "North", "floor": "2",
        "time_zone": "Europe/London", "capacity": 8, "equipment": ["Projector", "video-conf"],
        "rules": { "min_duration_minutes": 30, "buffer_after_minutes": 10 },
    })
}

async fn create(
    stack: &TestStack,
    who: &Person,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    send(stack.as_person(who, Method::POST, "/v1/rooms").json(body)).await
}

#[tokio::test]
async fn rooms_are_created_read_listed_changed_with_if_match_and_archived() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Room Co", "owner@rooms.test").await;
    let (status, headers, room) = create(&stack, &owner, &orion()).await;
    assert_eq!(status, 201, "{room}");
    let id = room["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["location"], format!("/v1/rooms/{id}").as_str());
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(room["equipment"], json!(["projector", "video-conf"]));
    assert_eq!(room["rules"]["min_duration_minutes"], 30);
    assert_eq!(
        room["rules"]["max_duration_minutes"], 480,
        "defaults fill the rest"
    );

    let (status, _, listed) = send(stack.as_person(&owner, Method::GET, "/v1/rooms")).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let (_, licence) = {
        let (s, _, l) = send(stack.as_person(&owner, Method::GET, "/v1/licence")).await;
        (s, l)
    };
    assert_eq!(licence["usage"]["rooms"], 1);

    // A change needs the current ETag: none is 428, a stale one 412, and neither changes it.
    let path = format!("/v1/rooms/{id}");
    let mut renamed = orion();
    renamed["name"] = json!("Orion Suite");
    let (status, _, problem) =
        send(stack.as_person(&owner, Method::PUT, &path).json(&renamed)).await;
    assert_eq!(status, 428, "{problem}");
    let (status, _, problem) = send(
        stack
            .as_person(&owner, Method::PUT, &path)
            .header("if-match", "\"7\"")
            .json(&renamed),
    )
    .await;
    assert_eq!(status, 412, "{problem}");
    let (status, headers, changed) = send(
        stack
            .as_person(&owner, Method::PUT, &path)
            .header("if-match", "\"1\"")
            .json(&renamed),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["name"].as_str(), headers["etag"].to_str().unwrap()),
        (Some("Orion Suite"), "\"2\"")
    );
    let (status, _, _) = send(
        stack
            .as_person(&owner, Method::PUT, &path)
            .header("if-match", "\"1\"")
            .json(&renamed),
    )
    .await;
    assert_eq!(status, 412, "the first ETag is spent");

    // A member sees rooms but cannot manage them; another tenant sees nothing.
    let member = stack.join(&owner, "member@rooms.test", &["member"]).await;
    let (status, _, _) = send(stack.as_person(&member, Method::GET, &path)).await;
    assert_eq!(status, 200);
    let (status, _, refused) = create(&stack, &member, &orion()).await;
    assert_eq!(
        (status, refused["missing_permission"].as_str()),
        (403, Some("rooms:manage"))
    );
    let stranger = stack.sign_up("Other Co", "owner@other.test").await;
    let (status, _, _) = send(stack.as_person(&stranger, Method::GET, &path)).await;
    assert_eq!(status, 404);

    // Archived: gone from the catalogue, its place given back.
    let (status, _, _) = send(
        stack
            .as_person(&owner, Method::DELETE, &path)
            .header("if-match", "\"2\""),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = send(stack.as_person(&owner, Method::GET, &path)).await;
    assert_eq!(status, 404);
    let (_, _, licence) = send(stack.as_person(&owner, Method::GET, "/v1/licence")).await;
    assert_eq!(licence["usage"]["rooms"], 0);
}

#[tokio::test]
async fn bad_rooms_are_refused_field_by_field_and_nothing_is_written() {
    let stack = TestStack::start().await;
    let owner = stack.sign_up("Bad Rooms", "owner@badrooms.test").await;
    let (status, _, problem) = create(
        &stack,
        &owner,
        &json!({ "name": "", "time_zone": "Europe/Atlantis", "capacity": 0,
                 "rules": { "min_duration_minutes": 60, "max_duration_minutes": 30 } }),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "time_zone",
            "capacity",
            "rules.max_duration_minutes"
        ]
    );
    let (status, _, problem) = create(
        &stack,
        &owner,
        &json!({ "name": "X", "time_zone": "UTC", "capacity": 2, "colour": "red" }),
    )
    .await;
    assert_eq!(status, 422, "unknown fields are refused: {problem}");
    let (_, _, listed) = send(stack.as_person(&owner, Method::GET, "/v1/rooms")).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn thirty_concurrent_rooms_for_the_last_place_admit_exactly_one() {
    let stack = TestStack::start_with(|options| {
        for (name, value) in [
            ("LicensingEnforcementEnabled", "true"),
            ("LicensingRolloutStage", "general_availability"),
            ("AuthorizerCacheSeconds", "0"),
        ] {
            options
                .parameter_overrides
                .insert(name.into(), value.into());
        }
    })
    .await;
    let owner = stack.sign_up("Full Rooms", "owner@fullrooms.test").await;
    let (_, _, licence) = send(stack.as_person(&owner, Method::GET, "/v1/licence")).await;
    let allowed = licence["limits"]["rooms"].as_u64().unwrap();
    for i in 0..allowed - 1 {
        let mut body = orion();
        body["name"] = json!(format!("Room {i}"));
        assert_eq!(create(&stack, &owner, &body).await.0, 201);
    }
    let answers = join_all((0..30).map(|i| {
        let mut body = orion();
        body["name"] = json!(format!("Race {i}"));
        let request = stack
            .as_person(&owner, Method::POST, "/v1/rooms")
            .json(&body);
        async move { send(request).await }
    }))
    .await;
    let created = answers.iter().filter(|(s, _, _)| *s == 201).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _, _)| *s == 402)
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!((created, refused.len()), (1, 29), "{answers:?}");
    assert_eq!(refused[0]["limit"]["name"], "rooms");
    assert_eq!(refused[0]["limit"]["allowed"], allowed);
    let (_, _, licence) = send(stack.as_person(&owner, Method::GET, "/v1/licence")).await;
    assert_eq!(licence["usage"]["rooms"], allowed);
}
