//! `make verify-build` (issue 25): the deploy artifacts themselves, started. Each function's zip
//! from `make build` is unpacked and its arm64 `bootstrap` started as Lambda would start it,
//! under qemu-user here: under a local Runtime API, against the emulator and a local stack, with
//! the environment the template gives the function and the event the cold-start benchmark gives
//! it ([`cold_start::event_for`]). Its answer is checked against what that event must get.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use steward_local::HookReport;

use crate::cold_start::{self, EventKind, Subject};
use crate::runtime_api::Outcome;

/// ELF's machine number for arm64 (`EM_AARCH64`), what Lambda's arm64 hosts run.
const EM_AARCH64: u16 = 183;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
}

/// Unpacks `zip` (a function's `bootstrap.zip`) into `into`, keeping the files' modes; the path
/// of its `bootstrap`.
pub fn unpack(zip: &Path, into: &Path) -> Result<PathBuf, VerifyError> {
    let zip_error = |source| VerifyError::Zip {
        path: zip.to_owned(),
        source,
    };
    let file = std::fs::File::open(zip).map_err(|source| VerifyError::Io {
        path: zip.to_owned(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(zip_error)?;
    archive.extract(into).map_err(zip_error)?;
    Ok(into.join("bootstrap"))
}

/// The ELF machine number `binary` is built for; none if it is not an ELF file.
pub fn elf_machine(binary: &Path) -> Option<u16> {
    let mut header = [0_u8; 20];
    std::fs::File::open(binary)
        .and_then(|mut file| file.read_exact(&mut header))
        .ok()?;
    if header[..4] != *b"\x7fELF" {
        return None;
    }
    // `e_machine`, in the byte order `EI_DATA` names (2: big-endian).
    let bytes = [header[18], header[19]];
    Some(match header[5] {
        2 => u16::from_be_bytes(bytes),
        _ => u16::from_le_bytes(bytes),
    })
}

/// One function's artifact, started once.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub function: String,
    pub event: &'static str,
    pub bootstrap_bytes: u64,
    pub init_ms: f64,
    pub answer_ms: f64,
    pub passed: bool,
    /// What it answered, in words, or what was wrong.
    pub finding: String,
}

fn json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("answered something not JSON ({e})"))
}

fn status(answer: &Value) -> Option<u64> {
    answer["statusCode"].as_u64()
}

/// Whether `outcome` is what a function must answer to an event of `kind`: `Ok` says what it
/// answered, `Err` what was wrong. A hook's answer is the status it reported to CodeDeploy.
pub fn check(kind: EventKind, outcome: &Outcome, reports: &[HookReport]) -> Result<String, String> {
    let body = match outcome {
        Outcome::Answered(body) => body,
        Outcome::Failed(body) => {
            let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(format!("reported an error: {shown}"));
        }
    };
    let answer = json(body)?;
    match kind {
        EventKind::Schedule | EventKind::Floor if answer.is_object() => {
            Ok(format!("{answer}").chars().take(120).collect())
        }
        EventKind::Schedule | EventKind::Floor => Err(format!("answered {answer}, not an object")),
        EventKind::EmptyBatch => match answer["batchItemFailures"].as_array() {
            Some(failures) if failures.is_empty() => Ok("no batch item failures".into()),
            _ => Err(format!("answered {answer} to an empty batch")),
        },
        EventKind::Health => match status(&answer) {
            Some(200) => Ok("200, the table read".into()),
            other => Err(format!("health answered {other:?}: {answer}")),
        },
        EventKind::HttpWithoutIdentity => {
            let problem = answer["headers"]["content-type"] == "application/problem+json";
            match status(&answer) {
                Some(401) if problem => Ok("401 problem+json (no identity)".into()),
                other => Err(format!("answered {other:?} to a request without identity")),
            }
        }
        EventKind::AuthorizerBadToken => match answer["context"]["authenticated"].as_str() {
            Some("false") => Ok(format!(
                "unauthenticated ({})",
                answer["context"]["reason"].as_str().unwrap_or("no reason")
            )),
            _ => Err(format!("decided {answer} for a token that does not verify")),
        },
        EventKind::CodeDeployHook => {
            let report = reports
                .iter()
                .find(|r| r.lifecycle_event_hook_execution_id == cold_start::HOOK_EXECUTION_ID);
            match report {
                Some(report) if report.status == "Succeeded" => {
                    Ok("its smoke checks passed; Succeeded reported to CodeDeploy".into())
                }
                Some(report) => Err(format!("reported {} to CodeDeploy", report.status)),
                None => Err("reported nothing to CodeDeploy".into()),
            }
        }
    }
}

