//! Probe functions built from the kit, declared in tests/fixtures/probe.yaml: what every real
//! function gets from the kit, exercised through the gateway without any product logic.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use steward_kit::ApiError;
use steward_kit::api::{self, Api, ApiRequest, HttpFunction, Replayable};
use steward_kit::config::{Common, ConfigError, Env};
use steward_kit::idempotency::Idempotency;
use steward_kit::pagination::Cursors;
use steward_kit::runtime::{Error, Function, erase};
use steward_kit::sqs::{RecordHandler, process_batch};
use steward_local::Registry;
use steward_store::idempotency::IdempotencyStore;
use steward_store::{Query, Table};

pub const PROBE_TENANT: &str = "probe";

/// How long creating a note takes: long enough that concurrent duplicates overlap it.
const CREATE_DELAY: Duration = Duration::from_millis(300);

pub fn note_partition(tenant: &str) -> String {
    format!("T#{tenant}#NOTE")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNote {
    text: String,
}

struct Probe {
    table: Table,
    cursors: Cursors,
}

impl Probe {
    async fn create(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        own_tenant(request)?;
        let tenant = request.path_param("tenant")?;
        let new: NewNote = request.json()?;
        if new.text.trim().is_empty() || new.text.len() > 200 {
            return Err(ApiError::validation("text", "must be 1 to 200 characters"));
        }
        tokio::time::sleep(CREATE_DELAY).await;
        let id = uuid::Uuid::now_v7().to_string();
        let note = Note {
            pk: note_partition(tenant),
            sk: format!("NOTE#{id}"),
            id,
            text: new.text,
        };
        self.table.put(&note).await?;
        api::json(
            StatusCode::CREATED,
            &json!({ "id": note.id, "text": note.text }),
        )
    }

    async fn list(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        let tenant = request.path_param("tenant")?;
        let scope = format!("T#{tenant}|notes");
        let page = self.cursors.page_request(&scope, &request.query)?;
        let partition = note_partition(tenant);
        let (notes, next) = self
            .table
            .query_page::<Note>(Query::partition(&partition), page.limit, page.start)
            .await?;
        let items: Vec<Value> = notes
            .into_iter()
            .map(|n| json!({ "id": n.id, "text": n.text }))
            .collect();
        api::json(StatusCode::OK, &self.cursors.page(&scope, items, next))
    }
}

/// The probe's callers may write notes in their own tenant only.
impl Replayable for Probe {
    async fn authorize_replay(&self, request: &ApiRequest) -> Result<(), ApiError> {
        own_tenant(request)
    }
}

fn own_tenant(request: &ApiRequest) -> Result<(), ApiError> {
    if request.principal()?.tenant_id == request.path_param("tenant")? {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            detail: "notes are written in one's own tenant".into(),
            permission: None,
            feature: None,
        })
    }
}

impl Api for Probe {
    async fn handle(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
        match request.route.as_str() {
            "POST /v1/probe/{tenant}/notes" => self.create(request).await,
            "GET /v1/probe/{tenant}/notes" => self.list(request).await,
            "POST /v1/probe/panic" => panic!("the probe panics on purpose"),
            "GET /v1/probe/whoami" => api::json(StatusCode::OK, &json!({ "scope": request.scope })),
            other => Err(ApiError::NotFound(other.to_owned())),
        }
    }
}

fn probe(env: &Env, aws: &steward_store::SdkConfig) -> Result<HttpFunction<Probe>, ConfigError> {
    let common: Common = env.parse()?;
    let table = Table::new(aws, &common.table);
    let idempotency =
        Idempotency::new(IdempotencyStore::new(table.clone()), Duration::from_secs(5));
    let probe = Probe {
        table,
        cursors: Cursors::new(&common.signing_secret),
    };
    Ok(
        HttpFunction::new(common.function_name, probe, common.cors_allowed_origins)
            .with_idempotency(idempotency),
    )
}

