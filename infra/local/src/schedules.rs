//! EventBridge schedules: fired on their `rate(...)` or `cron(...)`, or on demand through
//! `POST /_local/schedules/{Function}/{Event}` (`make fire SCHEDULE=Function/Event`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use steward_emulator::{ACCOUNT, REGION};
use steward_template::Schedule;
use tokio::sync::watch;

use crate::gateway::{Failure, invoke};
use crate::stack::Shared;

#[derive(Debug, PartialEq)]
enum Expression {
    Rate(Duration),
    Cron(Box<cron::Schedule>),
}

/// EventBridge's `rate(5 minutes)` and 6-field `cron(min hour dom month dow year)`.
fn parse(expression: &str) -> Result<Expression, String> {
    if let Some(rate) = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (count, unit) = rate
            .trim()
            .split_once(' ')
            .ok_or(format!("bad rate {expression:?}"))?;
        let count: u64 = count
            .parse()
            .map_err(|_| format!("bad rate {expression:?}"))?;
        let seconds = match unit.trim_end_matches('s') {
            "minute" => 60,
            "hour" => 3600,
            "day" => 86_400,
            _ => return Err(format!("bad rate unit in {expression:?}")),
        };
        return Ok(Expression::Rate(Duration::from_secs(count * seconds)));
    }
    if let Some(fields) = expression
        .strip_prefix("cron(")
        .and_then(|c| c.strip_suffix(')'))
    {
        // The cron crate wants seconds first; its day-of-week numbering (1 = Sunday) is EventBridge's.
        let schedule = cron::Schedule::from_str(&format!("0 {fields}"))
            .map_err(|e| format!("{expression:?}: {e}"))?;
        return Ok(Expression::Cron(Box::new(schedule)));
    }
    Err(format!("{expression:?} is neither rate(...) nor cron(...)"))
}

/// The event EventBridge Scheduler delivers: the schedule's Input, or a Scheduled Event.
fn event(
    shared: &Shared,
    function: &str,
    event_name: &str,
    schedule: &Schedule,
    at: Option<&str>,
) -> Value {
    scheduled_event(&shared.stack_name, function, event_name, schedule, at)
}

/// The event EventBridge Scheduler delivers to `function` of stack `stack_name` for its
/// schedule `event_name`, fired `at` (now when `None`).
pub fn scheduled_event(
    stack_name: &str,
    function: &str,
    event_name: &str,
    schedule: &Schedule,
    at: Option<&str>,
) -> Value {
    // EventBridge Scheduler fills these context attributes into a schedule's Input.
    let now = at
        .map(str::to_owned)
        .unwrap_or_else(|| Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    if let Some(input) = schedule.input.as_deref().and_then(|input| {
        let input = input
            .replace("<aws.scheduler.scheduled-time>", &now)
            .replace(
                "<aws.scheduler.execution-id>",
                &uuid::Uuid::new_v4().to_string(),
            );
        serde_json::from_str(&input).ok()
    }) {
        return input;
    }
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": now,
        "region": REGION,
        "resources": [format!("arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{stack_name}-{function}-{event_name}")],
        "detail": {},
    })
}

/// Fires one schedule now; `None` when the template has no such schedule.
pub(crate) async fn fire(
    shared: &Shared,
    function: &str,
    event_name: &str,
    at: Option<&str>,
) -> Option<Result<Value, String>> {
    let schedule = shared
        .schedules
        .get(&(function.to_owned(), event_name.to_owned()))?;
    let deployed = shared.functions.get(function)?;
    let payload = event(shared, function, event_name, schedule, at);
    Some(
        invoke(deployed, payload)
            .await
            .map_err(|failure| match failure {
                Failure::Timeout => "timed out".to_owned(),
                Failure::Error(error) => error,
            }),
    )
}

/// Fires a schedule on its own timetable until the stack stops.
pub(crate) async fn run(
    shared: Arc<Shared>,
    function: String,
    event_name: String,
    schedule: Schedule,
    mut stopped: watch::Receiver<bool>,
) {
    let expression = match parse(&schedule.expression) {
        Ok(expression) => expression,
        Err(error) => {
            tracing::error!(%function, event = %event_name, %error, "schedule not run");
            return;
        }
    };
    loop {
        let wait = match &expression {
            Expression::Rate(every) => *every,
            Expression::Cron(cron) => match cron.upcoming(Utc).next() {
                Some(next) => (next - Utc::now()).to_std().unwrap_or_default(),
                None => return,
            },
        };
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Some(Err(error)) = fire(&shared, &function, &event_name, None).await {
            tracing::error!(%function, event = %event_name, %error, "scheduled invocation failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_crons_parse_as_eventbridge_writes_them() {
        assert_eq!(
            parse("rate(1 minute)").unwrap(),
            Expression::Rate(Duration::from_secs(60))
        );
        assert_eq!(
            parse("rate(2 hours)").unwrap(),
            Expression::Rate(Duration::from_secs(7200))
        );
        let Expression::Cron(nightly) = parse("cron(0 2 * * ? *)").unwrap() else {
            panic!()
        };
        let next = nightly.upcoming(Utc).next().unwrap();
        assert_eq!(next.format("%H:%M").to_string(), "02:00");
        let Expression::Cron(mondays) = parse("cron(30 9 ? * 2 *)").unwrap() else {
            panic!()
        };
        assert_eq!(
            mondays
                .upcoming(Utc)
                .next()
                .unwrap()
                .format("%a %H:%M")
                .to_string(),
            "Mon 09:30"
        );
        assert!(parse("every day").is_err());
        assert!(parse("rate(5 fortnights)").is_err());
    }
}
