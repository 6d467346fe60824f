//! Starting and stopping the local stack.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use steward_emulator::{Endpoints, REGION};
use steward_kit::config::Env;
use steward_kit::runtime::Invoke;
use steward_store::SdkConfig;
use steward_template::{
    FunctionEvent, HttpAuth, RouteKey, RouteTable, Template, TemplateError, Value, resolve,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::registry::Registry;
use crate::resolver::LocalResolver;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("creating {resource}: {source}")]
    Provision {
        resource: String,
        source: steward_store::StoreError,
    },
    #[error("function {function}: {problem}")]
    Function { function: String, problem: String },
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// How to run the stack.
#[derive(Clone)]
pub struct StackOptions {
    pub template: PathBuf,
    /// Prefix of every physical name, so that several stacks share one emulator.
    pub stack_name: String,
    pub endpoints: Endpoints,
    /// 0: a free port.
    pub port: u16,
    pub parameter_overrides: BTreeMap<String, String>,
    pub registry: Registry,
    /// After a failed delivery, make the message visible again after this long instead of the
    /// queue's VisibilityTimeout (tests only: it keeps redrive tests short).
    pub retry_delay: Option<Duration>,
    /// Fire schedules on their own rate or cron (`make run`); tests fire them on demand.
    pub run_schedules: bool,
    /// The browser clients' folder (`web/`): the kiosk page's files (`kiosk/`) served under
    /// `/kiosk/` and the web app's build (`build/app/`) under `/app/`, as their S3 sites behind
    /// CloudFront serve them.
    pub web: Option<PathBuf>,
}

impl StackOptions {
    pub fn new(template: impl Into<PathBuf>, stack_name: &str, endpoints: Endpoints) -> Self {
        Self {
            template: template.into(),
            stack_name: stack_name.to_owned(),
            endpoints,
            port: 0,
            parameter_overrides: BTreeMap::new(),
            registry: Registry::steward(),
            retry_delay: None,
            run_schedules: false,
            web: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web")),
        }
    }
}

/// One built function and what the template says of it.
pub(crate) struct Deployed {
    pub logical_id: String,
    pub physical_name: String,
    pub handler: Arc<dyn Invoke>,
    pub timeout: Duration,
    /// The cargo binary, and the environment its `main` was given, resolved for this stack.
    pub binary: String,
    pub environment: Env,
}

/// When an authorizer decided for an identity, and its context if it allowed.
pub(crate) type CachedDecision = (Instant, Option<serde_json::Value>);

/// A Lambda authorizer as API Gateway runs it: identity sources checked first, decisions cached
/// per identity for the template's `ReauthorizeEvery`.
pub(crate) struct LocalAuthorizer {
    pub function: Arc<Deployed>,
    pub identity_headers: Vec<String>,
    pub ttl: Duration,
    pub cache: Mutex<HashMap<Vec<String>, CachedDecision>>,
}

/// An HTTP route's target.
pub(crate) struct RouteTarget {
    pub function: Arc<Deployed>,
    pub authorizer: Option<Arc<LocalAuthorizer>>,
}

/// What the running gateway knows.
pub(crate) struct Shared {
    pub routes: RouteTable,
    pub targets: BTreeMap<String, RouteTarget>,
    pub functions: BTreeMap<String, Arc<Deployed>>,
    pub schedules: BTreeMap<(String, String), steward_template::Schedule>,
    pub stack_name: String,
    pub web: Option<PathBuf>,
    /// What lifecycle hooks reported to CodeDeploy, in order.
    pub hook_reports: Mutex<Vec<crate::HookReport>>,
}

