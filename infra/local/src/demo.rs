//! The demo data loader: sends infra/demo/seed.json's requests through the gateway, as a client
//! would, so demo data always passes the real API's checks.
//!
//! A step can `save` values of its answer (JSON pointers) under names, and later steps use them
//! as `{{name}}` in their path and body, or as their bearer token (`as`). `{{day+N}}` (N from 0
//! to 60) is the UTC date N days from the load, so demo bookings are always in the future;
//! `{{in+N}}` (N from 0 to 120) the instant N minutes from the load, to the second.
//!
//! A step with a `file` sends that file (beside the seed) as its body, to a `path` that may be a
//! whole URL (a presigned upload saved from an earlier answer), with its `headers`.
//!
//! A step with `mail` sends nothing: it waits for the newest email to `to` with `subject` in the
//! emulator's sent mail, as its reader would open it, and answers `{"token": …}`, the token its
//! link carries (`#token=`), for `save`. That is how the demo's owner confirms the sign-up.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Seed {
    steps: Vec<Step>,
}

/// A request to send, or an email to read.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Step {
    Request(RequestStep),
    Mail(MailStep),
}

impl Step {
    fn name(&self) -> &str {
        match self {
            Self::Request(step) => &step.name,
            Self::Mail(step) => &step.name,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailStep {
    name: String,
    mail: MailQuery,
    /// Name → JSON pointer into `{"token": …}`.
    save: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailQuery {
    to: String,
    subject: String,
}

#[derive(Debug, Deserialize)]
struct RequestStep {
    name: String,
    method: String,
    path: String,
    #[serde(default)]
    body: Option<Value>,
    /// A file beside the seed, sent as the body.
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The saved name of the access token to send.
    #[serde(default, rename = "as")]
    bearer: Option<String>,
    /// Name → JSON pointer into the answer.
    #[serde(default)]
    save: BTreeMap<String, String>,
    expect: u16,
}

/// `text` with every `{{name}}` replaced by its saved value.
fn substitute(text: &str, saved: &BTreeMap<String, String>) -> String {
    saved.iter().fold(text.to_owned(), |text, (name, value)| {
        text.replace(&format!("{{{{{name}}}}}"), value)
    })
}

/// `day+0` to `day+60`: the UTC dates from `now` on; `in+0` to `in+120`: the instants
/// minute by minute from `now`.
fn dates_ahead(now: jiff::Timestamp) -> BTreeMap<String, String> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let whole = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    let instants = (0..=120).map(|n| {
        let at = whole + jiff::SignedDuration::from_mins(n);
        (format!("in+{n}"), at.to_string())
    });
    (0..=60)
        .filter_map(|n| {
            let date = today
                .checked_add(jiff::SignedDuration::from_hours(24 * n))
                .ok()?;
            Some((format!("day+{n}"), date.to_string()))
        })
        .chain(instants)
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot read the seed {path}: {problem}")]
    Seed { path: String, problem: String },
    #[error("step {step:?}: {problem}")]
    Step { step: String, problem: String },
}

/// What loading the demo left: how many steps ran and the values they saved (the pairing codes
/// and PIN `make run` prints).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub steps: usize,
    pub saved: BTreeMap<String, String>,
}

/// Runs every step against `base_url`, reading mail from the emulator's sent mail at
/// `sent_mail_url`.
pub async fn load(
    base_url: &str,
    sent_mail_url: &str,
    seed_path: &std::path::Path,
) -> Result<Loaded, DemoError> {
    let text = std::fs::read_to_string(seed_path).map_err(|e| DemoError::Seed {
        path: seed_path.display().to_string(),
        problem: e.to_string(),
    })?;
    let seed: Seed = serde_json::from_str(&text).map_err(|e| DemoError::Seed {
        path: seed_path.display().to_string(),
        problem: e.to_string(),
    })?;
    let client = reqwest::Client::new();
    let mut saved = dates_ahead(jiff::Timestamp::now());
    for step in &seed.steps {
        let fail = |problem: String| DemoError::Step {
            step: step.name().to_owned(),
            problem,
        };
        let (answer, save) = match step {
            Step::Request(step) => {
                let answer = send(&client, base_url, seed_path, step, &saved).await;
                (answer.map_err(fail)?, &step.save)
            }
            Step::Mail(step) => {
                let token = newest_link_token(&client, sent_mail_url, &step.mail).await;
                (json!({ "token": token.map_err(fail)? }), &step.save)
            }
        };
        for (name, pointer) in save {
            let value = match answer.pointer(pointer) {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => return Err(fail(format!("the answer has no {pointer}"))),
            };
            saved.insert(name.clone(), value);
        }
    }
    Ok(Loaded {
        steps: seed.steps.len(),
        saved,
    })
}

/// Sends one request step; its answer (JSON, or null when nothing is saved from it).
async fn send(
    client: &reqwest::Client,
    base_url: &str,
    seed_path: &std::path::Path,
    step: &RequestStep,
    saved: &BTreeMap<String, String>,
) -> Result<Value, String> {
    let method = reqwest::Method::from_bytes(step.method.as_bytes()).map_err(|e| e.to_string())?;
    let path = substitute(&step.path, saved);
    let url = if path.starts_with("http") {
        path
    } else {
        format!("{base_url}{path}")
    };
    let mut request = client.request(method, url);
    for (name, value) in &step.headers {
        request = request.header(name, substitute(value, saved));
    }
    if let Some(file) = &step.file {
        let beside = seed_path.with_file_name(file);
        let bytes =
            std::fs::read(&beside).map_err(|e| format!("cannot read {}: {e}", beside.display()))?;
        request = request.body(bytes);
    }
    if let Some(body) = &step.body {
        let body: Value = serde_json::from_str(&substitute(&body.to_string(), saved))
            .map_err(|e| e.to_string())?;
        request = request.json(&body);
    }
    if let Some(name) = &step.bearer {
        let token = saved
            .get(name)
            .ok_or_else(|| format!("nothing saved as {name:?}"))?;
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    if status != step.expect {
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "answered {status}, expected {}: {body}",
            step.expect
        ));
    }
    if step.save.is_empty() {
        return Ok(Value::Null);
    }
    response.json().await.map_err(|e| e.to_string())
}

/// The token the link of the newest email to `query.to` with `query.subject` carries, waiting
/// up to half a minute for it (the account mail queue delivers it).
async fn newest_link_token(
    client: &reqwest::Client,
    sent_mail_url: &str,
    query: &MailQuery,
) -> Result<String, String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let sent: Vec<Value> = client
            .get(sent_mail_url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let newest = sent.iter().rev().find(|mail| {
            mail["subject"] == query.subject.as_str()
                && mail["destinations"].to_string().contains(&query.to)
        });
        if let Some(token) = newest.and_then(|mail| link_token(&mail.to_string())) {
            return Ok(token);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "no email to {} with subject {:?} within 30 s",
                query.to, query.subject
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The token a link in `text` carries in its fragment (`#token=`): ids and URL-safe base64,
/// joined by dots.
pub fn link_token(text: &str) -> Option<String> {
    let start = text.find("#token=")? + "#token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    (!token.is_empty()).then_some(token)
}