/// Consumes the probe queue (`ok:`, `fail:`, `panic:` and `until-fixed:` bodies) and the probe
/// schedule.
struct Consumer {
    table: Table,
}

#[derive(Serialize)]
struct Record<'a> {
    pk: &'a str,
    sk: String,
    detail: Value,
}

impl RecordHandler for Consumer {
    type Error = String;

    async fn handle(&self, record: &SqsMessage) -> Result<(), String> {
        let body = record.body.clone().unwrap_or_default();
        let id = record.message_id.clone().unwrap_or_default();
        let consume = match body.split_once(':').map(|(kind, _)| kind) {
            Some("ok") => true,
            // Fails until a test puts the item PROBE#fixed/FIXED: a cause fixed before its dead
            // letters are redriven.
            Some("until-fixed") => {
                self.table
                    .count("PROBE#fixed", "FIXED")
                    .await
                    .map_err(|e| e.to_string())?
                    > 0
            }
            Some("panic") => panic!("the probe consumer panics on purpose"),
            _ => false,
        };
        if !consume {
            return Err(format!("refused {body}"));
        }
        let item = Record {
            pk: "PROBE#consumed",
            sk: format!("{body}#{id}"),
            detail: json!({ "body": body }),
        };
        self.table.put(&item).await.map_err(|e| e.to_string())
    }
}

impl Function for Consumer {
    type Event = Value;
    type Output = Value;

    async fn call(&self, event: lambda_runtime::LambdaEvent<Value>) -> Result<Value, Error> {
        if event.payload.get("Records").is_some() {
            let batch: SqsEvent = serde_json::from_value(event.payload)?;
            let size = batch.records.len();
            let record = Record {
                pk: "PROBE#batches",
                sk: uuid::Uuid::now_v7().to_string(),
                detail: json!({ "size": size }),
            };
            self.table.put(&record).await?;
            return Ok(serde_json::to_value(process_batch(self, batch, 4).await)?);
        }
        let source = event.payload.get("source").cloned().unwrap_or(Value::Null);
        let record = Record {
            pk: "PROBE#ticks",
            sk: uuid::Uuid::now_v7().to_string(),
            detail: event.payload,
        };
        self.table.put(&record).await?;
        Ok(json!({ "ticked": true, "source": source }))
    }
}

/// Allows `Bearer good-<tenant>` with the tenant in its context; counts its calls in the table.
struct Authorizer {
    table: Table,
}

impl Function for Authorizer {
    type Event = Value;
    type Output = Value;

    async fn call(&self, event: lambda_runtime::LambdaEvent<Value>) -> Result<Value, Error> {
        let record = Record {
            pk: "PROBE#authorizations",
            sk: uuid::Uuid::now_v7().to_string(),
            detail: event.payload.clone(),
        };
        self.table.put(&record).await?;
        let token = event.payload["identitySource"][0]
            .as_str()
            .unwrap_or_default();
        Ok(match token.strip_prefix("Bearer good-") {
            // `good-<tenant>` or `good-<tenant>.<user>`: a signed-in caller of that tenant, in a
            // session named after the user.
            Some(who) => {
                let (tenant, user) = who.split_once('.').unwrap_or((who, "probe-user"));
                json!({ "isAuthorized": true, "context": {
                    "authenticated": "true", "tenant_id": tenant, "user_id": user,
                    "session_id": format!("session-of-{user}"),
                } })
            }
            None => json!({ "isAuthorized": false }),
        })
    }
}

pub fn register(registry: &mut Registry) {
    registry.insert("probe-authorizer", |env, aws| {
        let common: Common = env.parse()?;
        Ok(erase(Authorizer {
            table: Table::new(aws, &common.table),
        }))
    });
    registry.insert("probe", |env, aws| Ok(erase(probe(env, aws)?)));
    registry.insert("probe-consumer", |env, aws| {
        let common: Common = env.parse()?;
        Ok(erase(Consumer {
            table: Table::new(aws, &common.table),
        }))
    });
}
