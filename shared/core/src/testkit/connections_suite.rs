//! The connections contract: one case per promise of [`Connections`]. Each
//! case uses a tenant and users of its own, so cases share one backend.

use crate::domain::{TenantId, UserId};
use crate::ports::{Advance, Connection, Connections, PortErrorKind, MAX_CONNECTION_ID};
use crate::testkit::fixtures::{assert_kind, tenant};
use chrono::{DateTime, Duration, Utc};

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn connection(tenant: &TenantId, user: &UserId) -> Connection {
    Connection {
        id: format!("c{}=", ulid::Ulid::new().to_string().to_lowercase()),
        tenant: tenant.clone(),
        user: user.clone(),
        token_version: 1,
        expires_at: now() + Duration::hours(1),
        resumed_after: None,
    }
}

fn ids(mut list: Vec<Connection>) -> Vec<String> {
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list.into_iter().map(|c| c.id).collect()
}

/// A user's connections are listed whole, and no one else's; registering
/// an id again keeps one.
pub async fn a_users_connections_are_listed_and_no_one_elses(c: &dyn Connections) {
    let (t, other_tenant) = (tenant(), tenant());
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let (a1, a2, b1) = (connection(&t, &alice), connection(&t, &alice), connection(&t, &bob));
    let elsewhere = Connection { tenant: other_tenant.clone(), ..connection(&other_tenant, &alice) };
    for conn in [&a1, &a2, &b1, &elsewhere, &a1] {
        c.register(conn).await.unwrap();
    }

    let alices = c.of_user(&t, &alice, now()).await.unwrap();

    let mut expected = vec![a1.id.clone(), a2.id.clone()];
    expected.sort();
    assert_eq!(ids(alices.clone()), expected);
    assert!(alices.contains(&a1), "stored as given: {alices:?}");
    assert_eq!(ids(c.of_user(&t, &bob, now()).await.unwrap()), vec![b1.id]);
    assert_eq!(ids(c.of_user(&other_tenant, &alice, now()).await.unwrap()), vec![elsewhere.id]);
}

/// A forgotten connection is no longer listed; forgetting a missing one succeeds.
pub async fn unregistered_connections_are_gone_and_missing_ones_are_no_error(c: &dyn Connections) {
    let (t, user) = (tenant(), UserId::generate());
    let (kept, gone) = (connection(&t, &user), connection(&t, &user));
    c.register(&kept).await.unwrap();
    c.register(&gone).await.unwrap();

    c.unregister(&gone.id).await.unwrap();
    c.unregister(&gone.id).await.unwrap();
    c.unregister("never-registered").await.unwrap();

    assert_eq!(ids(c.of_user(&t, &user, now()).await.unwrap()), vec![kept.id.clone()]);
    assert_eq!(c.advance(&gone, 1).await.unwrap(), None, "a gone connection takes no numbers");
}

/// A connection whose token expired is not listed.
pub async fn connections_past_their_token_are_not_listed(c: &dyn Connections) {
    let (t, user) = (tenant(), UserId::generate());
    let live = connection(&t, &user);
    let expired = Connection { expires_at: now() - Duration::seconds(5), ..connection(&t, &user) };
    c.register(&live).await.unwrap();
    c.register(&expired).await.unwrap();

    assert_eq!(ids(c.of_user(&t, &user, now()).await.unwrap()), vec![live.id.clone()]);
    assert!(c.of_user(&t, &user, now() + Duration::hours(2)).await.unwrap().is_empty());
}

/// Frame numbers start at 1, follow on, and never repeat across callers
/// taking at once; registering again starts them over.
pub async fn frame_numbers_follow_on_and_never_repeat(c: &dyn Connections) {
    let (t, user) = (tenant(), UserId::generate());
    let conn = connection(&t, &user);
    c.register(&conn).await.unwrap();

    let plain = |last| Some(Advance { last, resync_first: false });
    assert_eq!(c.advance(&conn, 1).await.unwrap(), plain(1));
    assert_eq!(c.advance(&conn, 3).await.unwrap(), plain(4), "took 2, 3 and 4");
    let taken = futures::future::join_all((0..8).map(|_| c.advance(&conn, 2))).await;
    let mut lasts: Vec<u64> = taken.into_iter().map(|r| r.unwrap().unwrap().last).collect();
    lasts.sort_unstable();
    assert_eq!(lasts, (1..=8).map(|n| 4 + 2 * n).collect::<Vec<u64>>(), "eight disjoint pairs");

    c.register(&conn).await.unwrap();
    assert_eq!(c.advance(&conn, 1).await.unwrap(), plain(1), "a new registration starts over");
}

/// A connection resumed after frame N numbers on from N, and the first
/// taker alone learns it owes a resync.
pub async fn a_resumed_connection_numbers_on_and_owes_one_resync(c: &dyn Connections) {
    let (t, user) = (tenant(), UserId::generate());
    let resumed = Connection { resumed_after: Some(41), ..connection(&t, &user) };
    c.register(&resumed).await.unwrap();
    assert_eq!(c.of_user(&t, &user, now()).await.unwrap(), vec![resumed.clone()]);

    assert_eq!(c.advance(&resumed, 2).await.unwrap(), Some(Advance { last: 43, resync_first: true }));
    assert_eq!(c.advance(&resumed, 1).await.unwrap(), Some(Advance { last: 44, resync_first: false }));
}

/// Ids no gateway gives are refused.
pub async fn ids_no_gateway_gives_are_invalid(c: &dyn Connections) {
    let (t, user) = (tenant(), UserId::generate());
    for id in [String::new(), "x".repeat(MAX_CONNECTION_ID + 1), "has space".to_owned()] {
        let bad = Connection { id, ..connection(&t, &user) };
        assert_kind(c.register(&bad).await, PortErrorKind::Invalid);
    }
    assert!(c.of_user(&t, &user, now()).await.unwrap().is_empty());
}

/// Expands to one `#[tokio::test]` per connections contract case. `$make`
/// returns a future of [`ConnectionsHandle`](crate::testkit::ConnectionsHandle).
#[macro_export]
macro_rules! connections_contract_suite {
    ($make:expr) => {
        $crate::connections_contract_suite!(@cases $make;
            a_users_connections_are_listed_and_no_one_elses,
            unregistered_connections_are_gone_and_missing_ones_are_no_error,
            connections_past_their_token_are_not_listed,
            frame_numbers_follow_on_and_never_repeat,
            a_resumed_connection_numbers_on_and_owes_one_resync,
            ids_no_gateway_gives_are_invalid,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::ConnectionsHandle = ($make)().await;
                $crate::testkit::connections_suite::$case(&*handle.port).await;
            }
        )+
    };
}