/// The running stack; dropping it (or `stop`) ends the gateway and its pollers.
pub struct Stack {
    url: String,
    resolver: Arc<LocalResolver>,
    aws: SdkConfig,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    route_keys: Vec<String>,
    shared: Arc<Shared>,
    address: SocketAddr,
    /// The HTTP listener, apart from the rest: it can be stopped and started again alone.
    http: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

/// The template parameter naming the API's public base URL.
const PUBLIC_API_URL: &str = "PublicApiUrl";
/// The template parameter naming the web app's base URL.
const APP_BASE_URL: &str = "AppBaseUrl";
/// The template parameter listing the browser origins that may call the API and upload.
const CORS_ALLOWED_ORIGINS: &str = "CorsAllowedOrigins";

impl Stack {
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        let template = Template::load(&options.template)?;
        let address = SocketAddr::from(([127, 0, 0, 1], options.port));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| StackError::Listen { address, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| StackError::Listen { address, source })?;
        let mut overrides = options.parameter_overrides.clone();
        // The API's public URL is this gateway's, as a deployment sets its domain.
        if template.parameters.contains_key(PUBLIC_API_URL) {
            overrides
                .entry(PUBLIC_API_URL.to_owned())
                .or_insert_with(|| format!("http://{bound}"));
        }
        // The web app is served by this gateway (at /app): the emails' links lead there.
        if template.parameters.contains_key(APP_BASE_URL) {
            overrides
                .entry(APP_BASE_URL.to_owned())
                .or_insert_with(|| format!("http://{bound}/app"));
        }
        // ...and its pages upload to the bucket from this origin, as a deployment adds its
        // AppUrl's origin to the list.
        if let Some(parameter) = template.parameters.get(CORS_ALLOWED_ORIGINS)
            && !overrides.contains_key(CORS_ALLOWED_ORIGINS)
        {
            let listed = parameter
                .default
                .as_ref()
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            overrides.insert(
                CORS_ALLOWED_ORIGINS.to_owned(),
                format!("{listed},http://{bound}")
                    .trim_start_matches(',')
                    .to_owned(),
            );
        }
        let parameters = template.parameter_values(&overrides)?;
        // The functions' clients wait on the emulator as they would on AWS; the calls of a
        // deployment's hook that the emulator cannot answer come here (services.rs).
        let here = format!("http://{bound}");
        let aws = options
            .endpoints
            .sdk_config_with(&crate::services::answered_here(&here))
            .into_builder()
            .timeout_config(steward_store::timeouts())
            .build();
        let mut resolver = LocalResolver::new(&options.stack_name, &template, parameters);
        provision(&template, &mut resolver, &aws).await?;
        let resolver = Arc::new(resolver);

        let mut functions = BTreeMap::new();
        for function in &template.functions {
            let physical_name = resolver.physical_name(&function.logical_id);
            let fail = |problem: String| StackError::Function {
                function: function.logical_id.clone(),
                problem,
            };
            let init = options.registry.get(&function.binary).ok_or_else(|| {
                fail(format!(
                    "no code is registered for binary {:?}",
                    function.binary
                ))
            })?;
            let mut env = Env::default();
            for (name, value) in &function.environment {
                env.set(name, resolve(value, resolver.as_ref())?);
            }
            env.set("AWS_LAMBDA_FUNCTION_NAME", &physical_name);
            env.set("AWS_REGION", REGION);
            let handler = init(&env, &aws).map_err(|e| fail(e.to_string()))?;
            let deployed = Deployed {
                logical_id: function.logical_id.clone(),
                physical_name,
                handler,
                timeout: Duration::from_secs(function.timeout_seconds),
                binary: function.binary.clone(),
                environment: env,
            };
            functions.insert(function.logical_id.clone(), Arc::new(deployed));
        }

        let mut targets = BTreeMap::new();
        let mut keys = Vec::new();
        let mut schedules = BTreeMap::new();
        let mut triggers = Vec::new();
        let mut authorizers = BTreeMap::new();
        for (name, declared) in &template.api_auth.authorizers {
            let arn = resolve(&declared.function_arn, resolver.as_ref())?;
            let ttl_seconds = match &declared.ttl_seconds {
                Some(value) => resolve(value, resolver.as_ref())?
                    .parse::<u64>()
                    .map_err(|_| StackError::Function {
                        function: name.clone(),
                        problem: "ReauthorizeEvery is not a whole number of seconds".into(),
                    })?,
                None => 0,
            };
            let function =
                function_named(&functions, &arn).ok_or_else(|| StackError::Function {
                    function: name.clone(),
                    problem: format!("authorizer function {arn} is not in the template"),
                })?;
            authorizers.insert(
                name.clone(),
                Arc::new(LocalAuthorizer {
                    function: Arc::clone(function),
                    identity_headers: declared.identity_headers.clone(),
                    ttl: Duration::from_secs(ttl_seconds),
                    cache: Mutex::new(HashMap::new()),
                }),
            );
        }
        for (route, function, auth) in template.routes()? {
            keys.push(route.clone());
            let authorizer = match auth {
                HttpAuth::None => None,
                HttpAuth::ApiDefault => (template.api_auth.default_authorizer.as_ref())
                    .map(|name| Arc::clone(&authorizers[name])),
                HttpAuth::Named(name) => Some(Arc::clone(&authorizers[&name])),
            };
            let function = Arc::clone(&functions[&function.logical_id]);
            targets.insert(
                route.to_string(),
                RouteTarget {
                    function,
                    authorizer,
                },
            );
        }
        for function in &template.functions {
            for (event_name, event) in &function.events {
                match event {
                    FunctionEvent::Schedule(schedule) => {
                        schedules.insert(
                            (function.logical_id.clone(), event_name.clone()),
                            schedule.clone(),
                        );
                    }
                    FunctionEvent::Queue(trigger) => {
                        let queue_url = queue_url_of(&trigger.queue, &resolver)?;
                        triggers.push((
                            Arc::clone(&functions[&function.logical_id]),
                            trigger.clone(),
                            queue_url,
                        ));
                    }
                    FunctionEvent::Http { .. } => {}
                }
            }
        }
        let route_keys = keys.iter().map(RouteKey::to_string).collect();
        let shared = Arc::new(Shared {
            routes: RouteTable::new(keys),
            targets,
            functions,
            schedules,
            stack_name: options.stack_name.clone(),
            web: options.web.clone(),
            hook_reports: Mutex::new(Vec::new()),
        });