/// Starts each subject once (under its launcher) and checks its answer; `reports` reads what
/// the stack's CodeDeploy was told so far.
pub async fn verify(subjects: &[Subject], reports: impl Fn() -> Vec<HookReport>) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for subject in subjects {
        eprintln!("verify-build: starting {}", subject.name);
        let bootstrap_bytes = std::fs::metadata(&subject.binary).map_or(0, |m| m.len());
        let verdict = |passed, finding, init_ms, answer_ms| Verdict {
            function: subject.name.clone(),
            event: subject.event_kind.label(),
            bootstrap_bytes,
            init_ms,
            answer_ms,
            passed,
            finding,
        };
        let machine = elf_machine(&subject.binary);
        if machine != Some(EM_AARCH64) {
            let finding = format!("{} is not an arm64 executable", subject.binary.display());
            verdicts.push(verdict(false, finding, f64::NAN, f64::NAN));
            continue;
        }
        verdicts.push(match cold_start::start_once(subject).await {
            Ok((start, outcome)) => {
                let (passed, finding) = match check(subject.event_kind, &outcome, &reports()) {
                    Ok(finding) => (true, finding),
                    Err(finding) => (false, finding),
                };
                verdict(passed, finding, start.init_ms, start.answer_ms)
            }
            Err(error) => verdict(false, error.to_string(), f64::NAN, f64::NAN),
        });
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use serde_json::json;

    fn answered(value: Value) -> Outcome {
        Outcome::Answered(Bytes::from(value.to_string()))
    }

    #[test]
    fn a_request_without_identity_must_be_refused_with_a_problem() {
        let refused = json!({ "statusCode": 401,
            "headers": { "content-type": "application/problem+json" }, "body": "{}" });
        let answered_ok = json!({ "statusCode": 200, "headers": {}, "body": "[]" });
        let kind = EventKind::HttpWithoutIdentity;
        assert!(check(kind, &answered(refused), &[]).is_ok());
        assert!(check(kind, &answered(answered_ok), &[]).is_err());
        let failed = Outcome::Failed(Bytes::from_static(b"{\"errorType\":\"Panic\"}"));
        let error = check(kind, &failed, &[]).unwrap_err();
        assert!(error.contains("Panic"), "{error}");
    }

    #[test]
    fn a_hook_passes_only_if_it_reported_success_to_codedeploy() {
        let report = |status: &str| HookReport {
            deployment_id: "d-BENCH".into(),
            lifecycle_event_hook_execution_id: cold_start::HOOK_EXECUTION_ID.into(),
            status: status.into(),
        };
        let kind = EventKind::CodeDeployHook;
        let outcome = answered(json!({}));
        assert!(check(kind, &outcome, &[report("Succeeded")]).is_ok());
        assert!(check(kind, &outcome, &[report("Failed")]).is_err());
        assert!(check(kind, &outcome, &[]).is_err());
    }

    #[test]
    fn an_empty_batch_must_report_no_failures() {
        let kind = EventKind::EmptyBatch;
        let none = json!({ "batchItemFailures": [] });
        let one = json!({ "batchItemFailures": [{ "itemIdentifier": "m1" }] });
        assert!(check(kind, &answered(none), &[]).is_ok());
        assert!(check(kind, &answered(one), &[]).is_err());
    }

    #[test]
    fn the_machine_of_an_elf_file_is_read_from_its_header() {
        let dir = std::env::temp_dir().join(format!("verify-build-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut header = vec![0_u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[5] = 1;
        header[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
        let arm64 = dir.join("arm64");
        std::fs::write(&arm64, &header).unwrap();
        let script = dir.join("script");
        std::fs::write(&script, b"#!/bin/sh\nexit 0\n").unwrap();
        assert_eq!(elf_machine(&arm64), Some(EM_AARCH64));
        assert_eq!(elf_machine(&script), None);
        // This test's own binary is an ELF file of the host's machine.
        let host = std::env::current_exe().unwrap();
        assert!(elf_machine(&host).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
