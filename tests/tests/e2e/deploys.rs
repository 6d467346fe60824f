//! The canary's pre-traffic hook (DeployCheckFunction), invoked through the local stack as
//! CodeDeploy invokes it: Lambda's `Invoke` with CodeDeploy's hook event, the hook invoking the
//! release's versions and reporting to CodeDeploy's `PutLifecycleEventHookExecutionStatus`
//! (both answered by the local stack, services.rs).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::primitives::Blob;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use steward_access::deploy_check::{DEPLOY_CHECK_TENANT, DEPLOY_CHECK_USER};
use steward_e2e::TestStack;
use steward_e2e::faults::{Fault, faulty_stack};
use steward_kit::runtime::{Error, Function, erase};
use steward_local::HookReport;
use steward_store::identity::IdentityStore;

/// What the hook answered, and whether Lambda reported it raised an error.
async fn invoke_hook(stack: &TestStack, event: Value) -> (Value, bool) {
    // As CodeDeploy does, wait out the hook's own timeout (a minute): with its store down, its
    // store calls use their retries first.
    let hook_timeout = Duration::from_secs(60);
    let config = aws_sdk_lambda::config::Builder::from(stack.aws())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(hook_timeout)
                .operation_attempt_timeout(hook_timeout)
                .build(),
        )
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(config);
    let answer = lambda
        .invoke()
        .function_name(stack.stack.physical_name("DeployCheckFunction"))
        .payload(Blob::new(serde_json::to_vec(&event).unwrap()))
        .send()
        .await
        .expect("the local stack answers Invoke");
    let payload = answer.payload().expect("an answer").as_ref();
    (
        serde_json::from_slice(payload).unwrap(),
        answer.function_error().is_some(),
    )
}

fn hook_event(deployment: &str, execution: &str) -> Value {
    json!({ "DeploymentId": deployment, "LifecycleEventHookExecutionId": execution })
}

fn report(deployment: &str, execution: &str, status: &str) -> HookReport {
    HookReport {
        deployment_id: deployment.into(),
        lifecycle_event_hook_execution_id: execution.into(),
        status: status.into(),
    }
}

/// The checks of a verdict, by whether they passed.
fn checks(verdict: &Value, passed: bool) -> BTreeSet<String> {
    verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["passed"] == passed)
        .map(|check| check["check"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_pre_traffic_hook_passes_a_healthy_release_and_fails_one_whose_store_is_down() {
    let (proxy, stack) = faulty_stack().await;

    let (verdict, raised) = invoke_hook(&stack, hook_event("d-HEALTHY", "hook-1")).await;
    assert!(!raised, "{verdict}");
    assert_eq!(verdict["passed"], true, "{verdict:#}");
    assert_eq!(
        checks(&verdict, true),
        BTreeSet::from(
            [
                "health",
                "authorizer: a live session",
                "authorizer: a forged token",
                "identity",
                "access",
                "rooms",
                "credentials",
                "notifications",
                "licensing",
                "operations",
                "terminals",
            ]
            .map(String::from)
        ),
        "{verdict:#}"
    );
    assert_eq!(
        stack.stack.hook_reports(),
        [report("d-HEALTHY", "hook-1", "Succeeded")]
    );
    // The check's session is ended with it.
    let identity = IdentityStore::new(stack.table.clone());
    let sessions = identity
        .sessions(DEPLOY_CHECK_TENANT, DEPLOY_CHECK_USER)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(
        sessions.iter().all(|s| s.status == "revoked"),
        "{sessions:?}"
    );

    // Run again, the principal is there already: the same verdict.
    let (again, _) = invoke_hook(&stack, hook_event("d-AGAIN", "hook-2")).await;
    assert_eq!(again["passed"], true, "{again:#}");

    // The store down: the release cannot serve, and CodeDeploy is told so.
    proxy.break_down(Fault::ServerError);
    let (verdict, raised) = invoke_hook(&stack, hook_event("d-DOWN", "hook-3")).await;
    proxy.heal();
    assert!(
        !raised,
        "a failed check is a verdict, not an error: {verdict}"
    );
    assert_eq!(verdict["passed"], false, "{verdict:#}");
    let failed = checks(&verdict, false);
    for check in ["session", "health", "identity", "rooms"] {
        assert!(failed.contains(check), "{check} did not fail: {verdict:#}");
    }
    // What needs no store still answers: the terminal API refuses an unsigned request.
    assert!(checks(&verdict, true).contains("terminals"), "{verdict:#}");
    assert_eq!(
        stack.stack.hook_reports().last(),
        Some(&report("d-DOWN", "hook-3", "Failed"))
    );

    // An event that is not CodeDeploy's is an error, and reports nothing.
    let (error, raised) = invoke_hook(&stack, json!({ "DeploymentId": "d-X" })).await;
    assert!(raised, "{error}");
    assert_eq!(stack.stack.hook_reports().len(), 3);
}

/// A rooms function that fails every invocation: a release that cannot serve one function.
struct BrokenRooms;

impl Function for BrokenRooms {
    type Event = Value;
    type Output = Value;

    async fn call(&self, _event: LambdaEvent<Value>) -> Result<Value, Error> {
        Err("a release whose rooms function cannot start its handler".into())
    }
}

#[tokio::test]
async fn a_release_with_one_broken_function_fails_its_pre_traffic_check() {
    let stack = TestStack::start_with(|options| {
        options
            .registry
            .insert("rooms", |_, _| Ok(erase(BrokenRooms)));
    })
    .await;
    let (verdict, raised) = invoke_hook(&stack, hook_event("d-BROKEN", "hook-1")).await;
    assert!(!raised, "{verdict}");
    assert_eq!(verdict["passed"], false, "{verdict:#}");
    assert_eq!(
        checks(&verdict, false),
        BTreeSet::from(["rooms".to_owned()]),
        "{verdict:#}"
    );
    let rooms = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["check"] == "rooms")
        .unwrap();
    assert!(
        rooms["detail"].as_str().unwrap().starts_with("raised"),
        "{rooms}"
    );
    assert_eq!(
        stack.stack.hook_reports(),
        [report("d-BROKEN", "hook-1", "Failed")]
    );
}
