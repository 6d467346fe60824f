//! The platform handler on the sample events of events/ (what `cargo lambda invoke
//! --data-file` sends), through the same JSON entry point Lambda uses.

use serde_json::Value;
use steward_kit::config::Env;
use steward_kit::runtime::erase;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/http/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn env() -> Env {
    Env::from_pairs([
        ("STEWARD_TABLE", "steward-Table"),
        ("STEWARD_SIGNING_SECRET", "0123456789abcdef0123456789abcdef"),
        ("AWS_LAMBDA_FUNCTION_NAME", "steward-PlatformFunction"),
    ])
}

#[tokio::test]
async fn the_wrong_method_sample_answers_a_405_problem() {
    // An SDK configuration that reaches nothing: the fallback makes no AWS call.
    let aws = steward_store::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let function = erase(steward_platform::init(&env(), &aws).unwrap());
    let answer = function
        .invoke(sample("wrong-method.json"), Default::default())
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 405);
    assert_eq!(answer["headers"]["allow"], "GET, OPTIONS");
    assert_eq!(
        answer["headers"]["content-type"],
        "application/problem+json"
    );
    let problem: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(problem["type"], "urn:steward:problem:method-not-allowed");
    assert_eq!(problem["request_id"], "JKJaXmPLvHcESHB=");
}

#[test]
fn a_bad_configuration_fails_the_init_naming_the_variable() {
    let aws = steward_store::SdkConfig::builder().build();
    let mut env = env();
    env.set("STEWARD_SIGNING_SECRET", "short");
    let error = steward_platform::init(&env, &aws)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("at least 32"), "{error}");
    let error = steward_platform::init(&Env::default(), &aws)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("STEWARD_TABLE"), "{error}");
}

#[test]
fn the_health_sample_is_a_valid_api_gateway_event() {
    let event: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        serde_json::from_value(sample("health.json")).unwrap();
    assert_eq!(event.route_key.as_deref(), Some("GET /v1/health"));
}
