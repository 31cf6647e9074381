//! The local ingest pump: takes update batches off the updates queue, hands
//! each envelope to the ingest use case, and acknowledges the batch only once
//! every envelope is stored. A store failure puts the batch back with backoff
//! (it is retried, never dropped); a batch that cannot be decoded or names an
//! unknown account goes to the dead-letter queue with its reason, after the
//! good envelopes in it were stored (ingest is idempotent).
//!
//! Four stages run at once, each in batch order, so one batch's push does
//! not wait for the next batch's store and the store writer never waits for
//! decoding or the queue: a receiver (queue receive and decode), the store
//! stage, an acknowledger (the stored deliveries leave the queue) and an
//! announcer (the pushes a stored batch owes).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{Delivery, Queue};
use tgdesk_core::usecases::{decode_batch, Announcements, AppError, Desk, FailedBatch, UpdateEnvelope, UPDATES_QUEUE};
use tokio::sync::{mpsc, watch};

/// Deliveries taken per receive.
const BATCH: usize = 32;
/// How long a delivery stays invisible while it is being ingested.
const VISIBILITY: Duration = Duration::from_secs(60);
/// Decoded batches waiting for the store stage.
const DECODED_AHEAD: usize = 8;
/// Batches stored (and acknowledged) together at most.
const MERGED: usize = 8;
/// Stored batches waiting for their pushes; past this the store stage waits
/// (push falling behind slows ingest rather than growing memory).
const OWED_AHEAD: usize = 8;

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
    /// Stored batches whose pushes failed (clients resync over REST).
    pub push_failures: AtomicU64,
}

/// A received delivery with its body decoded (or why it cannot be).
struct Decoded {
    delivery: Delivery,
    envelopes: Result<Vec<UpdateEnvelope>, AppError>,
}

/// Runs the pump until `shutdown` turns true; the batches in hand are
/// stored, acknowledged and pushed first.
pub async fn run_ingest(desk: Desk, metrics: Arc<PumpMetrics>, shutdown: watch::Receiver<bool>) {
    let (decoded_tx, mut decoded) = mpsc::channel(DECODED_AHEAD);
    let (owed_tx, owed) = mpsc::channel(OWED_AHEAD);
    let (stored_tx, stored) = mpsc::channel(OWED_AHEAD);
    let receiver = tokio::spawn(receive(desk.clone(), decoded_tx, shutdown));
    let announcer = tokio::spawn(announce(desk.clone(), metrics.clone(), owed));
    let acknowledger = tokio::spawn(acknowledge(desk.clone(), stored));
    while let Some(first) = decoded.recv().await {
        // Batches that piled up while the last store ran go in together:
        // the further ingest falls behind, the more each store carries.
        let mut items = vec![first];
        while items.len() < MERGED {
            match decoded.try_recv() {
                Ok(next) => items.push(next),
                Err(_) => break,
            }
        }
        handle(&desk, &metrics, items, &owed_tx, &stored_tx).await;
    }
    drop((owed_tx, stored_tx));
    for stage in [receiver, announcer, acknowledger] {
        if let Err(e) = stage.await {
            tracing::error!(error = %e, "ingest pump stage failed");
        }
    }
}

