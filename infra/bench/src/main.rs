//! `steward-bench`: the benchmarks `make bench` runs that are not cargo benches. Each writes its
//! results as JSON under `--out` (read by `infra/bench/report.py`, which writes
//! docs/performance.md) and prints a table.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use steward_bench::{cold_start, verify_build};

#[derive(Parser)]
#[command(about = "Steward's benchmarks (make bench)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cold start of every function's release binary against the two floors.
    ColdStart {
        /// Where the release binaries are (`cargo build --release` of the functions and of
        /// this crate's floors).
        #[arg(long, default_value = "target/release")]
        binaries: PathBuf,
        /// Measured starts per binary (after one unmeasured start each).
        #[arg(long, default_value_t = 10)]
        runs: usize,
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
        /// Only these subjects (function logical ids, `floor-hello`, `floor-sdk`).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// `LABEL=DIR`: the same subjects also from DIR, another build of them (a lever left
        /// off), measured in the same run, interleaved; named `<subject> [LABEL]`. Or
        /// `LABEL=env:NAME=VALUE`: the same binaries started with NAME set to VALUE (a switch).
        #[arg(long = "variant")]
        variants: Vec<String>,
        /// The results file: `<name>.json` under `--out`.
        #[arg(long, default_value = "cold-start")]
        name: String,
    },
    /// `make build`'s arm64 zips, each unpacked and its bootstrap started once under qemu-user
    /// against the local stack, its answer checked.
    VerifyBuild {
        /// `make build`'s output: `<binary>/bootstrap.zip` per function.
        #[arg(long, default_value = "build")]
        bundles: PathBuf,
        /// Where the zips are unpacked, with each process's output beside its bootstrap.
        #[arg(long, default_value = "target/verify-build")]
        work: PathBuf,
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
        /// The program each bootstrap is started under, with its arguments (whitespace
        /// separated); empty on an arm64 host.
        #[arg(long, default_value = "qemu-aarch64-static -L /usr/aarch64-linux-gnu")]
        launcher: String,
    },
}

/// What a cold-start run measures.
struct Selection {
    only: Vec<String>,
    variants: Vec<(String, Variant)>,
    name: String,
}

/// How a variant differs from the subjects it repeats.
enum Variant {
    /// Another build, in this directory.
    Binaries(PathBuf),
    /// The same build, with this environment variable set.
    Environment(String, String),
}

impl Variant {
    fn parse(text: &str) -> Option<(String, Self)> {
        let (label, what) = text.split_once('=')?;
        let variant = match what.strip_prefix("env:") {
            Some(pair) => {
                let (name, value) = pair.split_once('=')?;
                Self::Environment(name.to_owned(), value.to_owned())
            }
            None => Self::Binaries(PathBuf::from(what)),
        };
        Some((label.to_owned(), variant))
    }
}

