//! The parts of a SAM template Steward runs: parameters, globals, resources, functions and
//! their events.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use crate::route::{Method, RouteError, RouteKey, RoutePattern};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template is not valid YAML of the expected shape: {0}")]
    Syntax(#[from] serde_yaml_ng::Error),
    #[error("function {function}: {problem}")]
    Function { function: String, problem: String },
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("route {route} is declared twice ({first} and {second})")]
    DuplicateRoute {
        route: String,
        first: String,
        second: String,
    },
    #[error("parameter {name}: {problem}")]
    Parameter { name: String, problem: String },
    #[error("no parameter or resource is named {0}")]
    UnknownReference(String),
    #[error("not supported here: {0}")]
    Unsupported(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub allowed_values: Vec<Value>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub properties: Value,
    #[serde(default)]
    pub metadata: Value,
}

impl Resource {
    /// A property by path, such as `["RedrivePolicy", "maxReceiveCount"]`.
    pub fn property(&self, path: &[&str]) -> Option<&Value> {
        path.iter()
            .try_fold(&self.properties, |value, key| value.get(*key))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTemplate {
    #[serde(default)]
    parameters: BTreeMap<String, Parameter>,
    #[serde(default)]
    globals: Value,
    #[serde(default)]
    resources: BTreeMap<String, Resource>,
}

/// How a route is authorized: the API's default authorizer, none, or a named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAuth {
    ApiDefault,
    None,
    Named(String),
}

#[derive(Debug, Clone)]
pub struct QueueTrigger {
    /// The queue's ARN, still to resolve (usually `!GetAtt Queue.Arn`).
    pub queue: Value,
    pub batch_size: u32,
    pub maximum_batching_window_seconds: u32,
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: how many batches may run at once.
    pub maximum_concurrency: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    /// `rate(...)` or `cron(...)`, as EventBridge takes it.
    pub expression: String,
    pub input: Option<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub enum FunctionEvent {
    Http { route: RouteKey, auth: HttpAuth },
    Queue(QueueTrigger),
    Schedule(Schedule),
}

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// The cargo binary that is this function (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Globals merged with the function's own variables, values still to resolve.
    pub environment: BTreeMap<String, Value>,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    /// By event name.
    pub events: BTreeMap<String, FunctionEvent>,
}

/// A Lambda authorizer of the HTTP API (payload format 2.0).
#[derive(Debug, Clone)]
pub struct Authorizer {
    /// The authorizer function's ARN, still to resolve (usually `!GetAtt Function.Arn`).
    pub function_arn: Value,
    /// Request headers that carry the identity; a request missing one is refused with 401.
    pub identity_headers: Vec<String>,
    /// How long a decision is cached per identity (`ReauthorizeEvery`, still to resolve; absent: 0).
    pub ttl_seconds: Option<Value>,
    pub simple_responses: bool,
}

/// The HTTP API's authorizers and its default one.
#[derive(Debug, Clone, Default)]
pub struct ApiAuth {
    pub authorizers: BTreeMap<String, Authorizer>,
    pub default_authorizer: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, Parameter>,
    pub resources: BTreeMap<String, Resource>,
    pub functions: Vec<Function>,
    pub api_auth: ApiAuth,
}

impl Template {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let raw: RawTemplate = serde_yaml_ng::from_str(text)?;
        let function_globals = raw.globals.get("Function").cloned().unwrap_or(Value::Null);
        let mut functions = Vec::new();
        for (logical_id, resource) in &raw.resources {
            if resource.kind == "AWS::Serverless::Function" {
                functions.push(read_function(logical_id, resource, &function_globals)?);
            }
        }
        let api_auth = read_api_auth(&raw.resources)?;
        let template = Self {
            parameters: raw.parameters,
            resources: raw.resources,
            functions,
            api_auth,
        };
        for (route, function, auth) in template.routes()? {
            if let HttpAuth::Named(name) = &auth
                && !template.api_auth.authorizers.contains_key(name)
            {
                return Err(TemplateError::Function {
                    function: function.logical_id.clone(),
                    problem: format!(
                        "route {route} names authorizer {name}, which the HttpApi does not declare"
                    ),
                });
            }
        }
        Ok(template)
    }