        let (stop, stopped) = watch::channel(false);
        let http = serve_http(listener, &shared);
        let mut tasks = Vec::new();
        let sqs = aws_sdk_sqs::Client::new(&aws);
        for (function, trigger, queue_url) in triggers {
            tasks.push(tokio::spawn(crate::queues::poll(
                sqs.clone(),
                function,
                trigger,
                queue_url,
                options.retry_delay,
                stopped.clone(),
            )));
        }
        if options.run_schedules {
            for ((function, event), schedule) in &shared.schedules {
                if schedule.enabled {
                    tasks.push(tokio::spawn(crate::schedules::run(
                        Arc::clone(&shared),
                        function.clone(),
                        event.clone(),
                        schedule.clone(),
                        stopped.clone(),
                    )));
                }
            }
        }
        Ok(Self {
            url: format!("http://{bound}"),
            resolver,
            aws,
            stop,
            tasks,
            route_keys,
            shared,
            address: bound,
            http: Some(http),
        })
    }

    /// Stops answering HTTP (the port refuses connections), as when the API is unreachable;
    /// queues, schedules and the emulator go on.
    pub async fn stop_http(&mut self) {
        if let Some((stop, task)) = self.http.take() {
            let _ = stop.send(true);
            let _ = task.await;
        }
    }

    /// Answers HTTP again on the same port.
    pub async fn start_http(&mut self) -> Result<(), StackError> {
        if self.http.is_none() {
            let address = self.address;
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| StackError::Listen { address, source })?;
            self.http = Some(serve_http(listener, &self.shared));
        }
        Ok(())
    }

    /// Where to point a client.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The endpoints a function process started apart from the stack is given for the calls
    /// the stack answers itself (`AWS_ENDPOINT_URL_<SERVICE>`), as its in-process functions
    /// have them.
    pub fn service_environment(&self) -> Vec<(String, String)> {
        crate::services::answered_here(&self.url)
            .into_iter()
            .map(|(service, url)| {
                let name = format!("AWS_ENDPOINT_URL_{}", service.to_uppercase());
                (name, url)
            })
            .collect()
    }

    /// The physical name of a template resource (`Table` → `<stack>-Table`).
    pub fn physical_name(&self, logical_id: &str) -> String {
        self.resolver.physical_name(logical_id)
    }

    /// The value this run generated for a secret of the template (tests forge tokens with it).
    pub fn secret(&self, logical_id: &str) -> Option<&str> {
        self.resolver.secret(logical_id)
    }

    /// A queue's URL in the emulator.
    pub fn queue_url(&self, logical_id: &str) -> Option<String> {
        self.resolver.queue_url(logical_id)
    }

    /// The SDK configuration the functions were given.
    pub fn aws(&self) -> &SdkConfig {
        &self.aws
    }

    /// The route keys the gateway serves, as the template declares them.
    /// Each function's cargo binary and the environment it runs with here (by logical id):
    /// what a process of the binary needs to start against this stack, as the cold-start
    /// benchmark runs it.
    pub fn functions(&self) -> impl Iterator<Item = (&str, &str, &Env)> {
        self.shared
            .functions
            .values()
            .map(|f| (f.logical_id.as_str(), f.binary.as_str(), &f.environment))
    }

    /// What lifecycle hooks reported to CodeDeploy so far, in order.
    pub fn hook_reports(&self) -> Vec<crate::HookReport> {
        self.shared
            .hook_reports
            .lock()
            .expect("not poisoned")
            .clone()
    }

    pub fn route_keys(&self) -> &[String] {
        &self.route_keys
    }

    /// Stops the stack as Lambda ends its sandboxes: no more requests, then each function's
    /// instance is shut down (and writes what it kept), then the queues and schedules stop.
    pub async fn stop(mut self) {
        self.stop_http().await;
        for function in self.shared.functions.values() {
            function.handler.shutdown().await;
        }
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.http.take() {
            let _ = stop.send(true);
            task.abort();
        }
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn serve_http(
    listener: tokio::net::TcpListener,
    shared: &Arc<Shared>,
) -> (watch::Sender<bool>, JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(crate::gateway::serve(listener, Arc::clone(shared), stopped));
    (stop, task)
}

/// The function Lambda's `FunctionName` names: a name or an ARN, with or without a version or
/// alias (here every function has one version, and its alias is the function).
pub(crate) fn function_named<'a>(
    functions: &'a BTreeMap<String, Arc<Deployed>>,
    name: &str,
) -> Option<&'a Arc<Deployed>> {
    let unqualified = name.split_once(":function:").map_or(name, |(_, rest)| rest);
    let unqualified = unqualified.split(':').next().unwrap_or_default();
    functions.values().find(|f| f.physical_name == unqualified)
}

