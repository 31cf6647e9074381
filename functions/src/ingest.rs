//! The `ingest` function: batches of the updates queue, as the SQS event
//! source delivers them, into the store; the pushes they owe go on the push
//! queue for the `push` function, one queue request per invocation.
//!
//! The answer names the records Lambda must deliver again
//! (`ReportBatchItemFailures`), so one failing record never brings back
//! the batch. Storing is idempotent, so a record delivered again after a
//! timeout or a crash stores nothing twice and owes no second push.
//!
//! What becomes of a record that was not stored is `FailedBatch`'s call, as
//! for the local pump: one that can never be stored (not an update batch,
//! or naming an unknown account) or failed 20 times goes to the dead-letter
//! queue with its reason; any other comes back after a delay that doubles
//! with each delivery. The queue's redrive policy is the safety net.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use std::ops::Range;
use tgdesk_core::ports::Delivery;
use tgdesk_core::push_queue::BufferedPush;
use tgdesk_core::usecases::{decode_batch, AppError, Desk, FailedBatch, UpdateEnvelope, UPDATES_QUEUE};

/// A record and where its envelopes sit in the batch.
struct Decoded<'a> {
    record: &'a SqsMessage,
    delivery: Delivery,
    envelopes: Range<usize>,
}

/// What one invocation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Messages stored for the first time.
    pub new_messages: usize,
    /// Messages delivered again, and skipped.
    pub duplicates: usize,
    /// Records sent to the dead-letter queue with their reason.
    pub dead_lettered: usize,
    /// Events put on the push queue.
    pub pushed: usize,
}

/// Stores the batch's update envelopes; answers the records to deliver
/// again. `push` must be the push port of `desk`: it is flushed here.
pub async fn handle(desk: &Desk, push: &BufferedPush, event: &SqsEvent) -> (SqsBatchResponse, IngestOutcome) {
    let mut outcome = IngestOutcome::default();
    let mut failed: Vec<&SqsMessage> = Vec::new();
    let mut envelopes: Vec<UpdateEnvelope> = Vec::new();
    let mut decoded = Vec::with_capacity(event.records.len());
    for record in &event.records {
        let delivery = delivery_of(record);
        match decode_batch(&delivery.body) {
            Ok(mine) => {
                let first = envelopes.len();
                envelopes.extend(mine);
                decoded.push(Decoded { record, delivery, envelopes: first..envelopes.len() });
            }
            Err(e) => {
                let verdict = FailedBatch::of(&e, delivery.attempts);
                settle(desk, record, &delivery, &e, verdict, &mut failed, &mut outcome).await
            }
        }
    }
    if !decoded.is_empty() {
        match desk.store_batch(&envelopes).await {
            Ok(done) => {
                outcome.new_messages = done.report.new_messages;
                outcome.duplicates = done.report.duplicates;
                for item in &decoded {
                    if let Some((_, e)) = done.poison.iter().find(|(i, _)| item.envelopes.contains(i)) {
                        let verdict = FailedBatch::of(e, item.delivery.attempts);
                        settle(desk, item.record, &item.delivery, e, verdict, &mut failed, &mut outcome).await;
                    }
                }
                outcome.pushed = announce(desk, push, done.announcements).await;
            }
            Err(e) => {
                // Nothing is lost: every record comes back (or is dead-lettered
                // once it failed too often), and what was stored stays one copy.
                tracing::warn!(error = %e, records = decoded.len(), "store failed; the batch is delivered again");
                for item in &decoded {
                    let verdict = FailedBatch::store_failed(&e, item.delivery.attempts);
                    settle(desk, item.record, &item.delivery, &e, verdict, &mut failed, &mut outcome).await;
                }
            }
        }
    }
    tracing::info!(
        records = event.records.len(),
        new = outcome.new_messages,
        duplicates = outcome.duplicates,
        dead_lettered = outcome.dead_lettered,
        failed = failed.len(),
        "ingested"
    );
    (answer(&failed), outcome)
}

/// Pushes what the stored batch owes, through the push queue.
async fn announce(desk: &Desk, push: &BufferedPush, owed: tgdesk_core::usecases::Announcements) -> usize {
    let sent = match desk.announce(owed).await {
        Ok(_) => push.flush().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match sent {
        Ok(events) => events,
        Err(e) => {
            // Stored is stored: a client that missed the push sees it at its next REST fetch.
            push.discard();
            tracing::warn!(error = %e, "pushes of a stored batch failed");
            0
        }
    }
}

/// Dead-letters a record that was not stored, or has it delivered again, as
/// `verdict` says.
async fn settle<'a>(
    desk: &Desk,
    record: &'a SqsMessage,
    delivery: &Delivery,
    e: &AppError,
    verdict: FailedBatch,
    failed: &mut Vec<&'a SqsMessage>,
    outcome: &mut IngestOutcome,
) {
    let id = record.message_id.as_deref().unwrap_or_default();
    let reason = match verdict {
        FailedBatch::DeadLetter(reason) => reason,
        FailedBatch::Retry(delay) => {
            tracing::warn!(record = id, error = %e, attempts = delivery.attempts, ?delay, "record not stored; delivered again");
            // Best effort: without the delay it comes back after the queue's visibility timeout.
            if let Err(nack) = desk.ports().queue.nack(UPDATES_QUEUE, &delivery.receipt, delay).await {
                tracing::debug!(record = id, error = %nack, "cannot delay the record's next delivery");
            }
            failed.push(record);
            return;
        }
    };
    match desk.ports().queue.dead_letter(UPDATES_QUEUE, delivery, &reason).await {
        Ok(()) => {
            outcome.dead_lettered += 1;
            tracing::warn!(record = id, %reason, "update batch dead-lettered");
        }
        Err(dlq) => {
            // The redrive policy takes it to the dead-letter queue after its last delivery.
            tracing::warn!(record = id, %reason, error = %dlq, "cannot dead-letter; delivered again");
            failed.push(record);
        }
    }
}

/// The record as the queue port hands deliveries over (the body decoded as
/// the SQS adapter encoded it).
pub(crate) fn delivery_of(record: &SqsMessage) -> Delivery {
    Delivery {
        receipt: record.receipt_handle.clone().unwrap_or_default(),
        body: tgdesk_aws::sqs_body(record.body.as_deref().unwrap_or_default()),
        attempts: record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1),
        reason: None,
    }
}

/// The partial batch answer naming `failed`.
fn answer(failed: &[&SqsMessage]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in failed {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = record.message_id.clone().unwrap_or_default();
        response.batch_item_failures.push(failure);
    }
    response
}
