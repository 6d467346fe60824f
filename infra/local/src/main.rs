//! `steward-local run`: the whole stack on this machine (`make run`).
//! `steward-local fire Function/Event`: fires a schedule of a running stack now (`make fire`).
//! `steward-local operator --table T --email E`: creates a platform operator in a deployed table
//! (`make operator`), the password read from `STEWARD_OPERATOR_PASSWORD`.
//! `steward-local migrate --table T [--contract]`: migrates a deployed table's items to what
//! this version reads (`make migrate`, docs/runbooks/migrations.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use steward_emulator::Emulator;
use steward_local::{Stack, StackOptions};

#[derive(Parser)]
#[command(about = "Steward's local stack: template.yaml over the AWS emulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the emulator and the gateway, load the demo data, serve until Ctrl-C.
    Run {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "steward-local")]
        stack: String,
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        /// A template parameter, as `Name=Value` (repeatable).
        #[arg(long = "parameter", short = 'P', value_parser = parse_parameter)]
        parameters: Vec<(String, String)>,
        #[arg(long, default_value = "infra/demo/seed.json")]
        seed: PathBuf,
        #[arg(long)]
        no_demo: bool,
    },
    /// Fire a schedule of the running stack now, such as `SweepScheduleFunction/NightlySweep`.
    Fire {
        schedule: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Create a platform operator in a deployed stack's table, with the AWS credentials and
    /// region of the environment. The password comes from STEWARD_OPERATOR_PASSWORD, never
    /// from the command line (it would land in the shell's history).
    Operator {
        /// The table's name: the stack's `TableName` output.
        #[arg(long)]
        table: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Platform operator")]
        name: String,
    },
    /// Migrate a deployed table's items to what this version reads (idempotent: tenants into
    /// the index by name, users to accounts), with the AWS credentials and region of the
    /// environment; with --contract, also remove what the accounts hold now from the users
    /// (run once every function reads accounts).
    Migrate {
        /// The table's name: the stack's `TableName` output.
        #[arg(long)]
        table: String,
        #[arg(long)]
        contract: bool,
    },
}

fn parse_parameter(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?} is not Name=Value"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            port,
            stack,
            template,
            parameters,
            seed,
            no_demo,
        } => {
            run(
                port,
                &stack,
                template,
                parameters.into_iter().collect(),
                seed,
                no_demo,
            )
            .await
        }
        Command::Fire { schedule, url } => fire(&schedule, &url).await,
        Command::Operator { table, email, name } => operator(&table, &email, &name).await,
        Command::Migrate { table, contract } => migrate(&table, contract).await,
    }
}

