//! AWS SDK errors mapped once onto the port error kinds, keeping the SDK's
//! error as the source. The SDK itself retries throttles and transient
//! failures with jittered backoff (standard retry mode) before an error gets here.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::sync::atomic::{AtomicU64, Ordering};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Requests the backend refused as throttled after the SDK's own retries,
/// for `/metrics`.
pub static THROTTLED: AtomicU64 = AtomicU64::new(0);

/// Requests that could not reach the backend or that it failed (timeouts,
/// refused connections, 5xx) after the SDK's own retries, for `/metrics`.
pub static UNAVAILABLE: AtomicU64 = AtomicU64::new(0);

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
    match kind {
        PortErrorKind::Throttled => THROTTLED.fetch_add(1, Ordering::Relaxed),
        PortErrorKind::Unavailable => UNAVAILABLE.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
    let message = format!("{what}: {}", DisplayErrorContext(&err));
    PortError::with_source(kind, message, err)
}

/// Maps a failed `TransactWriteItems` of operation `what` onto a port error: a
/// cancellation whose reasons include a failed condition is `Conflict` (a
/// uniqueness claim or an existence check refused the write); one cancelled
/// by a concurrent transaction is `Unavailable` (retry it); throttled items
/// are `Throttled`; anything else as [`sdk`] maps it.
pub(crate) fn transact(what: &str, err: SdkError<TransactWriteItemsError, HttpResponse>) -> PortError {
    if err.code().is_none() && err.raw_response().is_some_and(|r| r.status().is_server_error()) {
        // A server failure without an error code (a proxy's, or moto's when a
        // transaction races another write): nothing was applied; transient.
        let message = format!("{what}: server failure: {}", DisplayErrorContext(&err));
        return PortError::with_source(PortErrorKind::Unavailable, message, err);
    }
    let reasons: Vec<String> = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            let mut codes: Vec<String> =
                e.cancellation_reasons().iter().filter_map(|r| r.code()).map(str::to_owned).collect();
            if codes.is_empty() {
                // Some servers name the reasons only in the message.
                codes.extend(e.message().map(str::to_owned));
            }
            codes
        }
        _ => return sdk(what, err),
    };
    let kind = cancellation_kind(&reasons);
    match kind {
        PortErrorKind::Throttled => THROTTLED.fetch_add(1, Ordering::Relaxed),
        PortErrorKind::Unavailable => UNAVAILABLE.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
    let message = format!("{what}: transaction cancelled ({})", reasons.join(", "));
    PortError::with_source(kind, message, err)
}

/// Returns the port error kind of a cancelled transaction from its reasons.
pub(crate) fn cancellation_kind(reasons: &[String]) -> PortErrorKind {
    let any = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    if any("ConditionalCheckFailed") {
        PortErrorKind::Conflict
    } else if any("Throttl") || any("ProvisionedThroughputExceeded") {
        PortErrorKind::Throttled
    } else if any("TransactionConflict") {
        PortErrorKind::Unavailable
    } else if any("ValidationError") {
        PortErrorKind::Invalid
    } else {
        PortErrorKind::Internal
    }
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

    #[test]
    fn a_transaction_cancelled_by_a_condition_conflicts() {
        let reasons = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(cancellation_kind(&reasons(&["None", "ConditionalCheckFailed"])), PortErrorKind::Conflict);
        assert_eq!(cancellation_kind(&reasons(&["TransactionConflict", "None"])), PortErrorKind::Unavailable);
        assert_eq!(cancellation_kind(&reasons(&["ThrottlingError"])), PortErrorKind::Throttled);
        assert_eq!(cancellation_kind(&reasons(&["None"])), PortErrorKind::Internal);
    }
}
