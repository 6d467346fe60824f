//! The pre-traffic hook of every HTTP function's canary (template.yaml, `DeploymentPreference`).
//!
//! CodeDeploy calls it once a deployment's new versions are published and before any traffic
//! shifts to them. It invokes the new versions directly: health, the authorizer's decision for
//! a live session and for a forged token, and a signed-in read from each HTTP function, as the
//! deploy check's principal (steward-access `deploy_check`); then it tells CodeDeploy whether
//! every check passed. A failure rolls the deployment back. Each function's deployment runs
//! the whole set: a release is checked as one.

mod events;

use std::collections::HashMap;

use jiff::Timestamp;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_access::deploy_check::{self, DEPLOY_CHECK_TENANT, DEPLOY_CHECK_USER};
use steward_domain::identity::tokens::{self, AccessTokens};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::runtime::{Error, Function};
use steward_store::deploy::{Deployments, Functions, Invocation};
use steward_store::identity::IdentityStore;
use steward_store::{SdkConfig, StoreError, Table};

/// The versions under check, each a function version's ARN (`!Ref <Function>.Version`).
#[derive(Debug, Deserialize)]
struct Versions {
    deploy_check_platform: String,
    deploy_check_authorizer: String,
    deploy_check_identity: String,
    deploy_check_access: String,
    deploy_check_licensing: String,
    deploy_check_rooms: String,
    deploy_check_terminals: String,
    deploy_check_credentials: String,
    deploy_check_notifications: String,
    deploy_check_operations: String,
}

/// A request to one function version, and the status its answer must have.
struct Probe<'a> {
    check: &'static str,
    function: &'a str,
    route: &'static str,
    signed_in: bool,
    expect: u16,
}

impl<'a> Probe<'a> {
    const fn new(
        check: &'static str,
        function: &'a str,
        route: &'static str,
        signed_in: bool,
        expect: u16,
    ) -> Self {
        Self {
            check,
            function,
            route,
            signed_in,
            expect,
        }
    }
}

impl Versions {
    fn probes(&self) -> [Probe<'_>; 9] {
        [
            Probe::new(
                "health",
                &self.deploy_check_platform,
                "GET /v1/health",
                false,
                200,
            ),
            Probe::new(
                "identity",
                &self.deploy_check_identity,
                "GET /v1/me",
                true,
                200,
            ),
            Probe::new(
                "access",
                &self.deploy_check_access,
                "GET /v1/roles",
                true,
                200,
            ),
            Probe::new(
                "rooms",
                &self.deploy_check_rooms,
                "GET /v1/rooms",
                true,
                200,
            ),
            Probe::new(
                "credentials",
                &self.deploy_check_credentials,
                "GET /v1/credential-types",
                true,
                200,
            ),
            Probe::new(
                "notifications",
                &self.deploy_check_notifications,
                "GET /v1/me/notifications",
                true,
                200,
            ),
            // Operators' routes: the function's own guard refuses a tenant's member, after
            // reading the caller's tenant and policy.
            Probe::new(
                "licensing",
                &self.deploy_check_licensing,
                "GET /v1/admin/config/licensing",
                true,
                403,
            ),
            Probe::new(
                "operations",
                &self.deploy_check_operations,
                "GET /v1/admin/sweeps",
                true,
                403,
            ),
            // Signed by a terminal's key, not a session: an unsigned request is refused.
            Probe::new(
                "terminals",
                &self.deploy_check_terminals,
                "GET /v1/terminal/status",
                false,
                401,
            ),
        ]
    }
}

/// What CodeDeploy sends a lifecycle hook.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    deployment_id: String,
    lifecycle_event_hook_execution_id: String,
}

/// One check's outcome.
#[derive(Debug, Serialize)]
pub struct Outcome {
    check: &'static str,
    passed: bool,
    detail: String,
}

impl Outcome {
    fn new(check: &'static str, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            check,
            passed,
            detail: detail.into(),
        }
    }
}

/// What the hook answers (and logs): every check, and whether all passed.
#[derive(Debug, Serialize)]
pub struct Verdict {
    passed: bool,
    checks: Vec<Outcome>,
}

pub struct DeployCheck {
    versions: Versions,
    functions: Functions,
    deployments: Deployments,
    identity: IdentityStore,
    tokens: AccessTokens,
}

/// The route the authorizer is asked about.
const AUTHORIZED_ROUTE: &str = "GET /v1/me";

impl DeployCheck {
    /// Every check, against the versions of this deployment.
    pub async fn check(&self) -> Verdict {
        let mut checks = Vec::new();
        let session = self.open_session().await;
        let context = match &session {
            Ok(session_id) => self.authorizer_checks(session_id, &mut checks).await,
            Err(error) => {
                checks.push(Outcome::new(
                    "session",
                    false,
                    format!("not opened: {error}"),
                ));
                None
            }
        };
        let probes = self.versions.probes();
        // At once: each may meet a cold start.
        let answers = probes
            .iter()
            .map(|probe| self.probe(probe, context.as_ref()));
        checks.extend(futures::future::join_all(answers).await);
        if let Ok(session_id) = session
            && let Err(error) = deploy_check::close_session(&self.identity, &session_id).await
        {
            // It ends on its own within minutes.
            tracing::warn!(%error, "the deploy check's session was not closed");
        }
        let passed = checks.iter().all(|outcome| outcome.passed);
        Verdict { passed, checks }
    }

