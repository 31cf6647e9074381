//! [`MemoryConnections`]: the connections port in memory, for one process
//! that stands in for API Gateway (the gateway harness and tests). The
//! one-process server needs none: its hub holds its sockets itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use tgdesk_core::domain::{TenantId, UserId};
use tgdesk_core::ports::{validate_connection_id, Advance, Connection, Connections, PortError};

/// Connections and their frame numbers, in memory.
#[derive(Default)]
pub struct MemoryConnections {
    open: Mutex<HashMap<String, Numbered>>,
}

/// A connection, its last frame number, and whether it owes a `resync`.
type Numbered = (Connection, u64, bool);

impl MemoryConnections {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Numbered>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Connections for MemoryConnections {
    async fn register(&self, connection: &Connection) -> Result<(), PortError> {
        validate_connection_id(&connection.id)?;
        let numbered = (connection.clone(), connection.resumed_after.unwrap_or(0), connection.resumed_after.is_some());
        self.open().insert(connection.id.clone(), numbered);
        Ok(())
    }

    async fn unregister(&self, id: &str) -> Result<(), PortError> {
        self.open().remove(id);
        Ok(())
    }

    async fn of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Connection>, PortError> {
        let mut open = self.open();
        // Expired ones go, as DynamoDB's TTL takes them.
        open.retain(|_, (c, _, _)| c.expires_at > now);
        Ok(open
            .values()
            .filter(|(c, _, _)| &c.tenant == tenant && &c.user == user)
            .map(|(c, _, _)| c.clone())
            .collect())
    }

    async fn advance(&self, connection: &Connection, count: u64) -> Result<Option<Advance>, PortError> {
        Ok(self.open().get_mut(&connection.id).map(|(_, seq, resync)| {
            *seq += count;
            Advance { last: *seq, resync_first: std::mem::take(resync) }
        }))
    }
}