/// Receives deliveries and decodes them, in order, until `shutdown`.
async fn receive(desk: Desk, decoded: mpsc::Sender<Decoded>, shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        // Not raced against the shutdown: a receive dropped midway may have
        // claimed batches, which would wait out their visibility. It waits a
        // second at most.
        let received = desk.ports().queue.receive(UPDATES_QUEUE, BATCH, Duration::from_secs(1), VISIBILITY).await;
        match received {
            Ok(deliveries) => {
                for delivery in deliveries {
                    let envelopes = decode_batch(&delivery.body);
                    if decoded.send(Decoded { delivery, envelopes }).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "updates queue unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Sends the pushes stored batches owe, in order.
async fn announce(desk: Desk, metrics: Arc<PumpMetrics>, mut owed: mpsc::Receiver<Announcements>) {
    while let Some(announcements) = owed.recv().await {
        if let Err(e) = desk.announce(announcements).await {
            // Stored is stored: a client that missed the push sees it on its next REST fetch.
            metrics.push_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "pushes of a stored batch failed");
        }
    }
}

/// Acknowledges stored deliveries, in order, so the store stage goes on to
/// the next batch instead of waiting for the queue's write.
async fn acknowledge(desk: Desk, mut stored: mpsc::Receiver<Vec<String>>) {
    while let Some(receipts) = stored.recv().await {
        if let Err(e) = desk.ports().queue.ack(UPDATES_QUEUE, &receipts).await {
            // The deliveries come back after their visibility timeout; ingest is idempotent.
            tracing::warn!(error = %e, "cannot acknowledge stored update batches");
        }
    }
}

/// Stores the envelopes of several deliveries in one pass, then hands the
/// stored deliveries to the acknowledger together. A delivery that cannot be
/// decoded or holds a poison envelope is dead-lettered (its good envelopes
/// are stored); when the store fails, every delivery is put back.
async fn handle(
    desk: &Desk,
    metrics: &PumpMetrics,
    items: Vec<Decoded>,
    owed: &mpsc::Sender<Announcements>,
    stored_tx: &mpsc::Sender<Vec<String>>,
) {
    let queue = desk.ports().queue.as_ref();
    let mut envelopes = Vec::new();
    let mut stored = Vec::with_capacity(items.len());
    for item in items {
        match item.envelopes {
            Ok(mine) => {
                let first = envelopes.len();
                envelopes.extend(mine);
                stored.push((item.delivery, first..envelopes.len()));
            }
            Err(e) => {
                settle_failed(queue, metrics, &item.delivery, &e, FailedBatch::of(&e, item.delivery.attempts)).await
            }
        }
    }
    if stored.is_empty() {
        return;
    }
    let poison = match store(desk, metrics, &envelopes, owed).await {
        Ok(poison) => poison,
        Err(e) => {
            for (delivery, _) in &stored {
                settle_failed(queue, metrics, delivery, &e, FailedBatch::store_failed(&e, delivery.attempts)).await;
            }
            return;
        }
    };
    let mut receipts = Vec::with_capacity(stored.len());
    for (delivery, range) in &stored {
        match poison.iter().find(|(i, _)| range.contains(i)) {
            Some((_, e)) => settle_failed(queue, metrics, delivery, e, FailedBatch::of(e, delivery.attempts)).await,
            None => receipts.push(delivery.receipt.clone()),
        }
    }
    if !receipts.is_empty() && stored_tx.send(receipts).await.is_err() {
        // The deliveries come back after their visibility timeout; ingest is idempotent.
        tracing::error!("the acknowledger stopped; stored update batches stay on the queue");
    }
}

/// Dead-letters a delivery that cannot succeed, or puts it back with backoff,
/// as `verdict` (a `FailedBatch`, as the `ingest` function's) says.
async fn settle_failed(
    queue: &dyn Queue,
    metrics: &PumpMetrics,
    delivery: &Delivery,
    e: &AppError,
    verdict: FailedBatch,
) {
    let result = match verdict {
        FailedBatch::DeadLetter(reason) => dead_letter(queue, metrics, delivery, &reason).await,
        FailedBatch::Retry(delay) => {
            metrics.retries.fetch_add(1, Ordering::Relaxed);
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

fn record_lag(metrics: &PumpMetrics, envelopes: &[UpdateEnvelope]) {
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

/// Stores the envelopes in one pass and hands their pushes to the announcer;
/// returns the poison envelopes (by index) with their reasons, after the
/// others were stored, or a retryable error at once.
async fn store(
    desk: &Desk,
    metrics: &PumpMetrics,
    envelopes: &[UpdateEnvelope],
    owed: &mpsc::Sender<Announcements>,
) -> Result<Vec<(usize, AppError)>, AppError> {
    let done = desk.store_batch(envelopes).await?;
    let report = &done.report;
    metrics.new_messages.fetch_add(report.new_messages as u64, Ordering::Relaxed);
    metrics.duplicates.fetch_add(report.duplicates as u64, Ordering::Relaxed);
    if report.new_messages > 0 {
        record_lag(metrics, envelopes);
    }
    if !done.announcements.is_empty() && owed.send(done.announcements).await.is_err() {
        tracing::error!("the announcer stopped; pushes of a stored batch dropped");
    }
    Ok(done.poison)
}
