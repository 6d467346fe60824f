//! The AWS emulator of the local stack (docs/local-stack.md): two moto servers on 127.0.0.1.
//!
//! DynamoDB runs on a single-threaded server so that conditional writes and transactions have
//! exactly one winner; SQS, S3 and SES run on a threaded one (an SQS long poll would block a
//! single-threaded server, and S3 event notifications to SQS need both in one process). Each
//! server exits when the process that started it does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot start {python} (run `make venv` to install the emulator): {source}")]
    Spawn {
        python: String,
        source: std::io::Error,
    },
    #[error("the emulator did not report its port: {0}")]
    NoPort(String),
}

/// One moto server process; it is stopped when this is dropped.
#[derive(Debug)]
struct Server {
    child: Child,
    // Held open: the server exits when its standard input closes.
    _stdin: ChildStdin,
    url: String,
}

impl Server {
    fn start(single_threaded: bool) -> Result<Self, EmulatorError> {
        let python = python();
        let mut command = Command::new(&python);
        command
            .arg(script())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if single_threaded {
            command.arg("--single-threaded");
        }
        let mut child = command.spawn().map_err(|source| EmulatorError::Spawn {
            python: python.display().to_string(),
            source,
        })?;
        let stdin = child.stdin.take().expect("piped");
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut first_line)
            .map_err(|e| EmulatorError::NoPort(e.to_string()))?;
        let port = serde_json::from_str::<serde_json::Value>(&first_line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .ok_or_else(|| EmulatorError::NoPort(first_line.clone()))?;
        Ok(Self {
            child,
            _stdin: stdin,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The two servers and where they listen.
#[derive(Debug)]
pub struct Emulator {
    dynamodb: Server,
    services: Server,
}

impl Emulator {
    pub fn start() -> Result<Self, EmulatorError> {
        Ok(Self {
            dynamodb: Server::start(true)?,
            services: Server::start(false)?,
        })
    }

    /// One emulator for a whole test binary, started on first use; its servers exit with the
    /// test process.
    pub fn shared() -> &'static Emulator {
        static SHARED: OnceLock<Emulator> = OnceLock::new();
        SHARED.get_or_init(|| Emulator::start().expect("start the emulator"))
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            dynamodb: self.dynamodb.url.clone(),
            services: self.services.url.clone(),
        }
    }
}

/// Where the emulator listens: DynamoDB apart, everything else together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub dynamodb: String,
    pub services: String,
}

impl Endpoints {
    /// Where the emulator lists every email SES accepted (emulator.py's `/_emulator/sent-mail`).
    pub fn sent_mail_url(&self) -> String {
        format!("{}/_emulator/sent-mail", self.services)
    }

    /// SDK configuration pointed at the emulator, with dummy credentials: what the functions get
    /// from `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_DYNAMODB` when run as processes.
    pub fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_with(&[])
    }

    /// The same, with the services named (by SDK service id: `Lambda`, `CodeDeploy`) answered
    /// at other addresses: what `AWS_ENDPOINT_URL_<SERVICE>` does for a process. The local
    /// stack answers those the emulator cannot run.
    pub fn sdk_config_with(&self, elsewhere: &[(&'static str, String)]) -> SdkConfig {
        let mut apart = vec![("DynamoDB", self.dynamodb.clone())];
        apart.extend(elsewhere.iter().cloned());
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "emulator",
            )))
            .endpoint_url(&self.services)
            .service_config(ServicesApart(apart))
            // What `aws_config::load_defaults` sets in AWS: without a timer the SDK silently
            // ignores its timeouts.
            .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
            .build()
    }

    /// The same, as the environment variables a function process reads.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.services.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]
    }
}

/// Answers the SDK's per-service endpoint question as `AWS_ENDPOINT_URL_<SERVICE>` would.
#[derive(Debug)]
struct ServicesApart(Vec<(&'static str, String)>);

impl LoadServiceConfig for ServicesApart {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != "AWS_ENDPOINT_URL" {
            return None;
        }
        self.0
            .iter()
            .find(|(service, _)| *service == key.service_id())
            .map(|(_, url)| url.clone())
    }
}

fn repository_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn script() -> PathBuf {
    repository_root().join("infra/emulator/emulator.py")
}

/// The project virtualenv's Python (`make venv`), or `STEWARD_PYTHON`.
fn python() -> PathBuf {
    std::env::var_os("STEWARD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository_root().join(".venv/bin/python"))
}