impl Selection {
    fn new(only: Vec<String>, variants: &[String], name: String) -> Result<Self, String> {
        let variants = variants
            .iter()
            .map(|variant| {
                Variant::parse(variant).ok_or_else(|| {
                    format!("--variant {variant}: LABEL=DIR or LABEL=env:NAME=VALUE")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            only,
            variants,
            name,
        })
    }

    /// The subjects chosen, then each again from every variant's directory.
    fn apply(&self, subjects: Vec<cold_start::Subject>) -> Vec<cold_start::Subject> {
        let chosen: Vec<cold_start::Subject> = subjects
            .into_iter()
            .filter(|s| self.only.is_empty() || self.only.contains(&s.name))
            .collect();
        let mut all = chosen.clone();
        for (label, how) in &self.variants {
            all.extend(chosen.iter().map(|subject| {
                let mut variant = subject.clone();
                variant.name = format!("{} [{label}]", subject.name);
                match how {
                    Variant::Binaries(dir) => {
                        if let Some(file) = subject.binary.file_name() {
                            variant.binary = dir.join(file);
                        }
                    }
                    Variant::Environment(name, value) => {
                        variant.environment.retain(|(key, _)| key != name);
                        variant.environment.push((name.clone(), value.clone()));
                    }
                }
                variant
            }));
        }
        all
    }
}

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn cold_start(
    binaries: PathBuf,
    runs: usize,
    out: PathBuf,
    selection: Selection,
) -> Result<(), Box<dyn std::error::Error>> {
    let local = LocalStack::start().await?;
    let subjects = selection.apply(cold_start::subjects(
        &local.template,
        &local.stack,
        &local.endpoints.environment(),
        &binaries,
        STACK_NAME,
    ));
    let summaries = cold_start::measure(&subjects, runs).await?;
    let floor = |name: &str| {
        summaries
            .iter()
            .find(|s| s.name == name)
            .map_or(f64::NAN, |s| s.init_ms_median)
    };
    let sdk_floor = floor("floor-sdk");
    println!(
        "{:<28} {:>10} {:>10} {:>9} {:>10}  event",
        "function", "init ms", "answer ms", "× SDK", "binary MB"
    );
    for summary in &summaries {
        println!(
            "{:<28} {:>10.1} {:>10.1} {:>9.2} {:>10.1}  {}{}",
            summary.name,
            summary.init_ms_median,
            summary.answer_ms_median,
            summary.init_ms_median / sdk_floor,
            summary.binary_bytes as f64 / 1_048_576.0,
            summary.event,
            if summary.failed > 0 {
                format!(" ({} answered with an error)", summary.failed)
            } else {
                String::new()
            },
        );
    }
    std::fs::create_dir_all(&out)?;
    let results = serde_json::json!({
        "benchmark": "cold-start",
        "runs": runs,
        "floors": { "hello": floor("floor-hello"), "sdk": sdk_floor },
        "results": summaries,
    });
    std::fs::write(
        out.join(format!("{}.json", selection.name)),
        serde_json::to_vec_pretty(&results)?,
    )?;
    local.stack.stop().await;
    Ok(())
}

/// `make build`'s zips, each unpacked and started once under `launcher`: true if every one
/// answered its event as it must.
async fn verify_build(
    bundles: PathBuf,
    work: PathBuf,
    out: PathBuf,
    launcher: Vec<String>,
) -> Result<bool, Box<dyn std::error::Error>> {
    let local = LocalStack::start().await?;
    let mut unpacked = std::collections::BTreeMap::new();
    for function in &local.template.functions {
        let zip = bundles.join(&function.binary).join("bootstrap.zip");
        let into = work.join(&function.binary);
        unpacked.insert(function.binary.clone(), verify_build::unpack(&zip, &into)?);
    }
    let binary_of = |function: &steward_template::Function| unpacked[&function.binary].clone();
    let mut subjects = cold_start::function_subjects(
        &local.template,
        &local.stack,
        &local.endpoints.environment(),
        binary_of,
        STACK_NAME,
    );
    for subject in &mut subjects {
        subject.launcher = launcher.clone();
        subject.log = subject.binary.parent().map(|dir| dir.join("output.log"));
        // The deploy check's Lambda and CodeDeploy calls go to the stack, as in-process.
        subject
            .environment
            .extend(local.stack.service_environment());
    }
    let verdicts = verify_build::verify(&subjects, || local.stack.hook_reports()).await;
    println!(
        "{:<28} {:>8} {:>10} {:>10}  {:<24} finding",
        "function", "verdict", "init ms", "answer ms", "event"
    );
    for verdict in &verdicts {
        println!(
            "{:<28} {:>8} {:>10.1} {:>10.1}  {:<24} {}",
            verdict.function,
            if verdict.passed { "ok" } else { "FAILED" },
            verdict.init_ms,
            verdict.answer_ms,
            verdict.event,
            verdict.finding,
        );
    }
    std::fs::create_dir_all(&out)?;
    let results = serde_json::json!({
        "benchmark": "verify-build",
        "launcher": launcher.join(" "),
        "results": verdicts,
    });
    std::fs::write(
        out.join("verify-build.json"),
        serde_json::to_vec_pretty(&results)?,
    )?;
    local.stack.stop().await;
    Ok(verdicts.iter().all(|verdict| verdict.passed))
}

/// The physical-name prefix of the stack the functions are started against.
const STACK_NAME: &str = "bench";

/// The emulator and a local stack of the template, which the started binaries use.
struct LocalStack {
    /// Kept for the run: dropping it stops the emulator.
    _emulator: steward_emulator::Emulator,
    endpoints: steward_emulator::Endpoints,
    stack: steward_local::Stack,
    template: steward_template::Template,
}

impl LocalStack {
    async fn start() -> Result<Self, Box<dyn std::error::Error>> {
        let emulator = steward_emulator::Emulator::start()?;
        let endpoints = emulator.endpoints();
        let template_path = repository_root().join("template.yaml");
        let stack = steward_local::Stack::start(steward_local::StackOptions::new(
            &template_path,
            STACK_NAME,
            endpoints.clone(),
        ))
        .await?;
        let template = steward_template::Template::load(&template_path)?;
        Ok(Self {
            _emulator: emulator,
            endpoints,
            stack,
            template,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::ColdStart {
            binaries,
            runs,
            out,
            only,
            variants,
            name,
        } => match Selection::new(only, &variants, name) {
            Ok(selection) => cold_start(binaries, runs, out, selection).await,
            Err(error) => Err(error.into()),
        },
        Command::VerifyBuild {
            bundles,
            work,
            out,
            launcher,
        } => {
            let launcher = launcher.split_whitespace().map(str::to_owned).collect();
            match verify_build(bundles, work, out, launcher).await {
                Ok(true) => Ok(()),
                Ok(false) => Err("a function's artifact did not answer as it must".into()),
                Err(error) => Err(error),
            }
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
