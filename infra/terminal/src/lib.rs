//! A door terminal as a program: what it keeps after pairing ([`Paired`]) and a client that
//! signs every request as docs/terminals.md says ([`Terminal`]). The simulator binary and the
//! end-to-end tests both drive the API through it, so the tests sign as a terminal does.

use jiff::Timestamp;
use reqwest::{Method, RequestBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_domain::terminal::signature::{Credential, Signed, sign};

/// What a terminal keeps once paired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paired {
    /// The API's base URL (`http://127.0.0.1:8080`).
    pub api: String,
    pub tenant_id: String,
    pub terminal_id: String,
    pub room_id: String,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("pairing refused ({status}): {body}")]
    Pairing { status: u16, body: Value },
}

/// An answer: status and JSON body (`null` when there is none).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// How one request is signed; tests change a part to play an attacker.
#[derive(Debug, Clone)]
pub struct Signing {
    pub timestamp: i64,
    pub nonce: String,
    pub secret: String,
}

/// A fresh nonce: 24 characters of A-Z a-z 0-9.
pub fn new_nonce() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Exchanges a pairing code for the terminal's secret.
pub async fn pair(http: &reqwest::Client, api: &str, code: &str) -> Result<Paired, TerminalError> {
    let response = http
        .post(format!("{api}/v1/terminals/pair"))
        .json(&serde_json::json!({ "pairing_code": code }))
        .send()
        .await?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status != 200 {
        return Err(TerminalError::Pairing { status, body });
    }
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    Ok(Paired {
        api: api.to_owned(),
        tenant_id: field("tenant_id"),
        terminal_id: field("terminal_id"),
        room_id: field("room_id"),
        secret: field("secret"),
    })
}

/// A paired terminal's client.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub paired: Paired,
    pub http: reqwest::Client,
}

impl Terminal {
    pub fn new(paired: Paired) -> Self {
        Self {
            paired,
            http: reqwest::Client::new(),
        }
    }

    pub fn credential(&self) -> Credential {
        Credential {
            tenant_id: self.paired.tenant_id.clone(),
            terminal_id: self.paired.terminal_id.clone(),
        }
    }

    /// How a request is signed now, with this terminal's secret.
    pub fn signing(&self) -> Signing {
        Signing {
            timestamp: Timestamp::now().as_second(),
            nonce: new_nonce(),
            secret: self.paired.secret.clone(),
        }
    }

    /// The request `method path` with `body`, signed as `signing` says (`body` is sent as is:
    /// a test may send other bytes than those signed).
    pub fn request(
        &self,
        method: Method,
        path: &str,
        signed_body: &[u8],
        sent_body: Vec<u8>,
        signing: &Signing,
    ) -> RequestBuilder {
        let authorization = sign(
            &self.credential(),
            &signing.secret,
            signing.timestamp,
            &signing.nonce,
            Signed {
                method: method.as_str(),
                path,
                body: signed_body,
            },
        );
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.paired.api))
            .header(reqwest::header::AUTHORIZATION, authorization);
        if !sent_body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(sent_body);
        }
        request
    }

    /// Sends a request signed now.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, TerminalError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let request = self.request(method, path, &bytes, bytes.clone(), &self.signing());
        answer(request).await
    }

    pub async fn status(&self) -> Result<Answer, TerminalError> {
        self.send(Method::GET, "/v1/terminal/status", None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Answer, TerminalError> {
        self.send(Method::POST, path, Some(body)).await
    }
}

/// Sends a built request and reads its answer.
pub async fn answer(request: RequestBuilder) -> Result<Answer, TerminalError> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        headers,
        body,
    })
}
