//! Runs the connections contract suite against `MemoryConnections`.

use std::sync::Arc;
use tgdesk_core::testkit::ConnectionsHandle;
use tgdesk_local::MemoryConnections;

async fn fresh() -> ConnectionsHandle {
    ConnectionsHandle::new(Arc::new(MemoryConnections::default()))
}

tgdesk_core::connections_contract_suite!(fresh);
