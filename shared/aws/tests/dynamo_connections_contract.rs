//! Runs the connections contract suite against `DynamoConnections` on the
//! moto server.

mod moto;

use std::sync::Arc;
use tgdesk_aws::DynamoConnections;
use tgdesk_core::testkit::ConnectionsHandle;

async fn fresh() -> ConnectionsHandle {
    ConnectionsHandle::new(Arc::new(DynamoConnections::new(&moto::context().await)))
}

tgdesk_core::connections_contract_suite!(fresh);
