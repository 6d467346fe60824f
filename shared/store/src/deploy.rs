//! What a deploy's pre-traffic check calls: a new function version invoked directly (no traffic
//! reaches it before the check passes), and CodeDeploy told the check's verdict.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::{SdkConfig, StoreError};

/// What a function version answered one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Its output.
    Answered(Value),
    /// It raised an error (Lambda's `FunctionError`), with the error document it wrote.
    Raised(Value),
}

/// Invokes function versions synchronously.
#[derive(Clone, Debug)]
pub struct Functions {
    client: aws_sdk_lambda::Client,
}

/// A version's first invocation includes its cold start, and a function may run its whole
/// timeout (10 s): the store's bounds (2.5 s a try) are a DynamoDB call's, not an invocation's.
const INVOCATION_ATTEMPT: Duration = Duration::from_secs(12);
const INVOCATION: Duration = Duration::from_secs(15);

impl Functions {
    pub fn new(config: &SdkConfig) -> Self {
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(INVOCATION_ATTEMPT)
            .operation_timeout(INVOCATION)
            .connect_timeout(Duration::from_secs(1))
            .build();
        let config = aws_sdk_lambda::config::Builder::from(config)
            .timeout_config(timeouts)
            .build();
        Self {
            client: aws_sdk_lambda::Client::from_conf(config),
        }
    }

    /// Invokes `function` (a name or ARN, with the version as its qualifier) with `event`.
    pub async fn invoke(&self, function: &str, event: &Value) -> Result<Invocation, StoreError> {
        let payload = serde_json::to_vec(event).map_err(|e| StoreError::Failed(Box::new(e)))?;
        let answer = self
            .client
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let body = answer.payload().map(Blob::as_ref).unwrap_or_default();
        // An empty payload is a function that answered nothing (`null`).
        let document = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).map_err(|e| StoreError::Corrupt {
                key: function.to_owned(),
                problem: format!("its answer is not JSON: {e}"),
            })?
        };
        Ok(match answer.function_error() {
            Some(_) => Invocation::Raised(document),
            None => Invocation::Answered(document),
        })
    }
}

/// CodeDeploy, as a lifecycle hook sees it.
#[derive(Clone, Debug)]
pub struct Deployments {
    client: aws_sdk_codedeploy::Client,
}

impl Deployments {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_codedeploy::Client::new(config),
        }
    }

    /// Tells CodeDeploy whether the hook execution `execution_id` of `deployment_id` passed: a
    /// pass lets traffic shift to the new version, a failure rolls the deployment back.
    pub async fn report(
        &self,
        deployment_id: &str,
        execution_id: &str,
        passed: bool,
    ) -> Result<(), StoreError> {
        let status = if passed {
            LifecycleEventStatus::Succeeded
        } else {
            LifecycleEventStatus::Failed
        };
        self.client
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(deployment_id)
            .lifecycle_event_hook_execution_id(execution_id)
            .status(status)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
