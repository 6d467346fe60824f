//! Cold start per function (issue 8, benchmark 1): each release binary is started as Lambda
//! starts it, under a local Runtime API ([`crate::runtime_api`]), against the local stack's
//! emulator with the environment the template gives it. Timed from exec to its first poll for an
//! event (init) and to its answer to that event; against two floors built the same way, in the
//! same run, runs interleaved: a hello-world `lambda_runtime` binary and one that also builds the
//! SDK clients (`floor-hello`, `floor-sdk`).
//!
//! The event each function gets: the first of its schedules' events, an empty SQS batch, a
//! request to one of its routes without an identity (answered 401 by the guard; `GET
//! /v1/health`, which reads the table, for the function that has it), for the authorizer a
//! request with a token that does not verify, or for the deploy check CodeDeploy's hook event
//! (its checks fail here, where nothing answers Lambda's `Invoke`: its init is what counts).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use steward_kit::config::Env;
use steward_template::{FunctionEvent, Template};

use crate::runtime_api::{Outcome, RuntimeApi};

/// What one binary is given, and how many times it is started.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub binary: PathBuf,
    pub environment: Vec<(String, String)>,
    pub event: Value,
    pub event_kind: EventKind,
    /// A program the binary is started under, with its arguments before the binary's path
    /// (qemu-user for an arm64 build); empty: the binary is executed itself.
    pub launcher: Vec<String>,
    /// Where the process's output goes; none: discarded.
    pub log: Option<PathBuf>,
}

/// Which event a function is started with: what it must answer follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Schedule,
    EmptyBatch,
    Health,
    HttpWithoutIdentity,
    AuthorizerBadToken,
    CodeDeployHook,
    Floor,
}

impl EventKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::EmptyBatch => "sqs (empty batch)",
            Self::Health => "GET /v1/health",
            Self::HttpWithoutIdentity => "http (no identity)",
            Self::AuthorizerBadToken => "authorizer (bad token)",
            Self::CodeDeployHook => "codedeploy hook",
            Self::Floor => "floor",
        }
    }
}

/// One start: milliseconds from exec to init done and to the answer.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub init_ms: f64,
    pub answer_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub name: String,
    pub binary: String,
    pub event: &'static str,
    pub binary_bytes: u64,
    pub runs: usize,
    pub init_ms_median: f64,
    pub init_ms_min: f64,
    pub answer_ms_median: f64,
    pub answer_ms_min: f64,
    /// Runs whose event the function reported as an error (its answer was still timed).
    pub failed: usize,
    /// What the last run answered (its first 160 bytes), to show the event was handled.
    pub answer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ColdStartError {
    #[error("{0}: {1}")]
    Start(String, std::io::Error),
    #[error("{0} never asked for its event within {WAIT:?}")]
    NeverReady(String),
    #[error("{0} never answered its event within {WAIT:?}")]
    NeverAnswered(String),
}

const WAIT: Duration = Duration::from_secs(20);

/// The lifecycle hook execution the deploy check is started for.
pub const HOOK_EXECUTION_ID: &str = "bench";

/// The process's standard output and error: into the subject's log, or nowhere.
fn output(subject: &Subject) -> Result<(Stdio, Stdio), ColdStartError> {
    let Some(path) = &subject.log else {
        return Ok((Stdio::null(), Stdio::null()));
    };
    let fail = |e| ColdStartError::Start(format!("{} (log {})", subject.name, path.display()), e);
    let file = std::fs::File::create(path).map_err(fail)?;
    let copy = file.try_clone().map_err(fail)?;
    Ok((Stdio::from(file), Stdio::from(copy)))
}

