//! Cold-start floor 1: a lambda_runtime function that answers every event with `{}` and does
//! nothing else, built with the functions' release profile.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<Value, Error>(json!({}))
    }))
    .await
}