    /// Every HTTP route with the function that serves it and how it is authorized.
    pub fn routes(&self) -> Result<Vec<(RouteKey, &Function, HttpAuth)>, TemplateError> {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        let mut routes = Vec::new();
        for function in &self.functions {
            for event in function.events.values() {
                if let FunctionEvent::Http { route, auth } = event {
                    if let Some(first) = seen.insert(route.to_string(), &function.logical_id) {
                        return Err(TemplateError::DuplicateRoute {
                            route: route.to_string(),
                            first: first.to_owned(),
                            second: function.logical_id.clone(),
                        });
                    }
                    routes.push((route.clone(), function, auth.clone()));
                }
            }
        }
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(routes)
    }

    /// The repository's template.yaml, read.
    pub fn repository() -> Result<Self, TemplateError> {
        Self::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
    }

    /// The HTTP routes (`"METHOD /path"`) the template gives `logical_id`, sorted.
    pub fn routes_of(&self, logical_id: &str) -> Vec<String> {
        let mut routes: Vec<String> = self
            .function(logical_id)
            .into_iter()
            .flat_map(|function| function.events.values())
            .filter_map(|event| match event {
                FunctionEvent::Http { route, .. } => Some(route.to_string()),
                _ => None,
            })
            .collect();
        routes.sort();
        routes
    }

    /// Panics, naming the differences, unless `declared` (a crate's route table) are exactly
    /// the routes the repository's template gives `logical_id`: the test each function crate
    /// makes that what it dispatches is what is deployed to it.
    pub fn assert_routes(logical_id: &str, declared: &[&str]) {
        let template = Self::repository().expect("template.yaml reads");
        let deployed = template.routes_of(logical_id);
        let mut declared: Vec<String> = declared.iter().map(|r| (*r).to_owned()).collect();
        declared.sort();
        let missing: Vec<&String> = deployed.iter().filter(|r| !declared.contains(r)).collect();
        let extra: Vec<&String> = declared.iter().filter(|r| !deployed.contains(r)).collect();
        assert!(
            missing.is_empty() && extra.is_empty() && !declared.is_empty(),
            "{logical_id}: routes the template gives it but its table lacks: {missing:?}; \
             routes its table declares but the template does not give it: {extra:?}"
        );
    }

