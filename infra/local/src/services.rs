//! The two AWS calls of a deployment that the emulator cannot answer, answered here so that the
//! pre-traffic hook runs locally as in AWS: Lambda's `Invoke` (of the in-process functions) and
//! CodeDeploy's `PutLifecycleEventHookExecutionStatus` (recorded, for tests and `make run`).
//! The functions' SDK clients reach them through the stack's per-service endpoints.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::gateway::{Failure, invoke};
use crate::stack::{Shared, function_named};

/// Where the SDK's Lambda client is pointed (it appends `/2015-03-31/functions/...`).
pub(crate) const LAMBDA_PATH: &str = "/_local/lambda";
/// Where the SDK's CodeDeploy client is pointed (it posts to `/`, JSON 1.1).
pub(crate) const CODEDEPLOY_PATH: &str = "/_local/codedeploy";

/// The services answered here, by SDK service id, at their addresses under `base` (the stack's
/// URL).
pub(crate) fn answered_here(base: &str) -> [(&'static str, String); 2] {
    [
        ("Lambda", format!("{base}{LAMBDA_PATH}")),
        ("CodeDeploy", format!("{base}{CODEDEPLOY_PATH}")),
    ]
}

/// One status a lifecycle hook reported to CodeDeploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookReport {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
    /// `Succeeded` or `Failed` (CodeDeploy's `LifecycleEventStatus`).
    pub status: String,
}

/// `POST /2015-03-31/functions/{FunctionName}/invocations`: a synchronous invocation. The
/// name may be a name or an ARN, with or without a qualifier: every function has one version.
pub(crate) async fn invoke_function(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let Some(function) = function_named(&shared.functions, &name) else {
        return lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        );
    };
    let event: Value = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(error) => {
            return lambda_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                &format!("Could not parse request body into json: {error}"),
            );
        }
    };
    let (output, raised) = match invoke(function, event).await {
        Ok(output) => (output, None),
        Err(Failure::Error(message)) => (
            json!({ "errorType": "Runtime.Unhandled", "errorMessage": message }),
            Some("Unhandled"),
        ),
        Err(Failure::Timeout) => (
            json!({ "errorType": "Sandbox.Timedout", "errorMessage": "Task timed out" }),
            Some("Unhandled"),
        ),
    };
    let mut response = (StatusCode::OK, Json(output)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "x-amz-executed-version",
        "$LATEST".parse().expect("a header"),
    );
    if let Some(kind) = raised {
        headers.insert("x-amz-function-error", kind.parse().expect("a header"));
    }
    response
}

/// CodeDeploy's JSON 1.1 endpoint: only the call a lifecycle hook makes.
pub(crate) async fn codedeploy(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if target != "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus" {
        return json_error("UnknownOperationException", &format!("not here: {target}"));
    }
    let report: HookReport = match serde_json::from_slice(&body) {
        Ok(report) => report,
        Err(error) => return json_error("ValidationException", &error.to_string()),
    };
    if !matches!(report.status.as_str(), "Succeeded" | "Failed") {
        return json_error(
            "InvalidLifecycleEventHookExecutionStatusException",
            &format!("a hook reports Succeeded or Failed, not {}", report.status),
        );
    }
    tracing::info!(
        deployment = %report.deployment_id,
        status = %report.status,
        "a lifecycle hook reported"
    );
    let id = report.lifecycle_event_hook_execution_id.clone();
    shared
        .hook_reports
        .lock()
        .expect("not poisoned")
        .push(report);
    (
        [("content-type", "application/x-amz-json-1.1")],
        Json(json!({ "lifecycleEventHookExecutionId": id })),
    )
        .into_response()
}

fn lambda_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("x-amzn-errortype", kind)],
        Json(json!({ "Type": "User", "message": message })),
    )
        .into_response()
}

fn json_error(kind: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.1")],
        Json(json!({ "__type": kind, "message": message })),
    )
        .into_response()
}