async fn migrate(table: &str, contract: bool) -> ExitCode {
    let aws = steward_store::load_aws_config().await;
    let store = steward_store::identity::IdentityStore::new(steward_store::Table::new(&aws, table));
    match store.migrate(contract).await {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string(&report).expect("a report serialises")
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: the migration stopped: {error} (run it again: it is idempotent)");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    port: u16,
    stack_name: &str,
    template: PathBuf,
    parameters: BTreeMap<String, String>,
    seed: PathBuf,
    no_demo: bool,
) -> ExitCode {
    steward_kit::telemetry::init();
    let _ = std::fs::create_dir_all(".local");
    if let Ok(file) = std::fs::File::create(".local/metrics.emf.log") {
        steward_kit::metrics::redirect(Box::new(file));
    }
    eprintln!("starting the emulator…");
    let emulator = match Emulator::start() {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let endpoints = emulator.endpoints();
    let mut options = StackOptions::new(template, stack_name, endpoints.clone());
    options.port = port;
    options.parameter_overrides = parameters;
    options.run_schedules = true;
    let stack = match Stack::start(options).await {
        Ok(stack) => stack,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let url = stack.url().to_owned();
    if let Err(error) = bootstrap_operator(&stack).await {
        eprintln!("error creating the platform operator: {error}");
        return ExitCode::FAILURE;
    }
    let mut terminals = String::new();
    if !no_demo {
        let sent_mail = endpoints.sent_mail_url();
        match steward_local::demo::load(&url, &sent_mail, &seed).await {
            Ok(loaded) => {
                eprintln!(
                    "demo data loaded ({} steps from {})",
                    loaded.steps,
                    seed.display()
                );
                let saved = |name: &str| loaded.saved.get(name).cloned().unwrap_or_default();
                terminals = format!(
                    "\n\nDoor terminals of room Lantern (docs/terminals.md):\
                     \n  kiosk page: {url}/kiosk/  (pairing code {})\
                     \n  simulator:  cargo run -q -p steward-terminal -- pair --api {url} {}\
                     \n              cargo run -q -p steward-terminal -- status\
                     \n              cargo run -q -p steward-terminal -- check-in --pin {}   (Mia's booking; or --badge 04A1B2C3)\
                     \n  release nobody-came bookings now: make fire SCHEDULE=ReleaseFunction/Release\
                     \n\nMia's first-aid certificate waits for review (GET /v1/credential-reviews as the admin):\
                     \n  until it is approved, room Clinic refuses her bookings (README, Provider credentials)",
                    saved("kiosk_code"),
                    saved("simulator_code"),
                    saved("demo_pin"),
                );
            }
            Err(error) => {
                eprintln!("error loading demo data: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!(
        "\nSteward is running at {url}\n\
         \nWeb app: {url}/app/\
         \n  sign in as member@demo.steward.test / demo member passphrase 2026 (Mia, two organisations)\
         \n  or owner@demo.steward.test / demo owner passphrase 2026 (Olivia, the owner of Demo Rooms)\n\
         \nAPI:\
         \n  curl -s {url}/v1/health\
         \n  curl -s {url}/v1/nope            (a 404 problem)\
         \n  curl -s -X DELETE {url}/v1/health (a 405 problem)\
         \n  curl -s {url}/_local/routes       (what the gateway serves)\
         \n\nDemo tenant \"Demo Rooms\" (infra/demo/seed.json), sign in as its owner:\
         \n  curl -s {url}/v1/auth/login -H 'content-type: application/json' \\\
         \n    -d '{{\"email\":\"owner@demo.steward.test\",\"password\":\"demo owner passphrase 2026\"}}'\
         \n  then: curl -s {url}/v1/change-requests -H \"authorization: Bearer <access_token>\"\
         \n  (admin@demo.steward.test / demo admin passphrase 2026 can approve the pending one)\
         \n  member@demo.steward.test / demo member passphrase 2026 is in Harbour Desks too: her\
         \n  sign-in answers choose_tenant with a ticket for /v1/auth/login/tenant\
         \n  Platform operator: {OPERATOR_EMAIL} / {OPERATOR_PASSWORD} (/v1/admin/...){terminals}\
         \n\nEmulator: DynamoDB {} · SQS/S3/SES {}\nTable {} · Ctrl-C stops everything.\n",
        endpoints.dynamodb,
        endpoints.services,
        stack.physical_name("Table"),
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping…");
    stack.stop().await;
    drop(emulator);
    ExitCode::SUCCESS
}

async fn fire(schedule: &str, url: &str) -> ExitCode {
    let Some((function, event)) = schedule.split_once('/') else {
        eprintln!("error: name the schedule as Function/Event");
        return ExitCode::FAILURE;
    };
    match reqwest::Client::new()
        .post(format!("{url}/_local/schedules/{function}/{event}"))
        .send()
        .await
    {
        Ok(response) => {
            let ok = response.status().is_success();
            println!("{}", response.text().await.unwrap_or_default());
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: is the stack running (make run)? {error}");
            ExitCode::FAILURE
        }
    }
}

/// An operator invitation for `email`, pending at once (the platform has operators already):
/// its token printed for the invitee to accept (`POST /v1/invitations/accept`).
async fn break_glass_invitation(table: steward_store::Table, email: &str) -> ExitCode {
    let access = steward_store::access::AccessStore::new(table);
    let email: steward_domain::identity::Email =
        match serde_json::from_value(serde_json::json!(email)) {
            Ok(email) => email,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
    match steward_access::operators::invite_operator_directly(&access, &email).await {
        Ok(token) => {
            eprintln!(
                "the platform has operators: an operator invitation for {email} was made \
                 (audited as platform.break_glass, 2 days); the invitee accepts it with\n\n  \
                 POST /v1/invitations/accept {{\"token\": \"{token}\", \"name\": ..., \"password\": ...}}\n\n\
                 Through the API, operators invite operators and a second one approves \
                 (docs/runbooks/operators.md)."
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The local platform operator, created at every start (the emulator starts empty).
const OPERATOR_EMAIL: &str = "operator@demo.steward.test";
const OPERATOR_PASSWORD: &str = "demo operator passphrase 2026";

async fn bootstrap_operator(stack: &Stack) -> Result<(), String> {
    let table = steward_store::Table::new(stack.aws(), stack.physical_name("Table"));
    create_operator(
        table,
        OPERATOR_EMAIL,
        "Platform operator",
        OPERATOR_PASSWORD,
    )
    .await
}

/// The same as `make run` does, against the table of a deployed stack.
async fn operator(table: &str, email: &str, name: &str) -> ExitCode {
    let aws = steward_store::load_aws_config().await;
    let table = steward_store::Table::new(&aws, table);
    let store = steward_store::identity::IdentityStore::new(table.clone());
    match store
        .tenant(steward_access::operators::PLATFORM_TENANT)
        .await
    {
        // Operators invite operators through the API, a second one approving: this is how
        // the second one comes.
        Ok(Some(_)) => return break_glass_invitation(table, email).await,
        Ok(None) => {}
        Err(error) => {
            eprintln!("error: cannot read the table: {error}");
            return ExitCode::FAILURE;
        }
    }
    let Ok(password) = std::env::var("STEWARD_OPERATOR_PASSWORD") else {
        eprintln!("error: set STEWARD_OPERATOR_PASSWORD to the new operator's password");
        return ExitCode::FAILURE;
    };
    match create_operator(table, email, name, &password).await {
        Ok(()) => {
            eprintln!("operator {email} created in the platform tenant");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn create_operator(
    table: steward_store::Table,
    email: &str,
    name: &str,
    password: &str,
) -> Result<(), String> {
    let store = steward_store::identity::IdentityStore::new(table);
    let email: steward_domain::identity::Email =
        serde_json::from_value(serde_json::json!(email)).map_err(|e| e.to_string())?;
    let password =
        steward_domain::identity::Password::new(password, &[]).map_err(|e| e.to_string())?;
    steward_access::operators::bootstrap_operator(&store, &email, name, &password)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
