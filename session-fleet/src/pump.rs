//! The local ingest pump: takes update batches off the updates queue, hands
//! each envelope to the ingest use case, and acknowledges the batch only once
//! every envelope is stored. A store failure puts the batch back with backoff
//! (it is retried, never dropped); a batch that cannot be decoded or names an
//! unknown account goes to the dead-letter queue with its reason, after the
//! good envelopes in it were stored (ingest is idempotent).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{Delivery, Queue};
use tgdesk_core::usecases::{decode_batch, AppError, Desk, UPDATES_QUEUE};
use tokio::sync::watch;

/// Deliveries taken per receive.
const BATCH: usize = 32;
/// How long a delivery stays invisible while it is being ingested.
const VISIBILITY: Duration = Duration::from_secs(60);
/// Attempts after which a batch that keeps failing is dead-lettered.
const MAX_ATTEMPTS: u32 = 20;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct PumpMetrics {
    /// Messages stored for the first time.
    pub new_messages: AtomicU64,
    /// Redelivered messages ignored.
    pub duplicates: AtomicU64,
    /// Batches put back for a retry.
    pub retries: AtomicU64,
    /// Batches dead-lettered.
    pub dead_lettered: AtomicU64,
    /// Age of the newest new message at the moment it was stored, in
    /// milliseconds (Telegram dates have whole seconds): how far ingest lags.
    pub lag_ms: AtomicU64,
}

/// Runs the pump until `shutdown` turns true; the batch in hand is finished first.
pub async fn run_ingest(desk: Desk, metrics: Arc<PumpMetrics>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        let received = tokio::select! {
            r = desk.queue.receive(UPDATES_QUEUE, BATCH, Duration::from_secs(1), VISIBILITY) => r,
            _ = shutdown.changed() => break,
        };
        match received {
            Ok(deliveries) => {
                for delivery in deliveries {
                    handle(&desk, desk.queue.as_ref(), &metrics, &delivery).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "updates queue unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn handle(desk: &Desk, queue: &dyn Queue, metrics: &PumpMetrics, delivery: &Delivery) {
    let outcome = ingest_body(desk, metrics, &delivery.body).await;
    let result = match outcome {
        Ok(()) => queue.ack(UPDATES_QUEUE, std::slice::from_ref(&delivery.receipt)).await,
        Err(e @ (AppError::Invalid(_) | AppError::NotFound(_))) => {
            dead_letter(queue, metrics, delivery, &e.to_string()).await
        }
        Err(e) if delivery.attempts >= MAX_ATTEMPTS => {
            dead_letter(queue, metrics, delivery, &format!("failed {MAX_ATTEMPTS} times: {e}")).await
        }
        Err(e) => {
            metrics.retries.fetch_add(1, Ordering::Relaxed);
            let delay = Duration::from_millis(200 * 2u64.pow(delivery.attempts.min(8)));
            tracing::warn!(error = %e, attempts = delivery.attempts, ?delay, "ingest failed; batch put back");
            queue.nack(UPDATES_QUEUE, &delivery.receipt, delay).await
        }
    };
    if let Err(e) = result {
        // The delivery comes back after its visibility timeout; nothing is lost.
        tracing::warn!(error = %e, "cannot settle an updates delivery");
    }
}

async fn dead_letter(
    queue: &dyn Queue,
    metrics: &PumpMetrics,
    delivery: &Delivery,
    reason: &str,
) -> Result<(), tgdesk_core::ports::PortError> {
    metrics.dead_lettered.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(reason, "update batch dead-lettered");
    queue.dead_letter(UPDATES_QUEUE, delivery, reason).await
}

fn record_lag(metrics: &PumpMetrics, envelopes: &[tgdesk_core::usecases::UpdateEnvelope]) {
    let newest = envelopes
        .iter()
        .flat_map(|e| e.updates.iter())
        .filter_map(|u| match u {
            tgdesk_core::usecases::AccountUpdate::Message { message } => Some(message.date),
            _ => None,
        })
        .max();
    if let Some(date) = newest {
        let lag = (chrono::Utc::now() - date).num_milliseconds().max(0) as u64;
        metrics.lag_ms.store(lag, Ordering::Relaxed);
    }
}

/// Ingests every envelope of a body in one pass; the first poison
/// envelope's error is returned after the others were stored, a retryable
/// error at once.
async fn ingest_body(desk: &Desk, metrics: &PumpMetrics, body: &[u8]) -> Result<(), AppError> {
    let envelopes = decode_batch(body)?;
    let done = desk.ingest_batch(&envelopes).await?;
    let report = &done.report;
    metrics.new_messages.fetch_add(report.new_messages as u64, Ordering::Relaxed);
    metrics.duplicates.fetch_add(report.duplicates as u64, Ordering::Relaxed);
    if report.new_messages > 0 {
        record_lag(metrics, &envelopes);
    }
    done.poison.into_iter().next().map_or(Ok(()), |(_, e)| Err(e))
}
