use steward_kit::config::Env;

#[tokio::main]
async fn main() -> Result<(), steward_kit::runtime::Error> {
    steward_kit::telemetry::init();
    let aws = steward_store::load_aws_config().await;
    let function = steward_credentials::init_sweeps(&Env::from_process(), &aws)?;
    steward_kit::runtime::run(function).await
}