/// Starts `subject` once; the process is killed once it has answered.
pub async fn start_once(subject: &Subject) -> Result<(Start, Outcome), ColdStartError> {
    let mut api = RuntimeApi::serve(serde_json::to_vec(&subject.event).unwrap_or_default())
        .await
        .map_err(|e| ColdStartError::Start(subject.name.clone(), e))?;
    let (stdout, stderr) = output(subject)?;
    let mut command = match subject.launcher.split_first() {
        Some((program, arguments)) => {
            let mut command = tokio::process::Command::new(program);
            command.args(arguments).arg(&subject.binary);
            command
        }
        None => tokio::process::Command::new(&subject.binary),
    };
    command
        .env_clear()
        // lambda_runtime refuses to start without it; the functions' own name overrides it.
        .env("AWS_LAMBDA_FUNCTION_NAME", &subject.name)
        .envs(subject.environment.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| ColdStartError::Start(subject.name.clone(), e))?;
    let ready_at = tokio::time::timeout(WAIT, &mut api.ready)
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| ColdStartError::NeverReady(subject.name.clone()))?;
    let (answered_at, outcome) = tokio::time::timeout(WAIT, &mut api.done)
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| ColdStartError::NeverAnswered(subject.name.clone()))?;
    let _ = child.kill().await;
    let ms = |at: Instant| at.duration_since(started).as_secs_f64() * 1_000.0;
    Ok((
        Start {
            init_ms: ms(ready_at),
            answer_ms: ms(answered_at),
        },
        outcome,
    ))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Starts every subject `runs` times, round-robin so that a noisy moment hits all alike.
pub async fn measure(subjects: &[Subject], runs: usize) -> Result<Vec<Summary>, ColdStartError> {
    let mut starts: Vec<Vec<Start>> = vec![Vec::new(); subjects.len()];
    let mut failed = vec![0; subjects.len()];
    let mut answers = vec![String::new(); subjects.len()];
    // One unmeasured start each: the binary's pages in the OS cache, as on a warm Lambda host.
    eprintln!(
        "cold start: one unmeasured start of each of {} binaries",
        subjects.len()
    );
    for subject in subjects {
        start_once(subject).await?;
    }
    for round in 1..=runs {
        // A round starts every subject once, interleaved; a long loop says how far it is.
        eprintln!(
            "cold start: round {round} of {runs} ({} binaries)",
            subjects.len()
        );
        for (i, subject) in subjects.iter().enumerate() {
            let (start, outcome) = start_once(subject).await?;
            starts[i].push(start);
            let (body, error) = match outcome {
                Outcome::Answered(body) => (body, false),
                Outcome::Failed(body) => (body, true),
            };
            failed[i] += usize::from(error);
            answers[i] = String::from_utf8_lossy(&body[..body.len().min(160)]).into_owned();
        }
    }
    Ok(subjects
        .iter()
        .zip(starts)
        .zip(failed)
        .zip(answers)
        .map(|(((subject, starts), failed), last_answer)| {
            let mut init: Vec<f64> = starts.iter().map(|s| s.init_ms).collect();
            let mut answer: Vec<f64> = starts.iter().map(|s| s.answer_ms).collect();
            Summary {
                name: subject.name.clone(),
                binary: subject.binary.display().to_string(),
                event: subject.event_kind.label(),
                binary_bytes: std::fs::metadata(&subject.binary).map_or(0, |m| m.len()),
                runs: starts.len(),
                init_ms_median: median(&mut init),
                init_ms_min: init[0],
                answer_ms_median: median(&mut answer),
                answer_ms_min: answer[0],
                failed,
                answer: last_answer,
            }
        })
        .collect())
}

/// The event `function` is started with, and what kind it is.
pub fn event_for(stack_name: &str, function: &steward_template::Function) -> (Value, EventKind) {
    let mut routes = Vec::new();
    for (name, event) in &function.events {
        match event {
            FunctionEvent::Schedule(schedule) => {
                let event = steward_local::scheduled_event(
                    stack_name,
                    &function.logical_id,
                    name,
                    schedule,
                    None,
                );
                return (event, EventKind::Schedule);
            }
            FunctionEvent::Queue(_) => return (json!({ "Records": [] }), EventKind::EmptyBatch),
            FunctionEvent::Http { route, .. } => routes.push(route.to_string()),
        }
    }
    // The canary's pre-traffic hook has no trigger in the template: CodeDeploy invokes it.
    if function.binary == "deploy-check" {
        let hook = json!({
            "DeploymentId": "d-BENCH",
            "LifecycleEventHookExecutionId": HOOK_EXECUTION_ID,
        });
        return (hook, EventKind::CodeDeployHook);
    }
    if routes.is_empty() {
        return (authorizer_request(), EventKind::AuthorizerBadToken);
    }
    match routes.iter().find(|r| *r == "GET /v1/health") {
        Some(health) => (http_request(health), EventKind::Health),
        None => {
            let first = routes
                .iter()
                .find(|r| r.starts_with("GET "))
                .unwrap_or(&routes[0]);
            (http_request(first), EventKind::HttpWithoutIdentity)
        }
    }
}

