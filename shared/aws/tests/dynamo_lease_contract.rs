//! Runs the leases contract suite against `DynamoLeases` on the moto server,
//! plus what two fleet nodes with their own clients rely on.

mod moto;

use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::DynamoLeases;
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{Leases, PortErrorKind};
use tgdesk_core::testkit::{fixtures, LeasesHandle};

async fn fresh_leases() -> LeasesHandle {
    LeasesHandle::new(Arc::new(DynamoLeases::new(&moto::context().await)))
}

// Every case but `concurrent_acquires_grant_the_lease_to_one_node`: moto
// checks a condition and writes the item in two steps without a lock, so
// concurrent conditional updates of one new item may all succeed there
// (about one run in two on this machine), where DynamoDB evaluates the
// condition and writes atomically. That case would test moto, not
// `DynamoLeases`; it runs on `SqliteLeases`, and the sequential race below
// runs here.
tgdesk_core::lease_contract_suite!(fresh_leases, without_concurrent_races);

#[tokio::test]
async fn two_nodes_with_their_own_clients_never_both_hold_an_account() {
    // Arrange: two nodes, each with its own SDK client on one table.
    let (node_a, node_b) = (DynamoLeases::new(&moto::context().await), DynamoLeases::new(&moto::context().await));
    let (t, account) = (fixtures::tenant(), AccountId::generate());
    let held = node_a.acquire(&t, &account, "a", Duration::from_secs(60)).await.unwrap();

    // Act
    let result = node_b.acquire(&t, &account, "b", Duration::from_secs(60)).await;

    // Assert
    assert_eq!(result.unwrap_err().kind, PortErrorKind::Conflict);
    assert_eq!(node_b.list(&t).await.unwrap(), vec![held]);
}
