//! The end-to-end harness: a whole local stack per test, on the emulator shared by the test
//! binary, with its own resource names so tests run side by side.

pub mod browser;
mod capture;
mod client;
pub mod faults;
pub mod floor;
pub mod identity_provider;
mod people;
mod probe;
pub mod sweeps;

pub use capture::Captured;
pub use client::{NewBooking, NewRoom};
pub use people::{PASSWORD, Person, VERIFY_SUBJECT};

use std::path::{Path, PathBuf};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use steward_emulator::Emulator;
use steward_local::{Registry, Stack, StackOptions};
use steward_store::{SdkConfig, Table};

pub use probe::{Note, PROBE_TENANT};

pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// template.yaml with the probe functions of tests/fixtures/probe.yaml added to its resources.
fn template_with_probe(stack_name: &str) -> PathBuf {
    let root = repository_root();
    let template = std::fs::read_to_string(root.join("template.yaml")).expect("read template.yaml");
    let mut template: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&template).expect("template parses");
    let probe = std::fs::read_to_string(root.join("tests/fixtures/probe.yaml"))
        .expect("read probe fixture");
    let probe: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&probe).expect("probe fixture parses");
    let resources = template
        .get_mut("Resources")
        .and_then(|r| r.as_mapping_mut())
        .expect("Resources");
    resources.extend(
        probe["Resources"]
            .as_mapping()
            .expect("probe Resources")
            .clone(),
    );
    let api = resources
        .get_mut("HttpApi")
        .and_then(|api| api.get_mut("Properties"))
        .and_then(|properties| properties.as_mapping_mut())
        .expect("HttpApi properties");
    let authorizers = api
        .get_mut("Auth")
        .and_then(|auth| auth.get_mut("Authorizers"))
        .and_then(|authorizers| authorizers.as_mapping_mut())
        .expect("the HttpApi declares authorizers");
    authorizers.extend(
        probe["HttpApiAuth"]["Authorizers"]
            .as_mapping()
            .expect("probe authorizers")
            .clone(),
    );
    let dir = root.join("target/e2e-templates");
    std::fs::create_dir_all(&dir).expect("create target/e2e-templates");
    let path = dir.join(format!("{stack_name}.yaml"));
    std::fs::write(
        &path,
        serde_yaml_ng::to_string(&template).expect("serializes"),
    )
    .expect("write template");
    path
}

pub struct TestStack {
    /// The stack's name: what its resources' physical names begin with.
    pub name: String,
    pub stack: Stack,
    pub url: String,
    pub http: reqwest::Client,
    pub table: Table,
}

impl TestStack {
    /// The repository's stack plus the probe functions, with a fresh stack name.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// The stack with template parameters set (`("CacheEnabled", "true")`).
    pub async fn with_parameters(parameters: &[(&str, &str)]) -> Self {
        Self::start_with(|options| {
            for (name, value) in parameters {
                options
                    .parameter_overrides
                    .insert((*name).to_owned(), (*value).to_owned());
            }
        })
        .await
    }

    pub async fn start_with(customize: impl FnOnce(&mut StackOptions)) -> Self {
        steward_kit::telemetry::init_for_tests();
        let stack_name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let mut options = StackOptions::new(
            template_with_probe(&stack_name),
            &stack_name,
            Emulator::shared().endpoints(),
        );
        let mut registry = Registry::steward();
        probe::register(&mut registry);
        options.registry = registry;
        // Every request reads through unless a test turns the tenant cache on: most tests
        // change a licence or a role and act on it at once. Latencies are written each second.
        for (name, value) in [
            ("CacheEnabled", "false"),
            ("PerformanceMetricsFlushSeconds", "1"),
            // Mail from this stack says so: the emulator's sent mail is every stack's.
            ("NotificationSender", &sender_of(&stack_name)),
        ] {
            options
                .parameter_overrides
                .insert(name.to_owned(), value.to_owned());
        }
        customize(&mut options);
        let stack = Stack::start(options).await.expect("the stack starts");
        let table = Table::new(stack.aws(), stack.physical_name("Table"));
        Self {
            name: stack_name,
            url: stack.url().to_owned(),
            http: reqwest::Client::new(),
            table,
            stack,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path))
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.delete(self.url(path))
    }

    pub fn aws(&self) -> &SdkConfig {
        self.stack.aws()
    }

    /// One item of the table as stored, every attribute (what is at rest, for checks that a
    /// secret is not).
    pub async fn stored_item(&self, pk: &str, sk: &str) -> String {
        use aws_sdk_dynamodb::types::AttributeValue;
        let item = aws_sdk_dynamodb::Client::new(self.aws())
            .get_item()
            .table_name(self.table.name())
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("the emulator answers")
            .item
            .unwrap_or_else(|| panic!("no item {pk}/{sk}"));
        format!("{item:?}")
    }

    /// Waits until the template's queue `logical_id` holds nothing, visible or in flight: its
    /// consumers have taken every message (at most a minute, else the test fails).
    pub async fn drained(&self, logical_id: &str) {
        let sqs = aws_sdk_sqs::Client::new(self.aws());
        let url = self
            .stack
            .queue_url(logical_id)
            .expect("a queue of the template");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = visible_and_in_flight(&sqs, &url).await;
            if left == (0, 0) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{logical_id} still holds {left:?} (visible, in flight)"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Every note of a tenant, read straight from the table (not through the API under test).
    pub async fn notes_in_table(&self, tenant: &str) -> Vec<Note> {
        let partition = probe::note_partition(tenant);
        let mut notes = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self
                .table
                .query_page::<Note>(steward_store::Query::partition(&partition), 200, start)
                .await
                .expect("query notes");
            notes.extend(page);
            match next {
                Some(next) => start = Some(next),
                None => return notes,
            }
        }
    }

    /// Items the probe consumer wrote under `partition` (`PROBE#consumed`, `PROBE#batches`, `PROBE#ticks`).
    pub async fn probe_records(&self, partition: &str) -> Vec<Value> {
        let (items, _) = self
            .table
            .query_page::<Value>(steward_store::Query::partition(partition), 1000, None)
            .await
            .expect("query probe records");
        items
    }
}

