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
