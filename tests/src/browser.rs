//! The browser tests' driver: a script of web/tests (playwright-core driving Debian's chromium)
//! run against a stack, speaking the line protocol of web/tests/harness.mjs.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::OnceCell;

use crate::repository_root;

/// Longest a script may run: each stops itself sooner (harness.mjs, 120 s by default).
const LIMIT: Duration = Duration::from_secs(180);

/// What a script reported: the steps that passed, in order, and axe-core's figures per state
/// (`<state> <rules passed> <violations>`, none of them serious or critical).
#[derive(Debug, Default)]
pub struct BrowserRun {
    pub steps: Vec<String>,
    pub axe: Vec<String>,
}

/// web/install.sh --browser, once per test binary: chromium and the Node packages.
async fn installed() {
    static INSTALLED: OnceCell<()> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            let status = tokio::process::Command::new("bash")
                .arg(repository_root().join("web/install.sh"))
                .arg("--browser")
                .status()
                .await
                .expect("bash runs");
            assert!(status.success(), "web/install.sh --browser failed");
        })
        .await;
}

/// Runs `web/tests/<script>` with `env`; `answer` replies to each of its `@@ask <what>` lines.
/// Err names the step that failed (and the steps that passed before it).
pub async fn run_browser_test(
    script: &str,
    env: &[(&str, String)],
    mut answer: impl AsyncFnMut(&str) -> String,
) -> Result<BrowserRun, String> {
    installed().await;
    let tests = repository_root().join("web/tests");
    let mut child = tokio::process::Command::new("node")
        .arg(tests.join(script))
        .current_dir(&tests)
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().expect("piped");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut run = BrowserRun::default();
    let outcome = tokio::time::timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.expect("reads the script") {
            if let Some(what) = line.strip_prefix("@@ask ") {
                let reply = answer(what).await;
                stdin
                    .write_all(format!("{reply}\n").as_bytes())
                    .await
                    .expect("answers the script");
            } else if let Some(step) = line.strip_prefix("@@step ") {
                run.steps.push(step.to_owned());
            } else if let Some(figures) = line.strip_prefix("@@axe ") {
                println!("axe {script}: {figures}");
                run.axe.push(figures.to_owned());
            } else if line == "@@done" {
                return Ok(());
            } else if let Some(reason) = line.strip_prefix("@@failed ") {
                return Err(reason.to_owned());
            }
        }
        Err("the script ended without @@done".to_owned())
    })
    .await
    .unwrap_or_else(|_| Err(format!("{script} did not finish in {LIMIT:?}")));
    let exit = child.wait().await.expect("node exits");
    match outcome {
        Ok(()) if exit.success() => Ok(run),
        Ok(()) => Err(format!("{script} said @@done but exited {exit}")),
        Err(reason) => Err(format!("{reason} (steps passed: {:?})", run.steps)),
    }
}