/// Sends a request; its status, headers and JSON body, for assertions.
pub async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    read(request.send().await.expect("the gateway answers")).await
}

/// A JSON body and its status, for assertions.
pub async fn read(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, body)
}

/// The address a stack's mail comes from.
fn sender_of(stack_name: &str) -> String {
    format!("no-reply+{stack_name}@steward.invalid")
}

impl TestStack {
    /// Every email this stack sent whose recipients include `matching` (an address or part of
    /// one), oldest first: `destinations`, `subject`, `body`, and `raw` MIME for the ones sent
    /// raw (with attachments). Other stacks' mail, to the same addresses, is not this one's.
    pub async fn sent_mail(&self, matching: &str) -> Vec<Value> {
        let url = Emulator::shared().endpoints().sent_mail_url();
        let all: Vec<Value> = reqwest::get(url).await.unwrap().json().await.unwrap();
        let sender = sender_of(&self.name);
        all.into_iter()
            .filter(|m| m["source"].as_str().is_some_and(|s| s.contains(&sender)))
            .filter(|m| m["destinations"].to_string().contains(matching))
            .collect()
    }
}

impl TestStack {
    /// The tokens the links of every email to `address` with `subject` carry (`#token=…`),
    /// oldest first, once the account mail queue has been worked off.
    pub async fn emailed_tokens(&self, address: &str, subject: &str) -> Vec<String> {
        self.drained("AccountMailQueue").await;
        self.sent_mail(address)
            .await
            .iter()
            .filter(|mail| mail["subject"] == subject)
            // To that address itself, not one that merely contains it.
            .filter(|mail| {
                mail["destinations"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|a| a == address))
            })
            .filter_map(|mail| steward_local::demo::link_token(&mail_text(mail)))
            .collect()
    }
}

/// The text of a sent email, whichever way it was sent: SES's simple form, or raw MIME with
/// every leaf part decoded.
pub fn mail_text(message: &Value) -> String {
    fn leaves(mail: &mailparse::ParsedMail<'_>, into: &mut String) {
        if mail.subparts.is_empty() {
            into.push_str(&mail.get_body().unwrap_or_default());
        }
        for part in &mail.subparts {
            leaves(part, into);
        }
    }
    match message["raw"].as_str() {
        Some(raw) => {
            let mut text = String::new();
            if let Ok(mail) = mailparse::parse_mail(raw.as_bytes()) {
                leaves(&mail, &mut text);
            }
            text
        }
        None => message.to_string(),
    }
}

/// The instant `minutes` from now, to the whole second, in RFC 3339: a booking's start or end
/// near now (an API time carries no fraction).
pub fn minutes_from_now(minutes: i64) -> String {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes);
    jiff::Timestamp::from_second(at.as_second())
        .expect("within jiff's range")
        .to_string()
}

/// The UTC date `days` from today: tests book in the future (within rooms' horizons) on
/// whatever day they run.
pub fn days_ahead(days: i64) -> jiff::civil::Date {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .expect("a date within range")
}

/// The next local date, at least a week ahead, on which `zone`'s clocks go forward.
pub fn next_spring_forward(zone: &str) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get(zone).expect("an IANA zone");
    let after = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 7);
    let mut before = tz.to_offset(after);
    for transition in tz.following(after) {
        let offset = transition.offset();
        if offset > before {
            return transition.timestamp().to_zoned(tz.clone()).date();
        }
        before = offset;
    }
    panic!("{zone} has no clock change ahead")
}

/// The next local date, at least a week ahead, on which `zone`'s clocks go back.
pub fn next_fall_back(zone: &str) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get(zone).expect("an IANA zone");
    let after = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 7);
    let mut before = tz.to_offset(after);
    for transition in tz.following(after) {
        let offset = transition.offset();
        if offset < before {
            return transition.timestamp().to_zoned(tz.clone()).date();
        }
        before = offset;
    }
    panic!("{zone} has no clock change ahead")
}

/// Writes a benchmark's results as `<name>.json` in the folder `STEWARD_BENCH_OUT` names, for
/// `make bench`'s report (infra/bench/report.py); nothing when it is unset.
pub fn bench_results(name: &str, results: &Value) {
    if let Some(out) = std::env::var_os("STEWARD_BENCH_OUT") {
        let path = std::path::Path::new(&out).join(format!("{name}.json"));
        std::fs::create_dir_all(&out).expect("the results folder");
        std::fs::write(&path, serde_json::to_vec_pretty(results).expect("JSON"))
            .expect("the results file");
    }
}

/// Held by a test while it sends a burst of concurrent writers (thirty or fifty at once): one
/// burst at a time in this process. Two at once overload the one emulator past the store's
/// timeouts, which the store rightly answers 503, but which these tests do not measure: they
/// count winners and losers.
pub async fn burst() -> tokio::sync::MutexGuard<'static, ()> {
    static BURSTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    BURSTS.lock().await
}

/// A queue's messages: visible, and in flight (received, not yet deleted or back).
pub async fn visible_and_in_flight(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    let count = |name| {
        attributes
            .get(&name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}
