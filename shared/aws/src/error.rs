//! AWS SDK errors mapped once onto the port error kinds, keeping the SDK's
//! error as the source. The SDK itself retries throttles and transient
//! failures with jittered backoff (standard retry mode) before an error gets here.

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::sync::atomic::{AtomicU64, Ordering};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Requests the backend refused as throttled after the SDK's own retries,
/// for `/metrics`.
pub static THROTTLED: AtomicU64 = AtomicU64::new(0);

/// Error codes that mean "slow down", across DynamoDB, SQS and S3.
const THROTTLE_CODES: [&str; 7] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "Throttling",
    "RequestThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
];

/// Error codes of a missing table, queue, bucket, key or upload.
const NOT_FOUND_CODES: [&str; 7] = [
    "ResourceNotFoundException",
    "NoSuchKey",
    "NoSuchBucket",
    "NoSuchUpload",
    "NotFound",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
];

/// Error codes of a request the service refused as malformed.
const INVALID_CODES: [&str; 9] = [
    "ValidationException",
    "ReceiptHandleIsInvalid",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidAttributeValue",
    "InvalidMessageContents",
    "MessageTooLong",
    "InvalidArgument",
    "KeyTooLongError",
];

/// Returns the port error kind of an AWS error code.
pub(crate) fn kind_of_code(code: &str) -> PortErrorKind {
    if THROTTLE_CODES.contains(&code) {
        PortErrorKind::Throttled
    } else if NOT_FOUND_CODES.contains(&code) {
        PortErrorKind::NotFound
    } else if INVALID_CODES.contains(&code) {
        PortErrorKind::Invalid
    } else if code == "ConditionalCheckFailedException" {
        PortErrorKind::Conflict
    } else if matches!(code, "ServiceUnavailable" | "InternalServerError" | "InternalError" | "InternalFailure") {
        PortErrorKind::Unavailable
    } else {
        PortErrorKind::Internal
    }
}

/// Maps an SDK error of operation `what` onto a port error.
pub(crate) fn sdk<E, R>(what: &str, err: SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let kind = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => PortErrorKind::Unavailable,
        SdkError::ResponseError(_) => PortErrorKind::Unavailable,
        _ => err.code().map(kind_of_code).unwrap_or(PortErrorKind::Internal),
    };
    if kind == PortErrorKind::Throttled {
        THROTTLED.fetch_add(1, Ordering::Relaxed);
    }
    let message = format!("{what}: {}", DisplayErrorContext(&err));
    PortError::with_source(kind, message, err)
}

/// Returns the error for a request the SDK could not even build (a missing
/// required field): a bug on our side.
pub(crate) fn build(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::with_source(PortErrorKind::Internal, format!("{what}: cannot build the request"), err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_of_every_service_are_throttled() {
        for code in
            ["ProvisionedThroughputExceededException", "ThrottlingException", "SlowDown", "RequestLimitExceeded"]
        {
            assert_eq!(kind_of_code(code), PortErrorKind::Throttled, "{code}");
        }
    }

    #[test]
    fn conditional_failures_conflict_and_missing_things_are_not_found() {
        assert_eq!(kind_of_code("ConditionalCheckFailedException"), PortErrorKind::Conflict);
        assert_eq!(kind_of_code("NoSuchKey"), PortErrorKind::NotFound);
        assert_eq!(kind_of_code("AWS.SimpleQueueService.NonExistentQueue"), PortErrorKind::NotFound);
        assert_eq!(kind_of_code("ReceiptHandleIsInvalid"), PortErrorKind::Invalid);
        assert_eq!(kind_of_code("SomethingNew"), PortErrorKind::Internal);
    }
}
