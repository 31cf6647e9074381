//! The throttle contract: one case per promise of [`Throttle`]. Each case
//! counts under keys of its own, so cases share one backend.

use crate::ports::{Admission, PortErrorKind, Throttle, ThrottleLimit, MAX_THROTTLE_KEY};
use crate::testkit::fixtures::assert_kind;
use std::time::{Duration, Instant};

/// Returns a fresh key nobody else counts under.
fn key(what: &str) -> String {
    format!("{what}:{}", ulid::Ulid::new().to_string().to_lowercase())
}

fn limit(key: &str, max: u32) -> ThrottleLimit {
    ThrottleLimit { key: key.to_owned(), max, window: Duration::from_secs(60) }
}

/// A key at its limit refuses, says how long to wait, and nothing of the
/// refused attempt is counted under the other keys.
pub async fn a_key_at_its_limit_refuses_and_counts_nothing_under_the_others(t: &dyn Throttle) {
    let (user, address) = (key("u"), key("a"));
    for _ in 0..3 {
        assert_eq!(t.admit(&[limit(&user, 3), limit(&address, 5)]).await.unwrap(), Admission::Admitted);
    }

    let refused = t.admit(&[limit(&user, 3), limit(&address, 5)]).await.unwrap();

    assert!(
        matches!(refused, Admission::Refused { retry_after } if retry_after > Duration::from_secs(50)),
        "{refused:?}"
    );
    for _ in 0..2 {
        assert_eq!(t.admit(&[limit(&address, 5)]).await.unwrap(), Admission::Admitted, "the address counted 3, not 4");
    }
    assert!(matches!(t.admit(&[limit(&address, 5)]).await.unwrap(), Admission::Refused { .. }));
}

/// Concurrent attempts together never pass more than the limit.
pub async fn a_concurrent_burst_never_admits_more_than_the_limit(t: &dyn Throttle) {
    let k = key("burst");
    let limits = [limit(&k, 5)];

    let outcomes = futures::future::join_all((0..20).map(|_| t.admit(&limits))).await;

    let admitted = outcomes.into_iter().filter(|o| o.as_ref().unwrap() == &Admission::Admitted).count();
    assert_eq!(admitted, 5);
}

/// `release` takes back one attempt, `forget` all of them; both succeed on
/// a key with nothing counted.
pub async fn released_and_forgotten_attempts_no_longer_count(t: &dyn Throttle) {
    let k = key("r");
    t.admit(&[limit(&k, 2)]).await.unwrap();
    t.admit(&[limit(&k, 2)]).await.unwrap();

    t.release(&k).await.unwrap();
    assert_eq!(t.admit(&[limit(&k, 2)]).await.unwrap(), Admission::Admitted);
    t.forget(&k).await.unwrap();

    assert_eq!(t.admit(&[limit(&k, 2)]).await.unwrap(), Admission::Admitted);
    assert_eq!(t.admit(&[limit(&k, 2)]).await.unwrap(), Admission::Admitted);
    t.release(&key("never")).await.unwrap();
    t.forget(&key("never")).await.unwrap();
}

/// An attempt stops counting once its window has passed.
pub async fn attempts_stop_counting_after_their_window(t: &dyn Throttle) {
    let short = ThrottleLimit { key: key("w"), max: 1, window: Duration::from_millis(400) };
    let start = Instant::now();
    assert_eq!(t.admit(std::slice::from_ref(&short)).await.unwrap(), Admission::Admitted);

    let mut admitted = false;
    while !admitted {
        assert!(start.elapsed() < Duration::from_secs(10), "never admitted again");
        admitted = t.admit(std::slice::from_ref(&short)).await.unwrap() == Admission::Admitted;
        if !admitted {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    assert!(start.elapsed() >= Duration::from_millis(400), "admitted within the window");
}

/// A key longer than [`MAX_THROTTLE_KEY`] is `Invalid`.
pub async fn keys_longer_than_the_port_allows_are_invalid(t: &dyn Throttle) {
    assert_kind(t.admit(&[limit(&"x".repeat(MAX_THROTTLE_KEY + 1), 1)]).await, PortErrorKind::Invalid);
    assert_eq!(t.admit(&[limit(&"y".repeat(MAX_THROTTLE_KEY), 1)]).await.unwrap(), Admission::Admitted);
}

/// Expands to one `#[tokio::test]` per throttle contract case. `$make`
/// returns a future of [`ThrottleHandle`](crate::testkit::ThrottleHandle).
#[macro_export]
macro_rules! throttle_contract_suite {
    ($make:expr) => {
        $crate::throttle_contract_suite!(@cases $make;
            a_key_at_its_limit_refuses_and_counts_nothing_under_the_others,
            a_concurrent_burst_never_admits_more_than_the_limit,
            released_and_forgotten_attempts_no_longer_count,
            attempts_stop_counting_after_their_window,
            keys_longer_than_the_port_allows_are_invalid,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::ThrottleHandle = ($make)().await;
                $crate::testkit::throttle_suite::$case(&*handle.port).await;
            }
        )+
    };
}
