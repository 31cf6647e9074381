//! The connections port: which WebSocket connections each user has open
//! (needed where the socket lives elsewhere, as with API Gateway).

use super::PortError;
use crate::domain::{TenantId, UserId};
use async_trait::async_trait;

/// A WebSocket connection id as the gateway names it.
pub type ConnectionId = String;

/// Open connections per user.
#[async_trait]
pub trait Connections: Send + Sync {
    /// Records a connection; registering twice keeps one.
    async fn register(&self, tenant: &TenantId, user: &UserId, id: &ConnectionId) -> Result<(), PortError>;
    /// Forgets a connection; forgetting a missing one succeeds.
    async fn unregister(&self, tenant: &TenantId, user: &UserId, id: &ConnectionId) -> Result<(), PortError>;
    /// Returns a user's open connections.
    async fn list(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<ConnectionId>, PortError>;
}
