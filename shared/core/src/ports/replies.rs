//! The replies port: the fleet's answers to commands a caller waits for
//! (account login steps, edits, deletes, media downloads). The API enqueues a
//! command with a fresh [`RequestId`], the fleet node running the account puts
//! the reply, and the API takes it. Adapters: a SQLite table locally, a
//! DynamoDB table with TTL on AWS (the API Lambda and the ECS fleet share no
//! memory, so the reply must go through a store).

use super::PortError;
use crate::domain::{RequestId, TenantId};
use async_trait::async_trait;

/// Replies kept until taken (adapters drop untaken ones after an hour).
#[async_trait]
pub trait Replies: Send + Sync {
    /// Stores the reply to request `id`, replacing an earlier one.
    async fn put_reply(&self, tenant: &TenantId, id: &RequestId, body: &[u8]) -> Result<(), PortError>;
    /// Removes and returns the reply to `id`, or `None` while there is none.
    async fn take_reply(&self, tenant: &TenantId, id: &RequestId) -> Result<Option<Vec<u8>>, PortError>;
}
