//! The `jobs` function: imports and cascading deletes from the jobs queue
//! (`Desk::run_delivery`, as the local server's worker runs them). A run
//! works at most `JOB_RUN` and queues the rest, so one invocation stays far
//! inside Lambda's 15 minutes; the queue's visibility timeout is above the
//! function's timeout, so a record is not delivered twice at once.
//!
//! The answer names the records Lambda must deliver again
//! (`ReportBatchItemFailures`); one that can never run goes to the
//! dead-letter queue with its reason.

use crate::ingest::delivery_of;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use tgdesk_core::usecases::{Desk, JobVerdict, JOBS_QUEUE};

/// Runs the batch's jobs; answers the records to deliver again.
pub async fn handle(desk: &Desk, event: &SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        let delivery = delivery_of(record);
        let again = match desk.run_delivery(&delivery).await {
            JobVerdict::Settled => false,
            JobVerdict::DeadLetter(reason) => {
                match desk.ports().queue.dead_letter(JOBS_QUEUE, &delivery, &reason).await {
                    Ok(()) => {
                        tracing::warn!(%reason, "job record dead-lettered");
                        false
                    }
                    Err(e) => {
                        // The redrive policy takes it to the dead-letter queue after its last delivery.
                        tracing::warn!(%reason, error = %e, "cannot dead-letter; delivered again");
                        true
                    }
                }
            }
            JobVerdict::Retry(delay) | JobVerdict::Wait(delay) => {
                // Best effort: without the delay it comes back after the visibility timeout.
                if let Err(e) = desk.ports().queue.nack(JOBS_QUEUE, &delivery.receipt, delay).await {
                    tracing::debug!(error = %e, "cannot delay the job's next delivery");
                }
                true
            }
        };
        if again {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}
