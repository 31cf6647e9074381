//! The leases contract: one case per promise of [`Leases`]. Each case uses
//! its own random tenant. Expiry is tested with a 200 ms ttl that the case
//! waits out; that sleep is the only one.

use crate::domain::{AccountId, TenantId};
use crate::ports::{Lease, Leases, PortErrorKind};
use crate::testkit::fixtures::{assert_kind, tenant};
use chrono::Utc;
use std::time::Duration;

/// A ttl the case waits out.
const SHORT: Duration = Duration::from_millis(200);
/// A ttl no case waits out.
const LONG: Duration = Duration::from_secs(60);

async fn wait_out(ttl: Duration) {
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
}

fn ids() -> (TenantId, AccountId) {
    (tenant(), AccountId::generate())
}

/// Asserts that `lease` expires `ttl` after a moment between `before` and now.
#[track_caller]
fn assert_expiry(lease: &Lease, before: chrono::DateTime<Utc>, ttl: Duration) {
    let ttl = chrono::Duration::from_std(ttl).expect("ttl");
    let slack = chrono::Duration::milliseconds(1);
    assert!(lease.expires_at >= before + ttl - slack, "expires too early: {lease:?}");
    assert!(lease.expires_at <= Utc::now() + ttl + slack, "expires too late: {lease:?}");
}

/// A free lease is acquired for the node, expiring `ttl` from now.
pub async fn acquire_takes_a_free_lease_for_its_ttl(l: &dyn Leases) {
    let (t, a) = ids();
    let before = Utc::now();

    let lease = l.acquire(&t, &a, "node-a", LONG).await.unwrap();

    assert_eq!((&lease.tenant, &lease.account_id, lease.node.as_str()), (&t, &a, "node-a"));
    assert_expiry(&lease, before, LONG);
    assert_kind(l.acquire(&t, &a, "", LONG).await, PortErrorKind::Invalid);
}

/// Another node's unexpired lease makes `acquire` a `Conflict`.
pub async fn acquire_conflicts_while_another_node_holds_it(l: &dyn Leases) {
    let (t, a) = ids();
    let held = l.acquire(&t, &a, "node-a", LONG).await.unwrap();

    let result = l.acquire(&t, &a, "node-b", LONG).await;

    assert_kind(result, PortErrorKind::Conflict);
    assert_eq!(l.list(&t).await.unwrap(), vec![held]);
}

/// The holding node may acquire again, with a larger fencing number, and its
/// older lease value can no longer be renewed.
pub async fn acquire_by_the_holder_again_gets_a_larger_fencing(l: &dyn Leases) {
    let (t, a) = ids();
    let first = l.acquire(&t, &a, "node-a", LONG).await.unwrap();

    let second = l.acquire(&t, &a, "node-a", LONG).await.unwrap();

    assert!(second.fencing > first.fencing);
    assert_kind(l.renew(&first, LONG).await, PortErrorKind::Conflict);
    l.renew(&second, LONG).await.unwrap();
}

/// After expiry another node takes over with a larger fencing number; the
/// old holder can neither renew nor release it away.
pub async fn an_expired_lease_is_taken_over_and_the_old_holder_is_fenced(l: &dyn Leases) {
    let (t, a) = ids();
    let old = l.acquire(&t, &a, "node-a", SHORT).await.unwrap();
    wait_out(SHORT).await;

    let new = l.acquire(&t, &a, "node-b", LONG).await.unwrap();

    assert_eq!(new.node, "node-b");
    assert!(new.fencing > old.fencing);
    assert_kind(l.renew(&old, LONG).await, PortErrorKind::Conflict);
    l.release(&old).await.unwrap();
    assert_eq!(l.list(&t).await.unwrap(), vec![new.clone()]);
    assert_kind(l.acquire(&t, &a, "node-a", LONG).await, PortErrorKind::Conflict);
}

/// `renew` extends the expiry and keeps node and fencing.
pub async fn renew_extends_the_expiry_keeping_the_fencing(l: &dyn Leases) {
    let (t, a) = ids();
    let lease = l.acquire(&t, &a, "node-a", SHORT).await.unwrap();
    let before = Utc::now();

    let renewed = l.renew(&lease, LONG).await.unwrap();

    assert_eq!((renewed.fencing, renewed.node.as_str()), (lease.fencing, "node-a"));
    assert_expiry(&renewed, before, LONG);
    wait_out(SHORT).await;
    assert_kind(l.acquire(&t, &a, "node-b", LONG).await, PortErrorKind::Conflict);
    assert_eq!(l.list(&t).await.unwrap(), vec![renewed]);
}

