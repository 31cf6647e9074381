//! The queue port: at-least-once delivery of opaque bodies (updates from the
//! fleet, commands to it). Adapters: the durable local queue, SQS.
//!
//! The contract is the part of SQS a consumer relies on: named queues,
//! batches in, deliveries out that stay invisible while a consumer works on
//! them and come back when it does not ack, and a dead-letter queue next to
//! every queue where poison bodies go with their reason. Consumers must be
//! idempotent: a body may be delivered more than once.

use super::{PortError, PortErrorKind};
use async_trait::async_trait;
use std::time::Duration;

/// Longest body a queue accepts, so that the base64 an SQS adapter sends
/// (4/3 of it) plus a dead-letter reason stays under SQS's 256 KiB per message.
pub const MAX_BODY_BYTES: usize = 190 * 1024;

/// Longest dead-letter reason kept; a longer one is cut at a character
/// boundary by [`reason_within_limit`].
pub const MAX_REASON_BYTES: usize = 1024;

/// Returns `reason` cut to at most [`MAX_REASON_BYTES`] bytes, at a character boundary.
pub fn reason_within_limit(reason: &str) -> &str {
    if reason.len() <= MAX_REASON_BYTES {
        return reason;
    }
    let mut end = MAX_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Longest queue name, as SQS allows.
pub const MAX_QUEUE_NAME: usize = 80;

/// Returns the name of `queue`'s dead-letter queue (`<queue>-dlq`; SQS names
/// cannot hold a dot).
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}-dlq")
}

/// Returns `Invalid` unless `name` is 1 to [`MAX_QUEUE_NAME`] characters of
/// `[A-Za-z0-9_-]`, the names SQS accepts.
pub fn validate_queue_name(name: &str) -> Result<(), PortError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_QUEUE_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(PortError::new(PortErrorKind::Invalid, format!("invalid queue name {name:?}")))
    }
}

/// Returns `Invalid` for what [`Queue::send_batch`] refuses whole: a bad
/// queue name, or a body outside 1 to [`MAX_BODY_BYTES`] bytes.
pub fn validate_send(queue: &str, bodies: &[Vec<u8>]) -> Result<(), PortError> {
    validate_queue_name(queue)?;
    match bodies.iter().find(|b| b.is_empty() || b.len() > MAX_BODY_BYTES) {
        Some(bad) => Err(PortError::new(
            PortErrorKind::Invalid,
            format!("body of {} bytes is outside 1..={MAX_BODY_BYTES}", bad.len()),
        )),
        None => Ok(()),
    }
}

/// Returns `Invalid` for what [`Queue::receive`] refuses: a bad queue name
/// or a `max` of 0.
pub fn validate_receive(queue: &str, max: usize) -> Result<(), PortError> {
    validate_queue_name(queue)?;
    if max == 0 {
        return Err(PortError::new(PortErrorKind::Invalid, "receive of 0 bodies"));
    }
    Ok(())
}

/// One received body; ack it by its receipt or it is delivered again after
/// the visibility timeout.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Opaque handle to ack, nack or dead-letter this delivery.
    pub receipt: String,
    /// The body as sent.
    pub body: Vec<u8>,
    /// How many times it was delivered (1 on the first delivery).
    pub attempts: u32,
    /// Why the body was dead-lettered: set on deliveries from a dead-letter
    /// queue, `None` elsewhere.
    pub reason: Option<String>,
}

/// How many bodies a queue holds, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Bodies a `receive` would return now.
    pub visible: u64,
    /// Bodies received and neither acked nor visible again yet (including
    /// nacked ones waiting out their delay).
    pub in_flight: u64,
}

/// A named set of at-least-once queues. Queue names are checked by
/// [`validate_queue_name`] (`Invalid` otherwise) and exist from first use.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues bodies of 1 to [`MAX_BODY_BYTES`] bytes each (arbitrary
    /// bytes, returned unchanged); a body out of range makes the whole call
    /// `Invalid` and enqueues nothing. An empty batch does nothing. Bodies
    /// have no guaranteed order.
    async fn send_batch(&self, queue: &str, bodies: Vec<Vec<u8>>) -> Result<(), PortError>;

    /// Waits up to `wait` for visible bodies and returns as soon as there are
    /// some, at most `max` (`Invalid` when `max` is 0); returns an empty list
    /// when `wait` passes first. Each returned delivery stays invisible for
    /// `visibility`; unless acked by then it is delivered again with
    /// `attempts + 1` and a new receipt. Adapters may round `wait` and
    /// `visibility` up to their own granularity (whole seconds on SQS).
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, PortError>;

    /// Acknowledges deliveries so they are never delivered again. Acking a
    /// receipt twice succeeds; a malformed receipt is `Invalid`.
    async fn ack(&self, queue: &str, receipts: &[String]) -> Result<(), PortError>;

    /// Gives a delivery back unprocessed: it becomes visible again after
    /// `delay` (at once for zero) instead of at the end of its visibility
    /// timeout, for retries with backoff. A malformed receipt is `Invalid`.
    async fn nack(&self, queue: &str, receipt: &str, delay: Duration) -> Result<(), PortError>;

    /// Moves a poison delivery to [`dead_letter_queue`]`(queue)` with `reason`:
    /// it is never delivered from `queue` again, and is delivered from the
    /// dead-letter queue with the same body, `attempts` counting from 1 and
    /// `reason` set (cut by [`reason_within_limit`]). A malformed receipt is
    /// `Invalid`. A crash in the middle may leave the body in both queues,
    /// never in neither.
    async fn dead_letter(&self, queue: &str, delivery: &Delivery, reason: &str) -> Result<(), PortError>;

    /// Returns how many bodies wait in `queue` and how many are in flight
    /// (zeros for a queue never used). Counts are for metrics: SQS only
    /// estimates them, so never base control flow on them.
    async fn depth(&self, queue: &str) -> Result<QueueDepth, PortError>;

    /// True when [`Queue::depth`] counts exactly and at once; false where it
    /// only estimates and settles within a minute (SQS), so callers and the
    /// contract suite wait for a count instead of expecting it.
    fn exact_depth(&self) -> bool {
        true
    }
}
