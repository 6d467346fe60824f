//! SQS triggers and schedules as the local stack runs them: partial batch failures, redrive to
//! the dead-letter queue, batch sizes from the template, schedules fired on demand.

use std::time::{Duration, Instant};

use serde_json::json;
use steward_e2e::{TestStack, send, visible_and_in_flight};

async fn send_all(sqs: &aws_sdk_sqs::Client, queue: &str, bodies: &[&str]) {
    for body in bodies {
        sqs.send_message()
            .queue_url(queue)
            .message_body(*body)
            .send()
            .await
            .unwrap();
    }
}

/// The bodies of the probe messages consumed so far, in order, repeats included.
async fn consumed_bodies(stack: &TestStack) -> Vec<String> {
    let mut bodies: Vec<String> = stack
        .probe_records("PROBE#consumed")
        .await
        .iter()
        .map(|record| record["detail"]["body"].as_str().unwrap().to_owned())
        .collect();
    bodies.sort();
    bodies
}

#[tokio::test]
async fn failed_records_are_retried_alone_and_poison_reaches_the_dead_letter_queue() {
    let stack =
        TestStack::start_with(|options| options.retry_delay = Some(Duration::from_secs(1))).await;
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let queue = stack.stack.queue_url("ProbeQueue").unwrap();
    let dead_letters = stack.stack.queue_url("ProbeDeadLetterQueue").unwrap();
    let bodies = [
        "ok:1", "ok:2", "fail:3", "ok:4", "panic:5", "ok:6", "ok:7", "fail:8", "ok:9",
    ];
    send_all(&sqs, &queue, &bodies).await;

    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let consumed = stack.probe_records("PROBE#consumed").await.len();
        let (dead, _) = visible_and_in_flight(&sqs, &dead_letters).await;
        if consumed >= 6 && dead >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: consumed {consumed}, dead letters {dead}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Every good record exactly once, however its batch-mates fared.
    assert_eq!(
        consumed_bodies(&stack).await,
        ["ok:1", "ok:2", "ok:4", "ok:6", "ok:7", "ok:9"]
    );

    // The poison ones are in the dead-letter queue, and the queue itself is drained.
    let received = sqs
        .receive_message()
        .queue_url(&dead_letters)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut dead: Vec<String> = received
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect();
    dead.sort();
    assert_eq!(dead, ["fail:3", "fail:8", "panic:5"]);
    assert_eq!(visible_and_in_flight(&sqs, &queue).await, (0, 0));

    // Batches never exceeded the template's BatchSize of 3.
    let sizes: Vec<u64> = stack
        .probe_records("PROBE#batches")
        .await
        .iter()
        .map(|b| b["detail"]["size"].as_u64().unwrap())
        .collect();
    assert!(
        !sizes.is_empty() && sizes.iter().all(|s| (1..=3).contains(s)),
        "{sizes:?}"
    );
}

/// The runbook's redrive (docs/runbooks/dead-letter-redrive.md): once the cause is fixed, a
/// message move task sends the dead letters back to their queue, and they are handled.
#[tokio::test]
async fn dead_letters_redriven_after_the_fix_are_handled() {
    let stack =
        TestStack::start_with(|options| options.retry_delay = Some(Duration::from_secs(1))).await;
    let sqs = aws_sdk_sqs::Client::new(stack.aws());
    let queue = stack.stack.queue_url("ProbeQueue").unwrap();
    let dead_letters = stack.stack.queue_url("ProbeDeadLetterQueue").unwrap();
    send_all(&sqs, &queue, &["until-fixed:1", "until-fixed:2"]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while visible_and_in_flight(&sqs, &dead_letters).await.0 < 2 {
        assert!(
            Instant::now() < deadline,
            "the failures never reached the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(stack.probe_records("PROBE#consumed").await.is_empty());

    // 2. Fix the cause. 3. Redrive, as the runbook does with the AWS CLI.
    stack
        .table
        .put(&json!({ "pk": "PROBE#fixed", "sk": "FIXED" }))
        .await
        .unwrap();
    let source_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letters)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sqs.start_message_move_task()
        .source_arn(&source_arn)
        .send()
        .await
        .expect("the move task starts");
    let tasks = sqs
        .list_message_move_tasks()
        .source_arn(&source_arn)
        .send()
        .await
        .unwrap();
    let task = &tasks.results()[0];
    assert_eq!(task.status(), Some("COMPLETED"));
    assert_eq!(task.approximate_number_of_messages_moved(), 2);

    // 4. Check: both handled, the dead-letter queue empty.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let consumed = consumed_bodies(&stack).await;
        if consumed == ["until-fixed:1", "until-fixed:2"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "redriven, not handled: {consumed:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(visible_and_in_flight(&sqs, &dead_letters).await, (0, 0));
}

#[tokio::test]
async fn a_schedule_fires_on_demand_with_a_scheduled_event() {
    let stack = TestStack::start().await;
    let (status, _, body) = send(stack.post("/_local/schedules/ProbeConsumerFunction/Tick")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["ticked"], true);
    assert_eq!(body["output"]["source"], "aws.scheduler");
    let ticks = stack.probe_records("PROBE#ticks").await;
    assert_eq!(ticks.len(), 1);
    assert_eq!(ticks[0]["detail"]["detail-type"], "Scheduled Event");

    let (status, _, _) = send(stack.post("/_local/schedules/ProbeConsumerFunction/Nope")).await;
    assert_eq!(status, 404);
}