/// `renew_many` renews, in order, the leases still held and answers `None`
/// for those taken over or released; the renewed ones keep their fencing.
pub async fn renew_many_renews_the_held_and_names_the_lost(l: &dyn Leases) {
    let t = tenant();
    let (x, y, z) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
    let held = l.acquire(&t, &x, "node-a", SHORT).await.unwrap();
    let lost = l.acquire(&t, &y, "node-a", SHORT).await.unwrap();
    let released = l.acquire(&t, &z, "node-a", LONG).await.unwrap();
    l.release(&released).await.unwrap();
    wait_out(SHORT).await;
    let taker = l.acquire(&t, &y, "node-b", LONG).await.unwrap();
    let before = Utc::now();

    let renewed = l.renew_many(&[held.clone(), lost, released], LONG).await.unwrap();

    assert_eq!(renewed.len(), 3);
    let first = renewed[0].clone().expect("the held lease is renewed");
    assert_eq!((first.fencing, first.node.as_str()), (held.fencing, "node-a"));
    assert_expiry(&first, before, LONG);
    assert_eq!((&renewed[1], &renewed[2]), (&None, &None));
    assert_kind(l.acquire(&t, &x, "node-b", LONG).await, PortErrorKind::Conflict);
    let mut listed = l.list(&t).await.unwrap();
    listed.sort_by(|p, q| p.account_id.cmp(&q.account_id));
    let mut expected = vec![first, taker];
    expected.sort_by(|p, q| p.account_id.cmp(&q.account_id));
    assert_eq!(listed, expected);
    assert_eq!(l.renew_many(&[], LONG).await.unwrap(), vec![]);
}

/// An expired lease nobody took can still be renewed by its holder.
pub async fn renew_after_expiry_succeeds_when_nobody_took_it(l: &dyn Leases) {
    let (t, a) = ids();
    let lease = l.acquire(&t, &a, "node-a", SHORT).await.unwrap();
    wait_out(SHORT).await;

    let renewed = l.renew(&lease, LONG).await.unwrap();

    assert_eq!(renewed.fencing, lease.fencing);
    assert_kind(l.acquire(&t, &a, "node-b", LONG).await, PortErrorKind::Conflict);
}

/// `release` frees the lease at once; renewing or releasing it again then
/// fails or changes nothing, and the next holder gets a larger fencing.
pub async fn release_frees_the_lease_for_another_node_at_once(l: &dyn Leases) {
    let (t, a) = ids();
    let lease = l.acquire(&t, &a, "node-a", LONG).await.unwrap();

    l.release(&lease).await.unwrap();

    assert!(l.list(&t).await.unwrap().is_empty(), "a released lease is listed");
    assert_kind(l.renew(&lease, LONG).await, PortErrorKind::Conflict);
    l.release(&lease).await.unwrap();
    let next = l.acquire(&t, &a, "node-b", LONG).await.unwrap();
    assert!(next.fencing > lease.fencing);
    l.release(&lease).await.unwrap();
    assert_eq!(l.list(&t).await.unwrap(), vec![next]);
}

/// `list` returns the tenant's leases, expired included, released not, and
/// nothing of other tenants.
pub async fn list_returns_current_leases_including_expired_ones(l: &dyn Leases) {
    let t = tenant();
    let (x, y, z) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
    let live = l.acquire(&t, &x, "node-a", LONG).await.unwrap();
    let lapsing = l.acquire(&t, &y, "node-b", SHORT).await.unwrap();
    let released = l.acquire(&t, &z, "node-a", LONG).await.unwrap();
    l.release(&released).await.unwrap();
    let other = tenant();
    l.acquire(&other, &x, "node-c", LONG).await.unwrap();
    wait_out(SHORT).await;

    let mut listed = l.list(&t).await.unwrap();

    listed.sort_by(|p, q| p.account_id.cmp(&q.account_id));
    let mut expected = vec![live, lapsing.clone()];
    expected.sort_by(|p, q| p.account_id.cmp(&q.account_id));
    assert_eq!(listed, expected);
    assert!(lapsing.expires_at < Utc::now());
    assert!(l.list(&tenant()).await.unwrap().is_empty());
}

