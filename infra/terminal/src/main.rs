//! `steward-terminal`: a door terminal on the command line. Pair it once with the code an admin
//! got from `POST /v1/terminals`; it keeps its secret in a file and signs every request.
//!
//! ```text
//! steward-terminal pair --api http://127.0.0.1:8080 ABCD-EFGH-JK
//! steward-terminal status
//! steward-terminal check-in --pin 123456
//! steward-terminal walk-up --badge 04A1B2C3
//! steward-terminal run            # heartbeat and status every minute, as a tablet would
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};
use steward_terminal::{Answer, Paired, Terminal};

#[derive(Parser)]
#[command(version, about = "A Steward door terminal, simulated")]
struct Cli {
    /// Where the paired terminal's credentials are kept.
    #[arg(long, global = true, default_value = ".local/terminal.json")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Exchanges a one-time pairing code for the terminal's secret and keeps it.
    Pair {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        code: String,
    },
    /// The room's state: free, busy or awaiting check-in; current and next bookings.
    Status,
    /// Checks in to the booking of a PIN, or a badge's booking.
    CheckIn {
        #[arg(long)]
        pin: Option<String>,
        #[arg(long)]
        badge: Option<String>,
    },
    /// Books the room from now with a badge.
    WalkUp {
        #[arg(long)]
        badge: String,
        /// RFC 3339; by default until the next booking.
        #[arg(long)]
        end: Option<String>,
    },
    /// Ends the booking under way.
    End {
        #[arg(long)]
        pin: Option<String>,
        #[arg(long)]
        badge: Option<String>,
    },
    /// Extends the booking under way.
    Extend {
        #[arg(long)]
        pin: Option<String>,
        #[arg(long)]
        badge: Option<String>,
        #[arg(long, default_value_t = 15)]
        minutes: u32,
    },
    /// Says the terminal is alive.
    Heartbeat,
    /// Uploads check-ins captured offline: a JSON file `[{"id", "device_time", "pin"|"badge"}]`.
    Sync { file: PathBuf },
    /// Runs as a tablet does: a heartbeat and the status every `every` seconds, `times` times.
    Run {
        #[arg(long, default_value_t = 60)]
        every: u64,
        #[arg(long, default_value_t = u64::MAX)]
        times: u64,
    },
}

fn credential(pin: Option<String>, badge: Option<String>) -> Value {
    match (pin, badge) {
        (Some(pin), _) => json!({ "pin": pin }),
        (None, Some(badge)) => json!({ "badge": badge }),
        (None, None) => json!({}),
    }
}

fn show(answer: &Answer) -> bool {
    println!("{}", answer.status);
    if !answer.body.is_null() {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer.body).unwrap_or_default()
        );
    }
    (200..300).contains(&answer.status)
}

fn load(config: &PathBuf) -> Result<Terminal, String> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| format!("{}: {e} (pair the terminal first)", config.display()))?;
    let paired: Paired =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    Ok(Terminal::new(paired))
}

async fn run(cli: Cli) -> Result<bool, String> {
    if let Command::Pair { api, code } = &cli.command {
        let paired =
            steward_terminal::pair(&reqwest::Client::new(), api.trim_end_matches('/'), code)
                .await
                .map_err(|e| e.to_string())?;
        if let Some(dir) = cli.config.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let text = serde_json::to_string_pretty(&paired).map_err(|e| e.to_string())?;
        std::fs::write(&cli.config, text).map_err(|e| e.to_string())?;
        println!(
            "paired terminal {} for room {}; credentials in {}",
            paired.terminal_id,
            paired.room_id,
            cli.config.display()
        );
        return Ok(true);
    }
    let terminal = load(&cli.config)?;
    let sent = |answer: Result<Answer, steward_terminal::TerminalError>| {
        answer.map(|a| show(&a)).map_err(|e| e.to_string())
    };
    match cli.command {
        Command::Pair { .. } => unreachable!("handled above"),
        Command::Status => sent(terminal.status().await),
        Command::CheckIn { pin, badge } => sent(
            terminal
                .post("/v1/terminal/check-in", &credential(pin, badge))
                .await,
        ),
        Command::WalkUp { badge, end } => {
            let mut body = json!({ "badge": badge });
            if let Some(end) = end {
                body["end"] = json!(end);
            }
            sent(terminal.post("/v1/terminal/walk-up", &body).await)
        }
        Command::End { pin, badge } => sent(
            terminal
                .post("/v1/terminal/end", &credential(pin, badge))
                .await,
        ),
        Command::Extend {
            pin,
            badge,
            minutes,
        } => {
            let mut body = credential(pin, badge);
            body["minutes"] = json!(minutes);
            sent(terminal.post("/v1/terminal/extend", &body).await)
        }
        Command::Heartbeat => sent(
            terminal
                .send(
                    Method::POST,
                    "/v1/terminal/heartbeat",
                    Some(&json!({ "app_version": "steward-terminal" })),
                )
                .await,
        ),
        Command::Sync { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
            let mut items: Vec<Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            for item in &mut items {
                item["kind"] = json!("check_in");
            }
            sent(
                terminal
                    .post("/v1/terminal/sync", &json!({ "items": items }))
                    .await,
            )
        }
        Command::Run { every, times } => {
            for round in 0..times {
                if round > 0 {
                    tokio::time::sleep(Duration::from_secs(every)).await;
                }
                let beat = terminal
                    .send(Method::POST, "/v1/terminal/heartbeat", None)
                    .await;
                match (beat, terminal.status().await) {
                    (Ok(_), Ok(status)) => println!(
                        "{} {} current={} next={}",
                        status.body["now"].as_str().unwrap_or("-"),
                        status.body["state"].as_str().unwrap_or("-"),
                        status.body["current"]["title"].as_str().unwrap_or("-"),
                        status.body["next"]["start"].as_str().unwrap_or("-"),
                    ),
                    (Err(e), _) | (_, Err(e)) => eprintln!("offline: {e}"),
                }
            }
            Ok(true)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(error) => {
            eprintln!("steward-terminal: {error}");
            ExitCode::FAILURE
        }
    }
}
