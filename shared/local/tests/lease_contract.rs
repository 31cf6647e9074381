//! Runs the leases contract suite against `SqliteLeases` on a real file,
//! plus what two fleet nodes sharing one file rely on.

use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{Leases, PortErrorKind};
use tgdesk_core::testkit::{fixtures, LeasesHandle};
use tgdesk_local::SqliteLeases;

/// Opens fresh leases in their own temp dir, kept alive with the handle.
async fn fresh_leases() -> LeasesHandle {
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = SqliteLeases::open(dir.path().join("leases.db")).expect("open leases");
    LeasesHandle::new(Arc::new(leases)).keep_alive(dir)
}

tgdesk_core::lease_contract_suite!(fresh_leases);

/// `SqliteLeases` without its batched `renew_many`: the port's default,
/// renewing one by one, answers to the same contract.
mod one_by_one {
    use super::*;
    use async_trait::async_trait;
    use tgdesk_core::domain::TenantId;
    use tgdesk_core::ports::{Lease, PortError};

    struct OneByOne(SqliteLeases);

    #[async_trait]
    impl Leases for OneByOne {
        async fn acquire(&self, t: &TenantId, a: &AccountId, node: &str, ttl: Duration) -> Result<Lease, PortError> {
            self.0.acquire(t, a, node, ttl).await
        }
        async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, PortError> {
            self.0.renew(lease, ttl).await
        }
        async fn release(&self, lease: &Lease) -> Result<(), PortError> {
            self.0.release(lease).await
        }
        async fn list(&self, t: &TenantId) -> Result<Vec<Lease>, PortError> {
            self.0.list(t).await
        }
        async fn holder(&self, t: &TenantId, a: &AccountId) -> Result<Option<Lease>, PortError> {
            self.0.holder(t, a).await
        }
    }

    async fn fresh_one_by_one() -> LeasesHandle {
        let dir = tempfile::tempdir().expect("temp dir");
        let leases = SqliteLeases::open(dir.path().join("leases.db")).expect("open leases");
        LeasesHandle::new(Arc::new(OneByOne(leases))).keep_alive(dir)
    }

    tgdesk_core::lease_contract_suite!(fresh_one_by_one);
}

#[tokio::test]
async fn two_instances_on_one_file_never_both_hold_an_account() {
    // Arrange: two nodes, each with its own connections to one file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.db");
    let (node_a, node_b) = (SqliteLeases::open(&path).unwrap(), SqliteLeases::open(&path).unwrap());
    let (t, account) = (fixtures::tenant(), AccountId::generate());
    let held = node_a.acquire(&t, &account, "a", Duration::from_secs(60)).await.unwrap();

    // Act
    let result = node_b.acquire(&t, &account, "b", Duration::from_secs(60)).await;

    // Assert
    assert_eq!(result.unwrap_err().kind, PortErrorKind::Conflict);
    assert_eq!(node_b.list(&t).await.unwrap(), vec![held]);
}

#[tokio::test]
async fn fencing_keeps_growing_after_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.db");
    let (t, account) = (fixtures::tenant(), AccountId::generate());
    let leases = SqliteLeases::open(&path).unwrap();
    let first = leases.acquire(&t, &account, "a", Duration::from_secs(60)).await.unwrap();
    leases.release(&first).await.unwrap();
    drop(leases);

    let reopened = SqliteLeases::open(&path).unwrap();
    let second = reopened.acquire(&t, &account, "b", Duration::from_secs(60)).await.unwrap();

    assert!(second.fencing > first.fencing);
}