fn queue_url_of(queue: &Value, resolver: &LocalResolver) -> Result<String, StackError> {
    let arn = resolve(queue, resolver)?;
    let name = arn.rsplit(':').next().unwrap_or_default();
    let logical_id = name
        .strip_prefix(&resolver.physical_name(""))
        .unwrap_or(name);
    resolver.queue_url(logical_id).ok_or_else(|| {
        StackError::Template(TemplateError::UnknownReference(format!("queue {arn}")))
    })
}

/// Creates the template's resources: tables, queues (dead-letter targets first), buckets, sender
/// identities. What the emulator cannot hold (alarms, policies, secrets) is resolved or skipped.
async fn provision(
    template: &Template,
    resolver: &mut LocalResolver,
    aws: &SdkConfig,
) -> Result<(), StackError> {
    use steward_store::provision;
    let failed = |resource: &str| {
        let resource = resource.to_owned();
        move |source| StackError::Provision { resource, source }
    };
    for (id, resource) in &template.resources {
        match resource.kind.as_str() {
            "AWS::DynamoDB::Table" => {
                provision::table(aws, &resolver.physical_name(id), resource)
                    .await
                    .map_err(failed(id))?;
            }
            "AWS::S3::Bucket" => provision::bucket(aws, &resolver.physical_name(id))
                .await
                .map_err(failed(id))?,
            "AWS::SES::EmailIdentity" => {
                let address =
                    resource
                        .property(&["EmailIdentity"])
                        .ok_or_else(|| StackError::Provision {
                            resource: id.clone(),
                            source: steward_store::StoreError::Failed("no EmailIdentity".into()),
                        })?;
                let address = resolve(address, resolver)?;
                provision::email_identity(aws, &address)
                    .await
                    .map_err(failed(id))?;
                resolver.set_ref(id, address);
            }
            _ => {}
        }
    }
    let mut queues: Vec<_> = template
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "AWS::SQS::Queue")
        .collect();
    // A queue's redrive target must exist before it.
    queues.sort_by_key(|(_, resource)| resource.property(&["RedrivePolicy"]).is_some());
    for (id, resource) in queues {
        let url = provision::queue(aws, &resolver.physical_name(id), resource, resolver)
            .await
            .map_err(failed(id))?;
        resolver.record_queue_url(id, url);
    }
    // Event notifications name their queues: set once the queues exist.
    for (id, resource) in &template.resources {
        if resource.kind == "AWS::S3::Bucket" {
            let name = resolver.physical_name(id);
            provision::bucket_notifications(aws, &name, resource, &*resolver)
                .await
                .map_err(failed(id))?;
            provision::bucket_cors(aws, &name, resource, &*resolver)
                .await
                .map_err(failed(id))?;
        }
    }
    Ok(())
}
