//! Creates what template.yaml declares, in the emulator: the local stack's CloudFormation.
//! Each step is idempotent, so a restarted stack reuses what is there.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use steward_template::{Resolver, Resource, Value, resolve, resolve_list};

use crate::StoreError;

fn invalid(resource: &str, problem: impl Into<String>) -> StoreError {
    StoreError::Failed(format!("{resource}: {}", problem.into()).into())
}

fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn key_schema(name: &str, elements: Option<&Value>) -> Result<Vec<KeySchemaElement>, StoreError> {
    let elements = elements
        .and_then(Value::as_sequence)
        .ok_or_else(|| invalid(name, "no KeySchema"))?;
    elements
        .iter()
        .map(|element| {
            let kind = match text(element, "KeyType") {
                Some("HASH") => KeyType::Hash,
                Some("RANGE") => KeyType::Range,
                other => return Err(invalid(name, format!("KeyType {other:?}"))),
            };
            KeySchemaElement::builder()
                .attribute_name(text(element, "AttributeName").unwrap_or_default())
                .key_type(kind)
                .build()
                .map_err(|e| invalid(name, e.to_string()))
        })
        .collect()
}

/// An `AWS::DynamoDB::Table`: keys, attributes, global indexes and TTL.
pub async fn table(config: &SdkConfig, name: &str, resource: &Resource) -> Result<(), StoreError> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let attributes = resource
        .property(&["AttributeDefinitions"])
        .and_then(Value::as_sequence)
        .ok_or_else(|| invalid(name, "no AttributeDefinitions"))?
        .iter()
        .map(|definition| {
            let kind = match text(definition, "AttributeType") {
                Some("S") => ScalarAttributeType::S,
                Some("N") => ScalarAttributeType::N,
                Some("B") => ScalarAttributeType::B,
                other => return Err(invalid(name, format!("AttributeType {other:?}"))),
            };
            AttributeDefinition::builder()
                .attribute_name(text(definition, "AttributeName").unwrap_or_default())
                .attribute_type(kind)
                .build()
                .map_err(|e| invalid(name, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut indexes = Vec::new();
    for index in resource
        .property(&["GlobalSecondaryIndexes"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(text(index, "IndexName").unwrap_or_default())
                .set_key_schema(Some(key_schema(name, index.get("KeySchema"))?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| invalid(name, e.to_string()))?,
        );
    }
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(name, resource.property(&["KeySchema"]))?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(error) => return Err(StoreError::from_sdk(error)),
    }
    if let Some(ttl) = resource
        .property(&["TimeToLiveSpecification", "AttributeName"])
        .and_then(Value::as_str)
    {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .map_err(|e| invalid(name, e.to_string()))?,
            )
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
    }
    Ok(())
}

/// An `AWS::SQS::Queue` with its attributes and redrive policy; answers its URL.
pub async fn queue(
    config: &SdkConfig,
    name: &str,
    resource: &Resource,
    resolver: &dyn Resolver,
) -> Result<String, StoreError> {
    let client = aws_sdk_sqs::Client::new(config);
    let mut request = client.create_queue().queue_name(name);
    for (property, attribute) in [
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        (
            "MessageRetentionPeriod",
            QueueAttributeName::MessageRetentionPeriod,
        ),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
        ("FifoQueue", QueueAttributeName::FifoQueue),
        (
            "ContentBasedDeduplication",
            QueueAttributeName::ContentBasedDeduplication,
        ),
    ] {
        if let Some(value) = resource.property(&[property]) {
            let value = resolve(value, resolver).map_err(|e| invalid(name, e.to_string()))?;
            request = request.attributes(attribute, value);
        }
    }
    if let Some(policy) = resource.property(&["RedrivePolicy"]) {
        let target = policy
            .get("deadLetterTargetArn")
            .ok_or_else(|| invalid(name, "RedrivePolicy without target"))?;
        let target = resolve(target, resolver).map_err(|e| invalid(name, e.to_string()))?;
        let receives = match policy.get("maxReceiveCount") {
            Some(count) => resolve(count, resolver)
                .map_err(|e| invalid(name, e.to_string()))?
                .parse::<u64>()
                .map_err(|_| invalid(name, "maxReceiveCount is not a whole number"))?,
            None => 10,
        };
        let policy =
            serde_json::json!({ "deadLetterTargetArn": target, "maxReceiveCount": receives });
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let output = request.send().await.map_err(StoreError::from_sdk)?;
    output
        .queue_url
        .ok_or_else(|| invalid(name, "no queue URL answered"))
}

/// An `AWS::S3::Bucket` (private; the emulator stores objects as given).
pub async fn bucket(config: &SdkConfig, name: &str) -> Result<(), StoreError> {
    let client = aws_sdk_s3::Client::new(config);
    match client.create_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(error) => Err(StoreError::from_sdk(error)),
    }
}

/// A bucket's `CorsConfiguration.CorsRules`: the origins, methods and headers a browser page
/// may send (the web app's uploads through presigned URLs).
pub async fn bucket_cors(
    config: &SdkConfig,
    name: &str,
    resource: &Resource,
    resolver: &dyn Resolver,
) -> Result<(), StoreError> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let Some(rules) = resource
        .property(&["CorsConfiguration", "CorsRules"])
        .and_then(Value::as_sequence)
    else {
        return Ok(());
    };
    let list = |rule: &Value, key: &str| -> Result<Option<Vec<String>>, StoreError> {
        rule.get(key)
            .map(|items| resolve_list(items, resolver))
            .transpose()
            .map_err(|e| invalid(name, e.to_string()))
    };
    let mut configuration = CorsConfiguration::builder();
    for rule in rules {
        let built = CorsRule::builder()
            .set_id(text(rule, "Id").map(str::to_owned))
            .set_allowed_methods(list(rule, "AllowedMethods")?)
            .set_allowed_origins(list(rule, "AllowedOrigins")?)
            .set_allowed_headers(list(rule, "AllowedHeaders")?)
            .set_max_age_seconds(
                rule.get("MaxAge")
                    .and_then(Value::as_i64)
                    .and_then(|seconds| i32::try_from(seconds).ok()),
            )
            .build()
            .map_err(|e| invalid(name, e.to_string()))?;
        configuration = configuration.cors_rules(built);
    }
    let configuration = configuration
        .build()
        .map_err(|e| invalid(name, e.to_string()))?;
    aws_sdk_s3::Client::new(config)
        .put_bucket_cors()
        .bucket(name)
        .cors_configuration(configuration)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// A bucket's `NotificationConfiguration.QueueConfigurations`: S3 sends each matching event to
/// its queue (the emulator delivers them, as S3 does). Run once the queues exist.
pub async fn bucket_notifications(
    config: &SdkConfig,
    name: &str,
    resource: &Resource,
    resolver: &dyn Resolver,
) -> Result<(), StoreError> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    };
    let Some(queues) = resource
        .property(&["NotificationConfiguration", "QueueConfigurations"])
        .and_then(Value::as_sequence)
    else {
        return Ok(());
    };
    let mut configurations = Vec::new();
    for queue in queues {
        let arn = queue
            .get("Queue")
            .map(|q| resolve(q, resolver))
            .transpose()
            .map_err(|e| invalid(name, e.to_string()))?
            .ok_or_else(|| invalid(name, "a queue configuration without Queue"))?;
        let event = text(queue, "Event").ok_or_else(|| invalid(name, "no Event"))?;
        let rules: Vec<FilterRule> = queue
            .get("Filter")
            .and_then(|f| f.get("S3Key"))
            .and_then(|k| k.get("Rules"))
            .and_then(Value::as_sequence)
            .map(|rules| {
                rules
                    .iter()
                    .map(|rule| {
                        FilterRule::builder()
                            .name(FilterRuleName::from(text(rule, "Name").unwrap_or_default()))
                            .value(text(rule, "Value").unwrap_or_default())
                            .build()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut configuration = QueueConfiguration::builder()
            .queue_arn(arn)
            .events(Event::from(event));
        if !rules.is_empty() {
            configuration = configuration.filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                    .build(),
            );
        }
        configurations.push(
            configuration
                .build()
                .map_err(|e| invalid(name, e.to_string()))?,
        );
    }
    aws_sdk_s3::Client::new(config)
        .put_bucket_notification_configuration()
        .bucket(name)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(configurations))
                .build(),
        )
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// An `AWS::SES::EmailIdentity`: the emulator refuses mail from unverified senders, as SES does.
pub async fn email_identity(config: &SdkConfig, address: &str) -> Result<(), StoreError> {
    let client = aws_sdk_sesv2::Client::new(config);
    match client
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(StoreError::from_sdk(error)),
    }
}
