use std::error::Error as StdError;

/// What can go wrong below the domain, sorted by what a caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or a 5xx after the SDK's own retries: try again later.
    #[error("storage is unavailable: {0}")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// An item read back does not have the shape this code writes.
    #[error("stored item {key} is malformed: {problem}")]
    Corrupt { key: String, problem: String },
    /// Anything else the SDK reports: a bug or a misconfiguration, not a transient state.
    #[error("storage request failed: {0}")]
    Failed(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Sorts an SDK error: transient (throttling, timeouts, 5xx, connection) or not.
    pub(crate) fn from_sdk<E, R>(error: aws_sdk_dynamodb::error::SdkError<E, R>) -> Self
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_sdk_dynamodb::error::SdkError;
        let transient = match &error {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ResponseError(_) => true,
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or_default();
                matches!(
                    code,
                    "ProvisionedThroughputExceededException"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "TransactionInProgressException"
                )
            }
            _ => false,
        };
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(error);
        if transient {
            Self::Unavailable(boxed)
        } else {
            Self::Failed(boxed)
        }
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Whether a request failed only because its condition expression did not hold.
pub(crate) fn is_condition_failure<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(error, aws_sdk_dynamodb::error::SdkError::ServiceError(service)
        if service.err().code() == Some("ConditionalCheckFailedException"))
}