    pub fn function(&self, logical_id: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    /// Parameter values: the defaults, overridden as `sam deploy --parameter-overrides` would,
    /// each checked against its allowed values.
    pub fn parameter_values(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        if let Some(unknown) = overrides
            .keys()
            .find(|name| !self.parameters.contains_key(*name))
        {
            return Err(TemplateError::Parameter {
                name: unknown.clone(),
                problem: "no such parameter".into(),
            });
        }
        let mut values = BTreeMap::new();
        for (name, parameter) in &self.parameters {
            let value = match overrides.get(name) {
                Some(value) => value.clone(),
                None => match &parameter.default {
                    Some(default) => scalar(default).ok_or_else(|| TemplateError::Parameter {
                        name: name.clone(),
                        problem: "default is not a scalar".into(),
                    })?,
                    None => {
                        return Err(TemplateError::Parameter {
                            name: name.clone(),
                            problem: "no value and no default".into(),
                        });
                    }
                },
            };
            let allowed: Vec<String> = parameter.allowed_values.iter().filter_map(scalar).collect();
            if !allowed.is_empty() && !allowed.contains(&value) {
                return Err(TemplateError::Parameter {
                    name: name.clone(),
                    problem: format!("{value:?} is not one of {allowed:?}"),
                });
            }
            values.insert(name.clone(), value);
        }
        Ok(values)
    }
}

fn read_api_auth(resources: &BTreeMap<String, Resource>) -> Result<ApiAuth, TemplateError> {
    let mut auth = ApiAuth::default();
    for (id, resource) in resources
        .iter()
        .filter(|(_, r)| r.kind == "AWS::Serverless::HttpApi")
    {
        let Some(declared) = resource.property(&["Auth"]) else {
            continue;
        };
        let problem = |problem: String| TemplateError::Function {
            function: id.clone(),
            problem,
        };
        auth.default_authorizer = declared
            .get("DefaultAuthorizer")
            .and_then(Value::as_str)
            .map(str::to_owned);
        for (name, authorizer) in declared
            .get("Authorizers")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default().to_owned();
            let function_arn = authorizer
                .get("FunctionArn")
                .cloned()
                .ok_or_else(|| problem(format!("authorizer {name} has no FunctionArn")))?;
            let identity = authorizer.get("Identity");
            let identity_headers = identity
                .and_then(|i| i.get("Headers"))
                .and_then(Value::as_sequence)
                .map(|headers| {
                    headers
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect()
                })
                .unwrap_or_default();
            let ttl_seconds = identity.and_then(|i| i.get("ReauthorizeEvery")).cloned();
            let simple_responses = authorizer
                .get("EnableSimpleResponses")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !simple_responses {
                return Err(problem(format!(
                    "authorizer {name}: only simple responses (EnableSimpleResponses) are run locally"
                )));
            }
            auth.authorizers.insert(
                name,
                Authorizer {
                    function_arn,
                    identity_headers,
                    ttl_seconds,
                    simple_responses,
                },
            );
        }
        if let Some(default) = &auth.default_authorizer
            && !auth.authorizers.contains_key(default)
        {
            return Err(problem(format!(
                "DefaultAuthorizer {default} is not declared"
            )));
        }
    }
    Ok(auth)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn read_function(
    logical_id: &str,
    resource: &Resource,
    globals: &Value,
) -> Result<Function, TemplateError> {
    let problem = |problem: String| TemplateError::Function {
        function: logical_id.to_owned(),
        problem,
    };
    let binary = resource
        .metadata
        .get("BuildProperties")
        .and_then(|p| p.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| problem("Metadata.BuildProperties.Binary names no cargo binary".into()))?
        .to_owned();
    let own = &resource.properties;
    let number = |key: &str, default: u64| {
        own.get(key)
            .or_else(|| globals.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(default)
    };
    let mut environment = BTreeMap::new();
    for source in [globals, own] {
        if let Some(variables) = source
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
        {
            for (name, value) in variables {
                let name = name.as_str().ok_or_else(|| {
                    problem("an environment variable name is not a string".into())
                })?;
                environment.insert(name.to_owned(), value.clone());
            }
        }
    }
    let mut events = BTreeMap::new();
    if let Some(declared) = own.get("Events").and_then(Value::as_mapping) {
        for (name, event) in declared {
            let name = name.as_str().unwrap_or_default().to_owned();
            let event =
                read_event(event).map_err(|message| problem(format!("event {name}: {message}")))?;
            events.insert(name, event);
        }
    }
    Ok(Function {
        logical_id: logical_id.to_owned(),
        binary,
        environment,
        timeout_seconds: number("Timeout", 3),
        memory_mb: number("MemorySize", 128),
        events,
    })
}

fn read_event(event: &Value) -> Result<FunctionEvent, String> {
    let kind = event
        .get("Type")
        .and_then(Value::as_str)
        .ok_or("has no Type")?;
    let empty = Value::Mapping(Mapping::new());
    let properties = event.get("Properties").unwrap_or(&empty);
    let text = |key: &str| properties.get(key).and_then(Value::as_str);
    match kind {
        "HttpApi" => {
            // SAM: an HttpApi event without Path and Method is the API's $default route.
            let route = match (text("Method"), text("Path")) {
                (None, None) => RouteKey::Default,
                (Some(method), Some(path)) => RouteKey::Route {
                    method: Method::parse(method).ok_or(format!("unknown method {method}"))?,
                    path: RoutePattern::parse(path).map_err(|e| e.to_string())?,
                },
                _ => return Err("HttpApi needs both Method and Path, or neither".into()),
            };
            let auth = match properties
                .get("Auth")
                .and_then(|a| a.get("Authorizer"))
                .and_then(Value::as_str)
            {
                None => HttpAuth::ApiDefault,
                Some("NONE") => HttpAuth::None,
                Some(name) => HttpAuth::Named(name.to_owned()),
            };
            Ok(FunctionEvent::Http { route, auth })
        }
        "SQS" => Ok(FunctionEvent::Queue(QueueTrigger {
            queue: properties
                .get("Queue")
                .cloned()
                .ok_or("SQS event has no Queue")?,
            batch_size: properties
                .get("BatchSize")
                .and_then(Value::as_u64)
                .unwrap_or(10) as u32,
            maximum_batching_window_seconds: properties
                .get("MaximumBatchingWindowInSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(0) as u32,
            report_batch_item_failures: properties
                .get("FunctionResponseTypes")
                .and_then(Value::as_sequence)
                .is_some_and(|types| {
                    types
                        .iter()
                        .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
                }),
            maximum_concurrency: properties
                .get("ScalingConfig")
                .and_then(|c| c.get("MaximumConcurrency"))
                .and_then(Value::as_u64)
                .map(|c| c as u32),
        })),
        "Schedule" | "ScheduleV2" => {
            let key = if kind == "Schedule" {
                "Schedule"
            } else {
                "ScheduleExpression"
            };
            Ok(FunctionEvent::Schedule(Schedule {
                expression: text(key).ok_or(format!("{kind} has no {key}"))?.to_owned(),
                input: text("Input").map(str::to_owned),
                enabled: match properties.get("State").and_then(Value::as_str) {
                    Some(state) => state == "ENABLED",
                    None => properties
                        .get("Enabled")
                        .and_then(Value::as_bool)
                        .unwrap_or(true),
                },
            }))
        }
        other => Err(format!(
            "event type {other} is not run by Steward's local stack"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Stage: { Type: String, Default: pilot, AllowedValues: [pilot, general_availability] }
Globals:
  Function:
    Timeout: 10
    Environment: { Variables: { TABLE: !Ref Table, SHARED: global } }
Resources:
  Table: { Type: AWS::DynamoDB::Table, Properties: {} }
  Queue: { Type: AWS::SQS::Queue, Properties: { VisibilityTimeout: 30 } }
  Api:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: api } }
    Properties:
      Environment: { Variables: { SHARED: own } }
      Events:
        Get: { Type: HttpApi, Properties: { Method: GET, Path: "/v1/things/{id}" } }
        Open: { Type: HttpApi, Properties: { Method: POST, Path: /v1/login, Auth: { Authorizer: NONE } } }
        Fallback: { Type: HttpApi, Properties: {} }
  Worker:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: worker } }
    Properties:
      Timeout: 60
      Events:
        Jobs: { Type: SQS, Properties: { Queue: !GetAtt Queue.Arn, BatchSize: 5, FunctionResponseTypes: [ReportBatchItemFailures] } }
        Nightly: { Type: ScheduleV2, Properties: { ScheduleExpression: "cron(0 2 * * ? *)" } }
"#;

    #[test]
    fn reads_functions_routes_queues_and_schedules() {
        let template = Template::parse(TEMPLATE).unwrap();
        let routes: Vec<String> = template
            .routes()
            .unwrap()
            .iter()
            .map(|(k, f, _)| format!("{k} -> {}", f.binary))
            .collect();
        assert_eq!(
            routes,
            [
                "$default -> api",
                "GET /v1/things/{id} -> api",
                "POST /v1/login -> api"
            ]
        );
        let api = template.function("Api").unwrap();
        assert_eq!(api.timeout_seconds, 10);
        assert_eq!(api.environment["SHARED"].as_str(), Some("own"));
        assert!(api.environment.contains_key("TABLE"));
        assert!(matches!(
            &api.events["Open"],
            FunctionEvent::Http {
                auth: HttpAuth::None,
                ..
            }
        ));
        let worker = template.function("Worker").unwrap();
        assert_eq!(worker.timeout_seconds, 60);
        match &worker.events["Jobs"] {
            FunctionEvent::Queue(trigger) => {
                assert_eq!(trigger.batch_size, 5);
                assert!(trigger.report_batch_item_failures);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&worker.events["Nightly"], FunctionEvent::Schedule(s) if s.expression == "cron(0 2 * * ? *)")
        );
    }

    #[test]
    fn parameters_take_overrides_within_their_allowed_values() {
        let template = Template::parse(TEMPLATE).unwrap();
        assert_eq!(
            template.parameter_values(&BTreeMap::new()).unwrap()["Stage"],
            "pilot"
        );
        let good = BTreeMap::from([("Stage".to_owned(), "general_availability".to_owned())]);
        assert_eq!(
            template.parameter_values(&good).unwrap()["Stage"],
            "general_availability"
        );
        let bad = BTreeMap::from([("Stage".to_owned(), "everyone".to_owned())]);
        assert!(template.parameter_values(&bad).is_err());
        let unknown = BTreeMap::from([("Nope".to_owned(), "x".to_owned())]);
        assert!(template.parameter_values(&unknown).is_err());
    }

    #[test]
    fn duplicate_routes_and_missing_binaries_are_refused() {
        let duplicate = TEMPLATE
            .replace("Path: /v1/login", "Path: \"/v1/things/{id}\"")
            .replace("Method: POST", "Method: GET");
        assert!(matches!(
            Template::parse(&duplicate),
            Err(TemplateError::DuplicateRoute { .. })
        ));
        let no_binary = TEMPLATE.replace("Binary: worker", "Other: worker");
        assert!(matches!(
            Template::parse(&no_binary),
            Err(TemplateError::Function { .. })
        ));
    }

    #[test]
    fn the_repository_template_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let template = Template::load(path).unwrap();
        assert!(
            template
                .routes()
                .unwrap()
                .iter()
                .any(|(key, _, _)| key.to_string() == "GET /v1/health")
        );
    }
}
