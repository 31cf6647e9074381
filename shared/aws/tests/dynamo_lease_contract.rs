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
tgdesk_core::lease_contract_suite!(@cases fresh_leases;
    acquire_takes_a_free_lease_for_its_ttl,
    acquire_conflicts_while_another_node_holds_it,
    acquire_by_the_holder_again_gets_a_larger_fencing,
    an_expired_lease_is_taken_over_and_the_old_holder_is_fenced,
    renew_extends_the_expiry_keeping_the_fencing,
    renew_after_expiry_succeeds_when_nobody_took_it,
    renew_many_renews_the_held_and_names_the_lost,
    release_frees_the_lease_for_another_node_at_once,
    list_returns_current_leases_including_expired_ones,
    leases_of_other_accounts_and_tenants_are_independent,
);

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