    async fn open_session(&self) -> Result<String, StoreError> {
        deploy_check::ensure_principal(&self.identity).await?;
        deploy_check::open_session(&self.identity, Timestamp::now()).await
    }

    /// The authorizer must accept the live session and refuse a forged token: answers the
    /// context it gave the session, for the signed-in reads.
    async fn authorizer_checks(
        &self,
        session_id: &str,
        checks: &mut Vec<Outcome>,
    ) -> Option<HashMap<String, Value>> {
        let now = Timestamp::now().as_second();
        let token = self.tokens.issue(
            DEPLOY_CHECK_USER,
            DEPLOY_CHECK_TENANT,
            session_id,
            now,
            &steward_access::new_id("jti"),
        );
        // The same claims signed with another key.
        let forged = AccessTokens::new(&[7; 32]).issue(
            DEPLOY_CHECK_USER,
            DEPLOY_CHECK_TENANT,
            session_id,
            now,
            "forged",
        );
        let authorizer = &self.versions.deploy_check_authorizer;
        let live = events::authorization(AUTHORIZED_ROUTE, format!("Bearer {token}"));
        let forged = events::authorization(AUTHORIZED_ROUTE, format!("Bearer {forged}"));
        let (live, forged) = tokio::join!(
            self.answer(authorizer, &live),
            self.answer(authorizer, &forged),
        );
        let forged_refused = match forged {
            Ok(answer) => {
                let authenticated = &answer["context"]["authenticated"];
                Outcome::new(
                    "authorizer: a forged token",
                    authenticated == "false",
                    format!("authenticated: {authenticated}"),
                )
            }
            Err(why) => Outcome::new("authorizer: a forged token", false, why),
        };
        checks.push(forged_refused);
        let context = live.and_then(|answer| {
            let context = &answer["context"];
            if context["authenticated"] == "true" && context["user_id"] == DEPLOY_CHECK_USER {
                Ok(context.clone())
            } else {
                Err(format!("not authenticated: {context}"))
            }
        });
        match context {
            Ok(context) => {
                checks.push(Outcome::new(
                    "authorizer: a live session",
                    true,
                    "authenticated",
                ));
                serde_json::from_value(context).ok()
            }
            Err(why) => {
                checks.push(Outcome::new("authorizer: a live session", false, why));
                None
            }
        }
    }

    async fn probe(&self, probe: &Probe<'_>, context: Option<&HashMap<String, Value>>) -> Outcome {
        let signed_in = match (probe.signed_in, context) {
            (false, _) => None,
            (true, Some(context)) => Some(context),
            (true, None) => {
                return Outcome::new(probe.check, false, "not run: no signed-in session");
            }
        };
        let event = events::request(probe.route, signed_in);
        match self.answer(probe.function, &event).await {
            Ok(answer) => match events::status(answer) {
                Some(status) if status == probe.expect => Outcome::new(
                    probe.check,
                    true,
                    format!("{} answered {status}", probe.route),
                ),
                Some(status) => Outcome::new(
                    probe.check,
                    false,
                    format!("{} answered {status}, not {}", probe.route, probe.expect),
                ),
                None => Outcome::new(probe.check, false, "not an HTTP answer"),
            },
            Err(why) => Outcome::new(probe.check, false, why),
        }
    }

    /// What `function` answered `event`, or why it gave no answer to check: an error it
    /// raised, or a call that failed.
    async fn answer(&self, function: &str, event: &Value) -> Result<Value, String> {
        match self.functions.invoke(function, event).await {
            Ok(Invocation::Answered(answer)) => Ok(answer),
            Ok(Invocation::Raised(error)) => Err(format!("raised {}", error["errorType"])),
            Err(error) => Err(format!("not invoked: {error}")),
        }
    }
}

impl Function for DeployCheck {
    type Event = HookEvent;
    type Output = Verdict;

    async fn call(&self, event: LambdaEvent<HookEvent>) -> Result<Verdict, Error> {
        let hook = event.payload;
        let verdict = self.check().await;
        for outcome in verdict.checks.iter().filter(|outcome| !outcome.passed) {
            tracing::warn!(check = outcome.check, detail = %outcome.detail, "deploy check failed");
        }
        // A report that fails fails the invocation: Lambda retries it, CodeDeploy waits.
        self.deployments
            .report(
                &hook.deployment_id,
                &hook.lifecycle_event_hook_execution_id,
                verdict.passed,
            )
            .await?;
        tracing::info!(
            deployment = %hook.deployment_id,
            passed = verdict.passed,
            "deploy check reported"
        );
        Ok(verdict)
    }
}

pub fn init(env: &Env, aws: &SdkConfig) -> Result<DeployCheck, ConfigError> {
    let common: Common = env.parse()?;
    Ok(DeployCheck {
        versions: env.parse()?,
        functions: Functions::new(aws),
        deployments: Deployments::new(aws),
        identity: IdentityStore::new(Table::new(aws, &common.table)),
        tokens: AccessTokens::new(&common.signing_secret.derive(tokens::KEY_PURPOSE)),
    })
}

steward_kit::binaries! {
    "deploy-check" => init,
}
