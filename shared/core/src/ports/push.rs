//! The push hub port: events to the agents allowed to see them. Adapters: the
//! axum WebSocket hub, API Gateway PostToConnection.

use super::{PortError, PortErrorKind};
use crate::domain::{TenantId, UserId};
use async_trait::async_trait;
use serde::Serialize;
use serde_json::value::RawValue;

/// An event for agents' screens (`message.new`, `dialog.update`, …).
#[derive(Clone, Debug)]
pub struct PushEvent {
    /// Event type.
    pub kind: &'static str,
    /// Payload, as JSON text: serialised once, straight from its type (no
    /// `serde_json::Value` tree), however many users get it.
    pub data: Box<RawValue>,
}

/// Every event type the desk pushes (the hub adds `resync` itself).
pub const EVENT_KINDS: [&str; 11] = [
    "message.new",
    "message.edit",
    "message.delete",
    "message.tags",
    "dialog.update",
    "account.status",
    "send.status",
    "batch.progress",
    // Tells sockets of older token versions to close (usecases::revocation).
    "session.revoked",
    "import.progress",
    "job.finished",
];

impl PushEvent {
    /// Returns the event type named `kind`, `None` when the desk has no such event.
    pub fn known_kind(kind: &str) -> Option<&'static str> {
        EVENT_KINDS.into_iter().find(|k| *k == kind)
    }

    /// A `kind` event carrying `data`.
    pub fn new(kind: &'static str, data: &impl Serialize) -> Result<Self, PortError> {
        let data = serde_json::value::to_raw_value(data)
            .map_err(|e| PortError::with_source(PortErrorKind::Internal, "event payload does not serialise", e))?;
        Ok(Self { kind, data })
    }
}

/// Delivers events; each recipient numbers its events with its own sequence.
#[async_trait]
pub trait PushHub: Send + Sync {
    /// Sends `event` to every connection of every user in `audience`.
    async fn publish(&self, tenant: &TenantId, audience: &[UserId], event: PushEvent) -> Result<(), PortError>;
}
