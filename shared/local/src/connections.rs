//! [`MemoryConnections`]: the connections port in memory, for one process
//! that stands in for API Gateway (the gateway harness and tests). The
//! one-process server needs none: its hub holds its sockets itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use tgdesk_core::domain::{TenantId, UserId};
use tgdesk_core::ports::{validate_connection_id, Connection, Connections, PortError};

/// Connections and their frame numbers, in memory.
#[derive(Default)]
pub struct MemoryConnections {
    open: Mutex<HashMap<String, (Connection, u64)>>,
}

impl MemoryConnections {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Connection, u64)>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Connections for MemoryConnections {
    async fn register(&self, connection: &Connection) -> Result<(), PortError> {
        validate_connection_id(&connection.id)?;
        self.open().insert(connection.id.clone(), (connection.clone(), 0));
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
        open.retain(|_, (c, _)| c.expires_at > now);
        Ok(open.values().filter(|(c, _)| &c.tenant == tenant && &c.user == user).map(|(c, _)| c.clone()).collect())
    }

    async fn advance(&self, connection: &Connection, count: u64) -> Result<Option<u64>, PortError> {
        Ok(self.open().get_mut(&connection.id).map(|(_, seq)| {
            *seq += count;
            *seq
        }))
    }
}
