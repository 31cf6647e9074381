//! The send log port: every send an agent asked for and every batch, with
//! their statuses. Adapters: SQLite locally, DynamoDB on AWS.

use super::PortError;
use crate::domain::{BatchId, BatchSend, SendId, SendRecord, SendStatus, TenantId};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Records of sends and batches.
#[async_trait]
pub trait SendLog: Send + Sync {
    /// Inserts or replaces sends by id, all or none.
    async fn put_sends(&self, tenant: &TenantId, sends: &[SendRecord]) -> Result<(), PortError>;
    /// Returns a send, or `None`.
    async fn get_send(&self, tenant: &TenantId, id: &SendId) -> Result<Option<SendRecord>, PortError>;
    /// Inserts or replaces a batch.
    async fn put_batch(&self, tenant: &TenantId, batch: &BatchSend) -> Result<(), PortError>;
    /// Returns a batch, or `None`.
    async fn get_batch(&self, tenant: &TenantId, id: &BatchId) -> Result<Option<BatchSend>, PortError>;
    /// Returns a page of a batch's sends ordered by id, after `after`.
    async fn list_batch_sends(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
        after: Option<&SendId>,
        limit: usize,
    ) -> Result<Vec<SendRecord>, PortError>;
    /// Counts a batch's sends per status (statuses without sends are absent).
    async fn count_batch_sends(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
    ) -> Result<BTreeMap<SendStatus, u64>, PortError>;
}
