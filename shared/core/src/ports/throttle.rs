//! The throttle port: attempts counted per key in a sliding window, with the
//! check and the count one atomic step, so a concurrent burst cannot pass
//! more attempts than the limit. Adapters: [`crate::auth::MemoryThrottle`]
//! (one process); on AWS a DynamoDB table with conditional writes, so the
//! limit holds across every API process.

use super::PortError;
use async_trait::async_trait;
use std::time::Duration;

/// Longest key an adapter must accept; callers build keys from parsed,
/// length-limited names, never from raw input.
pub const MAX_THROTTLE_KEY: usize = 160;

/// One key and its limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleLimit {
    /// What is counted (`u:<tenant>/<username>`, `a:<address>`, …), at most [`MAX_THROTTLE_KEY`] bytes.
    pub key: String,
    /// Attempts allowed in any `window`.
    pub max: u32,
    /// How long an attempt counts.
    pub window: Duration,
}

/// The outcome of [`Throttle::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The attempt was counted under every key.
    Admitted,
    /// A key was at its limit; nothing was counted.
    Refused {
        /// How long until that key's oldest attempt leaves its window
        /// (the longest such wait when several keys are full).
        retry_after: Duration,
    },
}

/// Counts attempts.
#[async_trait]
pub trait Throttle: Send + Sync {
    /// Counts one attempt under every limit's key, in one atomic step with
    /// the check: when any key already holds `max` attempts younger than its
    /// window, nothing is counted and `Refused` says how long to wait.
    /// Concurrent calls together never admit more than `max` per key and window.
    async fn admit(&self, limits: &[ThrottleLimit]) -> Result<Admission, PortError>;

    /// Takes back the newest attempt counted under `key` (an attempt that
    /// turned out legitimate); does nothing when none is counted.
    async fn release(&self, key: &str) -> Result<(), PortError>;

    /// Forgets every attempt counted under `key`.
    async fn forget(&self, key: &str) -> Result<(), PortError>;
}
