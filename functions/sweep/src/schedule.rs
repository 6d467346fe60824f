//! The nightly schedules: the licence sweep, and the aggregates' refresh. EventBridge may
//! deliver an event twice; the run id comes from the event's scheduled time, so the second
//! delivery finds the run and starts nothing.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use jiff::Timestamp;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_kit::runtime::{Error, Function};

use crate::Context;
use crate::start::{run_id, start_run};

/// What a schedule asks for, as its `Input` in the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    LicenceSweep,
    RefreshViews,
}

#[derive(Debug, Deserialize)]
struct Input {
    job: Job,
    /// When the schedule fired (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`).
    #[serde(default)]
    scheduled_time: Option<Timestamp>,
}

pub struct Nightly {
    pub(crate) context: Context,
}

impl Function for Nightly {
    type Event = Value;
    type Output = Value;

    async fn call(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        // Scheduler delivers the schedule's Input; a plain EventBridge rule, a Scheduled Event.
        let input: Input = match serde_json::from_value(event.payload.clone()) {
            Ok(input) => input,
            Err(_) => {
                let scheduled: EventBridgeEvent<Value> = serde_json::from_value(event.payload)?;
                Input {
                    job: Job::LicenceSweep,
                    scheduled_time: scheduled.time.and_then(|t| t.to_rfc3339().parse().ok()),
                }
            }
        };
        let at = input.scheduled_time.unwrap_or_else(Timestamp::now);
        match input.job {
            Job::LicenceSweep => {
                let started = start_run(
                    &self.context,
                    &run_id(at, "nightly"),
                    "schedule",
                    None,
                    None,
                )
                .await?;
                Ok(
                    serde_json::json!({ "run_id": started.run().run_id, "status": started.run().status }),
                )
            }
            Job::RefreshViews => {
                if !self.context.flags.materialized_view_refresh_enabled {
                    tracing::info!(
                        "MATERIALIZED_VIEW_REFRESH_ENABLED is off: views refresh on demand only"
                    );
                    return Ok(serde_json::json!({ "refreshed": false }));
                }
                let view = crate::views::refresh(&self.context).await?;
                Ok(serde_json::json!({ "refreshed": true, "computed_at": view.computed_at }))
            }
        }
    }
}
