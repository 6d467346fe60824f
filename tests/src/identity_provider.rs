//! A real OpenID provider for the single sign-on tests: tests/identity-provider/provider.mjs
//! (oidc-provider from npm, installed here on first use), listening on 127.0.0.1 and stopped
//! when dropped. It signs people in through its own login page, as a person would.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{Value, json};

use crate::repository_root;

/// The provider's process; it exits when this is dropped (its standard input closes).
pub struct IdentityProvider {
    child: Child,
    _stdin: ChildStdin,
    pub issuer: String,
    http: reqwest::Client,
}

/// Installs the provider's npm packages once per test process (`npm ci`, when the lock file is
/// newer than what is installed).
fn install() {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return;
    }
    let folder = repository_root().join("tests/identity-provider");
    let modules = folder.join("node_modules");
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if modified(&modules) < modified(&folder.join("package-lock.json")) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&folder)
            .status()
            .expect("npm runs (Node 20)");
        assert!(status.success(), "npm ci in tests/identity-provider failed");
        // npm ci recreates node_modules; its time is then later than the lock file's.
        let _ = Command::new("touch").arg(&modules).status();
    }
    *installed = true;
}

impl IdentityProvider {
    /// A provider with one client (`client_id`, `client_secret`, sending people back to
    /// `redirect_uri`) and `accounts` (login → `email`, `email_verified`, `name`, `groups`).
    pub fn start(
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        accounts: Value,
    ) -> Self {
        install();
        let settings = json!({
            "client": {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": [redirect_uri],
            },
            "accounts": accounts,
        });
        let mut child = Command::new("node")
            .arg(repository_root().join("tests/identity-provider/provider.mjs"))
            .arg(settings.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts the provider");
        let stdin = child.stdin.take().expect("piped");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        stdout
            .read_line(&mut first)
            .expect("the provider reports where it listens");
        // Whatever it prints later is read and dropped: a closed pipe would end it at its
        // next line (EPIPE), a full one would stall it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = serde_json::from_str::<Value>(&first)
            .ok()
            .and_then(|v| v["issuer"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("the provider said {first:?}"));
        Self {
            child,
            _stdin: stdin,
            issuer,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
        }
    }

    /// The next ID token the provider answers is rewritten `how` (provider.mjs lists them).
    pub async fn tamper_next_id_token(&self, how: &str) {
        let status = self
            .http
            .post(format!("{}/_test/next-id-token", self.issuer))
            .body(json!({ "tamper": how }).to_string())
            .send()
            .await
            .expect("the provider answers")
            .status();
        assert_eq!(status, 204);
    }

    /// `login`'s groups, in the ID tokens from now on.
    pub async fn set_groups(&self, login: &str, groups: &[&str]) {
        let status = self
            .http
            .post(format!("{}/_test/groups", self.issuer))
            .body(json!({ "login": login, "groups": groups }).to_string())
            .send()
            .await
            .expect("the provider answers")
            .status();
        assert_eq!(status, 204);
    }

    /// The provider signs with a new key from now on, published beside the old one.
    pub async fn rotate_keys(&self) {
        let status = self
            .http
            .post(format!("{}/_test/rotate-keys", self.issuer))
            .send()
            .await
            .expect("the provider answers")
            .status();
        assert_eq!(status, 204);
    }

    /// Stops the provider: it is down from now on.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Signs `login` in at the provider as a browser would: opens `authorization_url` (where
    /// Steward's start sent the browser), submits the provider's login form, and follows the
    /// provider's redirects until it sends the browser back: that URL (Steward's callback,
    /// with the code and the state).
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> String {
        let mut cookies: BTreeMap<String, String> = BTreeMap::new();
        let mut url = authorization_url.to_owned();
        let mut form: Option<Vec<(&str, &str)>> = None;
        for _ in 0..10 {
            if !url.starts_with(&self.issuer) {
                return url;
            }
            let request = match form.take() {
                Some(fields) => self.http.post(&url).form(&fields),
                None => self.http.get(&url),
            };
            let cookie = cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            let response = request
                .header(reqwest::header::COOKIE, cookie)
                .send()
                .await
                .expect("the provider answers");
            for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
                let pair = set.to_str().unwrap_or("").split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
            let status = response.status();
            match response.headers().get(reqwest::header::LOCATION) {
                Some(location) => {
                    let location = location.to_str().expect("a location").to_owned();
                    url = if location.starts_with('/') {
                        format!("{}{location}", self.issuer)
                    } else {
                        location
                    };
                }
                // The login page: its form is sent back with the login (any password).
                None if status == 200 && url.contains("/interaction/") => {
                    form = Some(vec![
                        ("prompt", "login"),
                        ("login", login),
                        ("password", "any"),
                    ]);
                }
                None => panic!(
                    "the provider answered {status} at {url}: {}",
                    response.text().await.unwrap_or_default()
                ),
            }
        }
        panic!("the provider never sent the browser back");
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        self.stop();
    }
}