/// `holder` names the node holding an account now: none before the first
/// lease, after a release or once it lapsed; the taker after a take-over.
pub async fn holder_names_the_live_lease_only(l: &dyn Leases) {
    let (t, a) = ids();
    assert_eq!(l.holder(&t, &a).await.unwrap(), None);
    let lease = l.acquire(&t, &a, "node-a", LONG).await.unwrap();
    assert_eq!(l.holder(&t, &a).await.unwrap(), Some(lease.clone()));
    assert_eq!(l.holder(&tenant(), &a).await.unwrap(), None, "another tenant's account of the same id");
    l.release(&lease).await.unwrap();
    assert_eq!(l.holder(&t, &a).await.unwrap(), None, "released");
    let lapsing = l.acquire(&t, &a, "node-b", SHORT).await.unwrap();
    assert_eq!(l.holder(&t, &a).await.unwrap().map(|h| h.node), Some("node-b".to_owned()));
    wait_out(SHORT).await;
    assert_eq!(l.holder(&t, &a).await.unwrap(), None, "lapsed");
    let taker = l.acquire(&t, &a, "node-c", LONG).await.unwrap();
    assert!(taker.fencing > lapsing.fencing);
    assert_eq!(l.holder(&t, &a).await.unwrap(), Some(taker));
}

/// Leases of different accounts and tenants do not interfere.
pub async fn leases_of_other_accounts_and_tenants_are_independent(l: &dyn Leases) {
    let (t, a) = ids();
    let (u, b) = (tenant(), AccountId::generate());
    l.acquire(&t, &a, "node-a", LONG).await.unwrap();

    l.acquire(&t, &b, "node-b", LONG).await.unwrap();
    l.acquire(&u, &a, "node-b", LONG).await.unwrap();

    assert_kind(l.acquire(&u, &a, "node-a", LONG).await, PortErrorKind::Conflict);
}

/// Of concurrent acquisitions of one account, exactly one node wins.
pub async fn concurrent_acquires_grant_the_lease_to_one_node(l: &dyn Leases) {
    for _ in 0..5 {
        let (t, a) = ids();

        let results = tokio::join!(
            l.acquire(&t, &a, "node-a", LONG),
            l.acquire(&t, &a, "node-b", LONG),
            l.acquire(&t, &a, "node-c", LONG),
            l.acquire(&t, &a, "node-d", LONG),
        );

        let all = [results.0, results.1, results.2, results.3];
        let won: Vec<_> = all.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "{all:?}");
        assert!(all.iter().filter_map(|r| r.as_ref().err()).all(|e| e.kind == PortErrorKind::Conflict));
        assert_eq!(l.list(&t).await.unwrap(), vec![won[0].clone()]);
    }
}

/// Expands to one `#[tokio::test]` per leases contract case. `$make` is a
/// function or closure returning a future of
/// [`LeasesHandle`](crate::testkit::LeasesHandle); it runs once per case.
#[macro_export]
macro_rules! lease_contract_suite {
    ($make:expr) => {
        $crate::lease_contract_suite!($make, without_concurrent_races);
        $crate::lease_contract_suite!(@cases $make; concurrent_acquires_grant_the_lease_to_one_node);
    };
    // Every case but the race of concurrent acquisitions, for a server that is not atomic under concurrency (moto).
    ($make:expr, without_concurrent_races) => {
        $crate::lease_contract_suite!(@cases $make;
            acquire_takes_a_free_lease_for_its_ttl,
            acquire_conflicts_while_another_node_holds_it,
            acquire_by_the_holder_again_gets_a_larger_fencing,
            an_expired_lease_is_taken_over_and_the_old_holder_is_fenced,
            renew_extends_the_expiry_keeping_the_fencing,
            renew_after_expiry_succeeds_when_nobody_took_it,
            renew_many_renews_the_held_and_names_the_lost,
            release_frees_the_lease_for_another_node_at_once,
            list_returns_current_leases_including_expired_ones,
            holder_names_the_live_lease_only,
            leases_of_other_accounts_and_tenants_are_independent,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::LeasesHandle = ($make)().await;
                $crate::testkit::lease_suite::$case(&*handle.port).await;
            }
        )+
    };
}
