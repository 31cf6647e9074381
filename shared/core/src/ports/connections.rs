//! The connections port: which WebSocket connections each user has open,
//! where the sockets live outside the process that pushes (API Gateway
//! holds them; the `ws-*` functions record them and the `push` function
//! posts to them).

use super::PortError;
use crate::domain::{TenantId, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A WebSocket connection id as the gateway names it.
pub type ConnectionId = String;

/// Connections one user may hold at once (the local server's default too).
pub const MAX_CONNECTIONS_PER_USER: usize = 8;
/// Longest connection id accepted (API Gateway's are 16 characters).
pub const MAX_CONNECTION_ID: usize = 128;

/// An open connection and the token it was opened with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The gateway's id.
    pub id: ConnectionId,
    /// The user's tenant.
    pub tenant: TenantId,
    /// Who opened it.
    pub user: UserId,
    /// The token's version: a `session.revoked` naming a later one closes it.
    pub token_version: u32,
    /// When its token expires: it is closed then, and forgotten.
    pub expires_at: DateTime<Utc>,
    /// The `since=` it was opened with: a client resuming after the last
    /// frame it applied. Its numbering goes on from there, and its first
    /// frames start with a `resync` (a gateway keeps no backlog to replay).
    pub resumed_after: Option<u64>,
}

/// Frame numbers taken by [`Connections::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advance {
    /// The last number taken.
    pub last: u64,
    /// The first taken by anyone since a resumed connection registered:
    /// the caller owes it a `resync` first (numbered `last - count`, the
    /// `since=` itself, which the client reads as "refetch, then go on").
    pub resync_first: bool,
}

/// Open connections per user, each with the numbering of the frames sent to it.
#[async_trait]
pub trait Connections: Send + Sync {
    /// Records a connection; registering an id again replaces it (its
    /// numbering starts over). `Invalid` for an empty or overlong id.
    async fn register(&self, connection: &Connection) -> Result<(), PortError>;
    /// Forgets a connection by id; forgetting a missing one succeeds.
    async fn unregister(&self, id: &str) -> Result<(), PortError>;
    /// Returns `user`'s connections whose token has not expired at `now`.
    async fn of_user(&self, tenant: &TenantId, user: &UserId, now: DateTime<Utc>)
        -> Result<Vec<Connection>, PortError>;
    /// Takes the next `count` frame numbers of `connection` (numbers start
    /// after `resumed_after`, else at 1, and never repeat, however many
    /// callers take at once); `None` when the connection is gone.
    async fn advance(&self, connection: &Connection, count: u64) -> Result<Option<Advance>, PortError>;
}

/// Returns `Invalid` for an id no gateway gives.
pub fn validate_connection_id(id: &str) -> Result<(), PortError> {
    if id.is_empty() || id.len() > MAX_CONNECTION_ID || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PortError::new(super::PortErrorKind::Invalid, format!("{id:?} is not a connection id")));
    }
    Ok(())
}
