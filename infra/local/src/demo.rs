//! The demo data loader: sends infra/demo/seed.json's requests through the gateway, as a client
//! would, so demo data always passes the real API's checks.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Seed {
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
struct Step {
    name: String,
    method: String,
    path: String,
    #[serde(default)]
    body: Option<Value>,
    expect: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot read the seed {path}: {problem}")]
    Seed { path: String, problem: String },
    #[error("step {step:?}: {problem}")]
    Step { step: String, problem: String },
}

/// Runs every step against `base_url`; answers how many ran.
pub async fn load(base_url: &str, seed_path: &std::path::Path) -> Result<usize, DemoError> {
    let text = std::fs::read_to_string(seed_path).map_err(|e| DemoError::Seed {
        path: seed_path.display().to_string(),
        problem: e.to_string(),
    })?;
    let seed: Seed = serde_json::from_str(&text).map_err(|e| DemoError::Seed {
        path: seed_path.display().to_string(),
        problem: e.to_string(),
    })?;
    let client = reqwest::Client::new();
    for step in &seed.steps {
        let fail = |problem: String| DemoError::Step {
            step: step.name.clone(),
            problem,
        };
        let method =
            reqwest::Method::from_bytes(step.method.as_bytes()).map_err(|e| fail(e.to_string()))?;
        let mut request = client.request(method, format!("{base_url}{}", step.path));
        if let Some(body) = &step.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        if status != step.expect {
            let body = response.text().await.unwrap_or_default();
            return Err(fail(format!(
                "answered {status}, expected {}: {body}",
                step.expect
            )));
        }
    }
    Ok(seed.steps.len())
}