/// An HTTP API (payload 2.0) request for `route_key`, its path parameters filled with `x`.
fn http_request(route_key: &str) -> Value {
    let (method, pattern) = route_key.split_once(' ').unwrap_or(("GET", route_key));
    let mut parameters = serde_json::Map::new();
    let path: Vec<String> = pattern
        .split('/')
        .map(|segment| match segment.strip_prefix('{') {
            Some(name) => {
                let name = name.trim_end_matches('}').trim_end_matches('+');
                parameters.insert(name.to_owned(), json!("x"));
                "x".to_owned()
            }
            None => segment.to_owned(),
        })
        .collect();
    let path = path.join("/");
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "accept": "application/json", "host": "api.steward.example" },
        "pathParameters": parameters,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "api.steward.example",
            "domainPrefix": "api",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "steward-bench" },
            "requestId": "bench", "routeKey": route_key, "stage": "$default",
            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 1_795_510_800_000_u64
        },
        "isBase64Encoded": false
    })
}

/// An HTTP API authorizer request (payload 2.0) whose token does not verify.
fn authorizer_request() -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:000000000000:bench/$default/GET/v1/me",
        "identitySource": ["Bearer not-a-token"],
        "routeKey": "GET /v1/me",
        "rawPath": "/v1/me",
        "rawQueryString": "",
        "headers": { "authorization": "Bearer not-a-token" },
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "api.steward.example",
            "http": { "method": "GET", "path": "/v1/me", "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "steward-bench" },
            "requestId": "bench", "routeKey": "GET /v1/me", "stage": "$default",
            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 1_795_510_800_000_u64
        }
    })
}

/// `env` (a function's, or none for a floor) with the AWS settings every process gets.
fn with_aws(
    env: Option<&Env>,
    aws_environment: &[(&'static str, String)],
) -> Vec<(String, String)> {
    env.into_iter()
        .flat_map(|env| env.vars())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain(
            aws_environment
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone())),
        )
        .collect()
}

/// Every function of `template` (its binary `binary_of` it), with the environment `stack` gave
/// it.
pub fn function_subjects(
    template: &Template,
    stack: &steward_local::Stack,
    aws_environment: &[(&'static str, String)],
    binary_of: impl Fn(&steward_template::Function) -> PathBuf,
    stack_name: &str,
) -> Vec<Subject> {
    let environments: std::collections::BTreeMap<&str, &Env> = stack
        .functions()
        .map(|(logical_id, _, env)| (logical_id, env))
        .collect();
    template
        .functions
        .iter()
        .map(|function| {
            let (event, event_kind) = event_for(stack_name, function);
            let env = environments.get(function.logical_id.as_str()).copied();
            Subject {
                name: function.logical_id.clone(),
                binary: binary_of(function),
                environment: with_aws(env, aws_environment),
                event,
                event_kind,
                launcher: Vec::new(),
                log: None,
            }
        })
        .collect()
}

/// Every function of `template` (its binary in `binaries`), then the two floors.
pub fn subjects(
    template: &Template,
    stack: &steward_local::Stack,
    aws_environment: &[(&'static str, String)],
    binaries: &Path,
    stack_name: &str,
) -> Vec<Subject> {
    let binary_of = |function: &steward_template::Function| binaries.join(&function.binary);
    let mut subjects = function_subjects(template, stack, aws_environment, binary_of, stack_name);
    for floor in ["floor-hello", "floor-sdk"] {
        subjects.push(Subject {
            name: floor.to_owned(),
            binary: binaries.join(floor),
            environment: with_aws(None, aws_environment),
            event: json!({}),
            event_kind: EventKind::Floor,
            launcher: Vec::new(),
            log: None,
        });
    }
    subjects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_key_becomes_a_request_with_its_parameters_filled() {
        let request = http_request("POST /v1/rooms/{roomId}/closures");
        assert_eq!(request["rawPath"], "/v1/rooms/x/closures");
        assert_eq!(request["pathParameters"], json!({ "roomId": "x" }));
        assert_eq!(request["requestContext"]["http"]["method"], "POST");
    }
}
