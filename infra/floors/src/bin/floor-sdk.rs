//! Cold-start floor 2: floor 1 plus what every Steward function's `main` builds before its first
//! event: the SDK configuration (as `steward_store::load_aws_config` loads it) and the clients of
//! every service the functions use. Our functions' own init is measured against this.

use std::hint::black_box;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = steward_store::load_aws_config().await;
    let clients = (
        aws_sdk_dynamodb::Client::new(&aws),
        aws_sdk_sqs::Client::new(&aws),
        aws_sdk_s3::Client::new(&aws),
        aws_sdk_sesv2::Client::new(&aws),
    );
    let clients = &clients;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        black_box(clients);
        Ok::<Value, Error>(json!({}))
    }))
    .await
}
