//! The push hub port: events to the agents allowed to see them. Adapters: the
//! axum WebSocket hub, API Gateway PostToConnection.

use super::PortError;
use crate::domain::{TenantId, UserId};
use async_trait::async_trait;

/// An event for agents' screens (`message.new`, `dialog.update`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct PushEvent {
    /// Event type.
    pub kind: &'static str,
    /// Payload.
    pub data: serde_json::Value,
}

/// Delivers events; each recipient numbers its events with its own sequence.
#[async_trait]
pub trait PushHub: Send + Sync {
    /// Sends `event` to every connection of every user in `audience`.
    async fn publish(&self, tenant: &TenantId, audience: &[UserId], event: PushEvent) -> Result<(), PortError>;
}
