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

    /// Whether the instance keeps something it must write before it ends: only then is Lambda
    /// asked to tell it (a no-op extension registered during init, which costs a request).
    fn keeps_unwritten(&self) -> bool {
        false
    }

    /// Writes what the instance kept, when Lambda shuts it down (after its last invocation;
    /// Lambda allows an internal extension's process about 500 ms).
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Runs `function` under the Lambda Runtime API until the sandbox is shut down, and then runs
/// its [`Function::shutdown`] (SIGTERM, which Lambda sends only to a sandbox with an extension).
pub async fn run<F: Function>(function: F) -> Result<(), Error> {
    let function = Arc::new(function);
    if function.keeps_unwritten() {
        let instance = Arc::clone(&function);
        lambda_runtime::spawn_graceful_shutdown_handler(move || async move {
            instance.shutdown().await;
        })
        .await;
    }
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

    /// [`Function::shutdown`], as the local gateway ends an instance.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
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

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.0.shutdown())
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

pub use steward_store::SdkConfig;

/// A binary's function running under the Lambda runtime until its sandbox ends.
pub type Running = futures::future::LocalBoxFuture<'static, Result<(), Error>>;

/// The SDK configuration a binary's `main` loads (here, so that [`binaries!`]'s expansion needs
/// no other crate).
pub async fn aws_config() -> steward_store::SdkConfig {
    steward_store::load_aws_config().await
}

/// Whether two names are the same, at compile time (`str` equality is not `const`).
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a function crate's deployed binaries, each by its cargo name and `init`: one list,
/// from which each binary's `main` ([`main!`]) runs its own and the local gateway's registry
/// takes them all (`BINARIES`). A binary's own entry is chosen at compile time, so it links
/// only its own function, and a binary missing from the list does not compile.
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

        /// Where binary `name` is in [`BINARIES`], evaluated at compile time by its `main`.
        pub const fn binary_index(name: &str) -> usize {
            let mut index = 0;
            while index < BINARIES.len() {
                if $crate::runtime::same_name(BINARIES[index].name, name) {
                    return index;
                }
                index += 1;
            }
            panic!("this binary is not in the crate's binaries! list");
        }

        /// The binary at `INDEX` of [`BINARIES`], built and ready to run under the Lambda
        /// runtime. Not `async`: the branches of the others fold away, and their functions
        /// with them (in an `async fn` each would stay, reachable through the future's states).
        pub fn binary<const INDEX: usize>(
            env: &$crate::config::Env,
            aws: &$crate::runtime::SdkConfig,
        ) -> Result<$crate::runtime::Running, $crate::config::ConfigError> {
            let mut position = 0;
            $(
                if INDEX == position {
                    return Ok(Box::pin($crate::runtime::run($init(env, aws)?)));
                }
                position += 1;
            )+
            unreachable!("binary_index answers one of the {position} binaries")
        }
    };
}

/// The `main` of every binary of a function crate: it runs the binary cargo builds it as
/// (`CARGO_BIN_NAME`), found in the crate's [`binaries!`] at compile time.
#[macro_export]
macro_rules! main {
    ($krate:ident) => {
        #[tokio::main]
        async fn main() -> Result<(), $crate::runtime::Error> {
            const INDEX: usize = $krate::binary_index(env!("CARGO_BIN_NAME"));
            $crate::telemetry::init();
            let env = $crate::config::Env::from_process();
            let aws = $crate::runtime::aws_config().await;
            $krate::binary::<INDEX>(&env, &aws)?.await
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_same_only_byte_for_byte() {
        const { assert!(same_name("credential-sweeps", "credential-sweeps")) };
        assert!(!same_name("release", "releases"));
        assert!(!same_name("rooms", "Rooms"));
        assert!(!same_name("", "rooms"));
    }

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
