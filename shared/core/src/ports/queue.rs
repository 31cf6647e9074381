//! The queue port: at-least-once delivery of opaque bodies (updates from the
//! fleet, commands to it). Adapters: the in-process queue, SQS.

use super::PortError;
use async_trait::async_trait;
use std::time::Duration;

/// One received body; ack it by its receipt or it is delivered again after
/// the visibility timeout.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Handle to acknowledge this delivery.
    pub receipt: String,
    /// The body as sent.
    pub body: Vec<u8>,
    /// How many times it was delivered (1 on the first delivery).
    pub attempts: u32,
}

/// A named set of at-least-once queues.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues bodies, all or none.
    async fn send_batch(&self, queue: &str, bodies: Vec<Vec<u8>>) -> Result<(), PortError>;
    /// Waits up to `wait` for at most `max` deliveries.
    async fn receive(&self, queue: &str, max: usize, wait: Duration) -> Result<Vec<Delivery>, PortError>;
    /// Acknowledges deliveries so they are never delivered again.
    async fn ack(&self, queue: &str, receipts: &[String]) -> Result<(), PortError>;
}
