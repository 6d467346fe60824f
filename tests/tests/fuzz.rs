//! Fuzzing from docs/openapi.yaml: schemathesis (tests/fuzz/schemathesis.toml) sends generated
//! and mutated requests to every operation of a stack of its own, with the demo data loaded and
//! signed in, and checks every answer against the document: no 5xx, only declared statuses,
//! content types, headers and bodies, invalid input refused, nothing served without credentials.
//!
//! Bounded here (`make test`); `make fuzz` runs it long with `STEWARD_FUZZ_EXAMPLES`,
//! `STEWARD_FUZZ_PHASES`, `STEWARD_FUZZ_SECONDS` and `STEWARD_FUZZ_SEED`. Each run's figures
//! go to target/fuzz/<run>.json, which docs/reliability.md quotes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use steward_e2e::{PASSWORD, TestStack, repository_root};

/// The demo tenant's owner, as infra/demo/seed.json creates it.
const OWNER: (&str, &str) = ("owner@demo.steward.test", "demo owner passphrase 2026");

/// One schemathesis run: who signs in, and which operations it covers.
struct Run {
    name: &'static str,
    /// Who signs in: email and password.
    person: (String, &'static str),
    /// `--include-path-regex` or `--exclude-path-regex`, and the pattern.
    paths: (&'static str, &'static str),
}

/// What a run's report says.
#[derive(Debug, Default)]
struct Figures {
    operations: usize,
    cases: usize,
    checks: usize,
    failures: Vec<String>,
    errors: Vec<String>,
    statuses: BTreeMap<u16, usize>,
    /// Operations that answered something other than 401 at least once.
    reached: BTreeSet<String>,
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_to_fuzzed_requests_conforms_to_the_document() {
    let stack = TestStack::start().await;
    let sent_mail = steward_emulator::Emulator::shared()
        .endpoints()
        .sent_mail_url();
    steward_local::demo::load(
        &stack.url,
        &sent_mail,
        &repository_root().join("infra/demo/seed.json"),
    )
    .await
    .expect("the demo data loads");
    let operator = stack.operator().await;

    let runs = [
        Run {
            name: "tenant",
            person: (OWNER.0.to_owned(), OWNER.1),
            paths: ("--exclude-path-regex", "^/v1/admin/"),
        },
        Run {
            name: "operator",
            person: (operator.email.clone(), PASSWORD),
            paths: ("--include-path-regex", "^/v1/admin/"),
        },
    ];
    let out = repository_root().join("target/fuzz");
    std::fs::create_dir_all(&out).unwrap();
    let mut operations = 0;
    for run in &runs {
        // schemathesis runs for a while; the stack's tasks keep the runtime's other thread.
        let figures = tokio::task::spawn_blocking({
            let (url, dir) = (stack.url.clone(), out.clone());
            let (name, person, paths) = (run.name, run.person.clone(), run.paths);
            move || fuzz(&url, &dir, name, (&person.0, person.1), paths)
        })
        .await
        .unwrap();
        println!(
            "{}: {} operations, {} requests, {} checks, statuses {:?}",
            run.name, figures.operations, figures.cases, figures.checks, figures.statuses
        );
        assert!(
            figures.failures.is_empty() && figures.errors.is_empty(),
            "{}: failures {:#?}, errors {:#?}",
            run.name,
            figures.failures,
            figures.errors
        );
        assert!(
            !figures.statuses.keys().any(|status| *status >= 500),
            "{}: {:?}",
            run.name,
            figures.statuses
        );
        // Signed in for real: (nearly) every operation answered something other than 401.
        // Not a share of all answers: the checks of missing credentials are 401s by design, and
        // in a long run the per-source sign-in limit refuses the fuzzer's own sign-in for a while.
        assert!(
            figures.reached.len() * 10 >= figures.operations * 9,
            "{}: only {} of {} operations answered other than 401: {:?}",
            run.name,
            figures.reached.len(),
            figures.operations,
            figures.reached
        );
        assert!(
            figures.statuses.keys().any(|s| (200..300).contains(s)),
            "{}: nothing succeeded: {:?}",
            run.name,
            figures.statuses
        );
        operations += figures.operations;
        write_figures(&out, run.name, &figures);
    }
    let documented = document_operations();
    assert_eq!(
        operations, documented,
        "every operation of the document ran"
    );
}

/// Runs schemathesis against `url` signed in as `person`; its report's figures.
fn fuzz(
    url: &str,
    out: &Path,
    name: &str,
    person: (&str, &str),
    (flag, pattern): (&str, &str),
) -> Figures {
    let root = repository_root();
    let report = out.join(format!("{name}.ndjson"));
    let _ = std::fs::remove_file(&report);
    let mut command = Command::new(root.join(".venv/bin/schemathesis"));
    command
        .current_dir(out)
        .env("STEWARD_FUZZ_EMAIL", person.0)
        .env("STEWARD_FUZZ_PASSWORD", person.1)
        .arg("--config-file")
        .arg(root.join("tests/fuzz/schemathesis.toml"))
        .args(["--no-color", "run"])
        .arg(root.join("docs/openapi.yaml"))
        .args(["--url", url, flag, pattern])
        .args(["--max-examples", &setting("STEWARD_FUZZ_EXAMPLES", "10")])
        .args([
            "--phases",
            &setting("STEWARD_FUZZ_PHASES", "examples,coverage,fuzzing"),
        ])
        .args(["--seed", &setting("STEWARD_FUZZ_SEED", "1")])
        // One worker: the stack answers one request at a time per function anyway, and
        // schemathesis 4.32's coverage phase can fail inside Hypothesis with several.
        .args([
            "--workers",
            "1",
            "--report",
            "ndjson",
            "--report-ndjson-path",
        ])
        .arg(&report);
    if let Ok(seconds) = std::env::var("STEWARD_FUZZ_SECONDS") {
        command.args(["--max-time", &seconds]);
    }
    let output = command
        .output()
        .expect("schemathesis runs (make test installs it into .venv)");
    let figures = read_report(&report);
    if !output.status.success() && figures.failures.is_empty() && figures.errors.is_empty() {
        panic!(
            "{name}: schemathesis exited {:?}\n{}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    figures
}

/// The figures of an NDJSON report: one event per line; each finished scenario carries its
/// cases, the checks run on each, and the request and answer.
fn read_report(path: &PathBuf) -> Figures {
    let text = std::fs::read_to_string(path).expect("schemathesis wrote its report");
    let mut figures = Figures::default();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON event");
        if let Some(loaded) = event.get("LoadingFinished") {
            figures.operations = loaded["statistic"]["operations"]["selected"]
                .as_u64()
                .expect("selected operations") as usize;
        }
        let Some(scenario) = event.get("ScenarioFinished") else {
            continue;
        };
        let recorder = &scenario["recorder"];
        let label = recorder["label"].as_str().unwrap_or_default();
        if scenario["status"] == "error" {
            figures.errors.push(format!("{label}: {scenario}"));
        }
        if let Some(cases) = recorder["cases"].as_object() {
            figures.cases += cases.len();
        }
        for checks in recorder["checks"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values())
        {
            for check in checks.as_array().into_iter().flatten() {
                figures.checks += 1;
                if check["status"] == "failure" {
                    let failure = &check["failure_info"]["failure"];
                    figures.failures.push(format!(
                        "{label}: {} {}: {}",
                        failure["code"], failure["title"], failure["message"]
                    ));
                }
            }
        }
        for interaction in recorder["interactions"]
            .as_object()
            .into_iter()
            .flat_map(|i| i.values())
        {
            if let Some(status) = interaction["response"]["status_code"].as_u64() {
                *figures.statuses.entry(status as u16).or_default() += 1;
                if status != 401 {
                    figures.reached.insert(label.to_owned());
                }
            }
        }
    }
    figures
}

fn write_figures(out: &Path, name: &str, figures: &Figures) {
    let summary = json!({
        "run": name,
        "examples_per_operation": setting("STEWARD_FUZZ_EXAMPLES", "10"),
        "phases": setting("STEWARD_FUZZ_PHASES", "examples,coverage,fuzzing"),
        "seed": setting("STEWARD_FUZZ_SEED", "1"),
        "operations": figures.operations,
        "requests": figures.cases,
        "checks": figures.checks,
        "failures": figures.failures.len(),
        "statuses": figures.statuses,
    });
    std::fs::write(
        out.join(format!("{name}.json")),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();
}

/// How many operations docs/openapi.yaml has.
fn document_operations() -> usize {
    let text = std::fs::read_to_string(repository_root().join("docs/openapi.yaml")).unwrap();
    let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    document["paths"]
        .as_mapping()
        .expect("paths")
        .values()
        .map(|item| item.as_mapping().map_or(0, |methods| methods.len()))
        .sum()
}
