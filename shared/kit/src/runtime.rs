//! One shape for every deployed function, run by the Lambda runtime in AWS and invoked
//! in-process, with the same JSON events, by the local gateway.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use lambda_runtime::Error;

/// A Lambda function: one kind of event in, one answer out. `call` takes `&self` so that one
/// instance serves concurrent invocations (the gateway runs many at once).
pub trait Function: Send + Sync + 'static {
    type Event: DeserializeOwned + Send + 'static;
    type Output: Serialize + Send + 'static;

    fn call(
        &self,
        event: LambdaEvent<Self::Event>,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send;
}

/// Runs `function` under the Lambda Runtime API until the sandbox is shut down.
pub async fn run<F: Function>(function: F) -> Result<(), Error> {
    let function = Arc::new(function);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<F::Event>| {
        let function = Arc::clone(&function);
        // Boxed: the handler's future type is deep, and naming it inside the runtime's own
        // future types overflows the compiler's layout depth limit.
        let invocation: BoxFuture<'static, Result<F::Output, Error>> =
            Box::pin(async move { function.call(event).await });
        invocation
    }))
    .await
}

/// When a schedule fired `event`: its `scheduled_time` (the schedules' Input carries EventBridge
/// Scheduler's `<aws.scheduler.scheduled-time>` there), or now for an event without one, such
/// as a test's or an operator's invocation.
pub fn scheduled_time(event: &Value) -> jiff::Timestamp {
    event
        .get("scheduled_time")
        .and_then(Value::as_str)
        .and_then(|at| at.parse().ok())
        .unwrap_or_else(jiff::Timestamp::now)
}

/// A function as the local gateway holds it: JSON event in, JSON answer out.
pub trait Invoke: Send + Sync {
    fn invoke(&self, payload: Value, context: Context) -> BoxFuture<'_, Result<Value, Error>>;
}

struct Erased<F>(F);

impl<F: Function> Invoke for Erased<F> {
    fn invoke(&self, payload: Value, context: Context) -> BoxFuture<'_, Result<Value, Error>> {
        Box::pin(async move {
            let event: F::Event = serde_json::from_value(payload)?;
            let output = self.0.call(LambdaEvent::new(event, context)).await?;
            Ok(serde_json::to_value(output)?)
        })
    }
}

/// Erases a function's event types so the gateway can hold every function alike.
pub fn erase<F: Function>(function: F) -> Arc<dyn Invoke> {
    Arc::new(Erased(function))
}

/// Builds one function as its `main` would, from its environment and the SDK configuration,
/// erased (what the local gateway invokes).
pub type Init = fn(
    &crate::config::Env,
    &steward_store::SdkConfig,
) -> Result<Arc<dyn Invoke>, crate::config::ConfigError>;

/// One deployed binary of a function crate: its cargo name (template.yaml's
/// `Metadata.BuildProperties.Binary`) and how it is built.
#[derive(Clone, Copy)]
pub struct Binary {
    pub name: &'static str,
    pub init: Init,
}

/// The SDK configuration a binary's `main` loads (kept here so that [`binaries!`]'s expansion
/// needs no other crate).
pub async fn aws_config() -> steward_store::SdkConfig {
    steward_store::load_aws_config().await
}

/// Declares a function crate's deployed binaries, each by its cargo name and `init`: one list,
/// from which the binaries' shared `main` ([`main!`]) picks its own and the local gateway's
/// registry takes them all (`BINARIES`).
#[macro_export]
macro_rules! binaries {
    ($($name:literal => $init:path),+ $(,)?) => {
        /// This crate's deployed binaries: one list for their `main` and the local gateway.
        pub const BINARIES: &[$crate::runtime::Binary] = &[$(
            $crate::runtime::Binary {
                name: $name,
                init: |env, aws| Ok($crate::runtime::erase($init(env, aws)?)),
            }
        ),+];

        /// Runs this crate's binary `name` under the Lambda runtime (its `main`).
        pub async fn run_binary(name: &str) -> Result<(), $crate::runtime::Error> {
            let env = $crate::config::Env::from_process();
            let aws = $crate::runtime::aws_config().await;
            match name {
                $($name => $crate::runtime::run($init(&env, &aws)?).await,)+
                other => Err(format!("{other} is not a binary of this crate").into()),
            }
        }
    };
}

/// The `main` every binary of a function crate shares (each `[[bin]]` names the same file):
/// it runs the binary cargo built it as, from the crate's [`binaries!`].
#[macro_export]
macro_rules! main {
    ($krate:ident) => {
        #[tokio::main]
        async fn main() -> Result<(), $crate::runtime::Error> {
            $crate::telemetry::init();
            $krate::run_binary(env!("CARGO_BIN_NAME")).await
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_event_carries_its_time_and_any_other_event_is_now() {
        let fired =
            serde_json::json!({ "sweep": "expire", "scheduled_time": "2026-11-24T02:30:00Z" });
        assert_eq!(
            scheduled_time(&fired),
            "2026-11-24T02:30:00Z".parse::<jiff::Timestamp>().unwrap()
        );
        let before = jiff::Timestamp::now();
        for other in [
            serde_json::json!({}),
            serde_json::json!({ "scheduled_time": "soon" }),
        ] {
            assert!(scheduled_time(&other) >= before, "{other}");
        }
    }
}
