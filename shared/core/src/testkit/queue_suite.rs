//! The queue contract: one case per promise of [`Queue`]. Each case uses its
//! own random queue names, so cases share one backend and run in parallel.
//! Timeouts are short (visibility 200 ms) so the suite stays fast; a case
//! waits only through `receive`'s own `wait`, never a sleep for consistency.

use crate::ports::{
    dead_letter_queue, Delivery, PortErrorKind, Queue, QueueDepth, MAX_BODY_BYTES, MAX_QUEUE_NAME, MAX_REASON_BYTES,
};
use crate::testkit::fixtures::assert_kind;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A visibility the case waits out.
const SHORT: Duration = Duration::from_millis(200);
/// A visibility no case waits out.
const LONG: Duration = Duration::from_secs(60);
/// Long enough for a delivery expected now (or after `SHORT`) to arrive.
const ARRIVAL: Duration = Duration::from_secs(5);
/// How long a case watches for a delivery that must not come.
const QUIET: Duration = Duration::from_millis(400);

/// Returns a fresh queue name nobody else uses.
pub fn queue_name() -> String {
    format!("q-{}", ulid::Ulid::new().to_string().to_lowercase())
}

fn bodies(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("body {i}").into_bytes()).collect()
}

/// Receives until `n` deliveries arrived or a receive came back empty.
async fn collect(q: &dyn Queue, name: &str, n: usize, visibility: Duration) -> Vec<Delivery> {
    collect_within(q, name, n, visibility, ARRIVAL).await
}

/// Receives until `n` deliveries arrived or a receive waiting `wait` came back empty.
async fn collect_within(q: &dyn Queue, name: &str, n: usize, visibility: Duration, wait: Duration) -> Vec<Delivery> {
    let mut got = Vec::new();
    while got.len() < n {
        let batch = q.receive(name, 10, wait, visibility).await.expect("receive");
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
    }
    got
}

/// How long an estimating queue ([`Queue::exact_depth`] false) may take to settle.
const SETTLE: Duration = Duration::from_secs(60);

/// Asserts that `depth` is `expected`: at once for an exact queue, within
/// [`SETTLE`] for one that estimates.
async fn assert_depth(q: &dyn Queue, name: &str, expected: QueueDepth) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let depth = q.depth(name).await.expect("depth");
        if depth == expected {
            return;
        }
        assert!(!q.exact_depth() && Instant::now() < deadline, "depth of {name}: {depth:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn body_set(deliveries: &[Delivery]) -> BTreeSet<Vec<u8>> {
    deliveries.iter().map(|d| d.body.clone()).collect()
}

fn receipts(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(|d| d.receipt.clone()).collect()
}

/// Every body sent is delivered once, unchanged (binary too), with attempts 1
/// and no reason; after the ack nothing remains.
pub async fn sent_bodies_are_delivered_once_each_and_gone_after_ack(q: &dyn Queue) {
    let name = queue_name();
    let mut sent = bodies(24);
    sent.push(vec![0, 255, 10, 0, 13]);
    sent.push(vec![b'x'; MAX_BODY_BYTES]);

    q.send_batch(&name, sent.clone()).await.unwrap();
    let got = collect(q, &name, sent.len(), LONG).await;
    let extra = q.receive(&name, 10, QUIET, LONG).await.unwrap();

    assert_eq!((got.len(), extra.len()), (sent.len(), 0), "each body exactly once");
    assert_eq!(body_set(&got), sent.into_iter().collect());
    assert!(got.iter().all(|d| d.attempts == 1 && d.reason.is_none()));
    q.ack(&name, &receipts(&got)).await.unwrap();
    assert_depth(q, &name, QueueDepth::default()).await;
}

/// `receive` returns at most `max`, and `max` 0 is `Invalid`.
pub async fn receive_returns_at_most_max(q: &dyn Queue) {
    let name = queue_name();
    q.send_batch(&name, bodies(7)).await.unwrap();

    let first = q.receive(&name, 3, ARRIVAL, LONG).await.unwrap();

    assert!((1..=3).contains(&first.len()), "got {}", first.len());
    let rest = collect(q, &name, 7 - first.len(), LONG).await;
    assert_eq!(first.len() + rest.len(), 7);
    assert_kind(q.receive(&name, 0, SHORT, LONG).await, PortErrorKind::Invalid);
}

/// An empty queue returns nothing once `wait` passed.
pub async fn receive_on_an_empty_queue_returns_nothing_after_wait(q: &dyn Queue) {
    let name = queue_name();
    let start = Instant::now();

    let got = q.receive(&name, 10, SHORT, LONG).await.unwrap();

    assert!(got.is_empty());
    assert!(start.elapsed() >= SHORT, "returned after {:?}, before its wait", start.elapsed());
}

/// A waiting `receive` returns as soon as a body arrives, long before `wait`.
pub async fn receive_returns_as_soon_as_a_body_arrives(q: &dyn Queue) {
    let name = queue_name();
    let wait = Duration::from_secs(20);
    let start = Instant::now();

    let (got, sent) = tokio::join!(q.receive(&name, 10, wait, LONG), async {
        // Sends while the receive waits (the delay is this case's own).
        tokio::time::sleep(SHORT).await;
        q.send_batch(&name, bodies(1)).await
    });

    sent.unwrap();
    assert_eq!(got.unwrap().len(), 1);
    assert!(start.elapsed() < wait / 2, "took {:?}", start.elapsed());
}

/// A delivery stays invisible to other receives for its visibility timeout.
pub async fn a_received_body_is_invisible_during_its_visibility(q: &dyn Queue) {
    let name = queue_name();
    q.send_batch(&name, bodies(1)).await.unwrap();
    let first = collect(q, &name, 1, LONG).await;

    let second = q.receive(&name, 10, QUIET, LONG).await.unwrap();

    assert_eq!(first.len(), 1);
    assert!(second.is_empty(), "delivered twice within its visibility");
    assert_depth(q, &name, QueueDepth { visible: 0, in_flight: 1 }).await;
}

/// An unacked delivery comes back after its visibility with attempts + 1 and
/// a new receipt.
pub async fn an_unacked_body_comes_back_with_attempts_plus_one(q: &dyn Queue) {
    let name = queue_name();
    q.send_batch(&name, vec![b"again".to_vec()]).await.unwrap();
    let first = collect(q, &name, 1, SHORT).await;

    let second = collect(q, &name, 1, SHORT).await;
    let third = collect(q, &name, 1, LONG).await;

    assert_eq!((first.len(), second.len(), third.len()), (1, 1, 1));
    assert_eq!(second[0].body, b"again");
    assert_eq!((first[0].attempts, second[0].attempts, third[0].attempts), (1, 2, 3));
    assert_ne!(first[0].receipt, second[0].receipt);
    q.ack(&name, &receipts(&third)).await.unwrap();
    assert!(q.receive(&name, 10, QUIET, LONG).await.unwrap().is_empty());
}

/// An acked delivery never comes back, even after its visibility would end;
/// acking again succeeds; a malformed receipt is `Invalid`.
pub async fn an_acked_body_never_comes_back_and_ack_is_idempotent(q: &dyn Queue) {
    let name = queue_name();
    q.send_batch(&name, bodies(3)).await.unwrap();
    let got = collect(q, &name, 3, SHORT).await;

    q.ack(&name, &receipts(&got)).await.unwrap();

    assert!(q.receive(&name, 10, SHORT * 3, SHORT).await.unwrap().is_empty());
    q.ack(&name, &receipts(&got)).await.unwrap();
    q.ack(&name, &[]).await.unwrap();
    assert_kind(q.ack(&name, &["not-a-receipt".to_string()]).await, PortErrorKind::Invalid);
}

/// `nack` with no delay makes a delivery visible at once; with a delay it
/// stays invisible meanwhile; a malformed receipt is `Invalid`.
pub async fn nack_makes_a_body_visible_again_after_its_delay(q: &dyn Queue) {
    let name = queue_name();
    q.send_batch(&name, bodies(1)).await.unwrap();
    let first = collect(q, &name, 1, LONG).await;

    q.nack(&name, &first[0].receipt, Duration::ZERO).await.unwrap();
    let again = q.receive(&name, 10, ARRIVAL, LONG).await.unwrap();
    assert_eq!(again.len(), 1, "not visible again after a zero-delay nack");
    q.nack(&name, &again[0].receipt, LONG).await.unwrap();
    let hidden = q.receive(&name, 10, QUIET, LONG).await.unwrap();

    assert_eq!(again.iter().map(|d| d.attempts).collect::<Vec<_>>(), [2]);
    assert!(hidden.is_empty(), "visible before its nack delay");
    assert_depth(q, &name, QueueDepth { visible: 0, in_flight: 1 }).await;
    assert_kind(q.nack(&name, "not-a-receipt", Duration::ZERO).await, PortErrorKind::Invalid);
}

/// `dead_letter` removes the body from its queue and delivers it from the
/// dead-letter queue with its reason and attempts from 1.
pub async fn dead_letter_moves_a_body_with_its_reason(q: &dyn Queue) {
    let name = queue_name();
    let dlq = dead_letter_queue(&name);
    q.send_batch(&name, vec![b"poison".to_vec(), b"fine".to_vec()]).await.unwrap();
    let got = collect(q, &name, 2, SHORT).await;
    let poison = got.iter().find(|d| d.body == b"poison").expect("poison delivered");
    let fine: Vec<_> = got.iter().filter(|d| d.body != b"poison").cloned().collect();

    q.dead_letter(&name, poison, "bad json at line 1").await.unwrap();
    q.ack(&name, &receipts(&fine)).await.unwrap();

    assert!(q.receive(&name, 10, SHORT * 3, LONG).await.unwrap().is_empty(), "poison came back");
    let dead = collect(q, &dlq, 1, LONG).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, b"poison");
    assert_eq!(dead[0].attempts, 1);
    assert_eq!(dead[0].reason.as_deref(), Some("bad json at line 1"));
    q.ack(&dlq, &receipts(&dead)).await.unwrap();
    let bad = Delivery { receipt: "not-a-receipt".into(), ..dead[0].clone() };
    assert_kind(q.dead_letter(&dlq, &bad, "x").await, PortErrorKind::Invalid);
}

/// A reason longer than [`MAX_REASON_BYTES`] is cut at a character boundary,
/// and the body, of the largest size, reaches the dead-letter queue whole.
pub async fn a_long_reason_is_cut_and_the_body_kept_whole(q: &dyn Queue) {
    let name = queue_name();
    let body = vec![0xAB; MAX_BODY_BYTES];
    q.send_batch(&name, vec![body.clone()]).await.unwrap();
    let got = collect(q, &name, 1, LONG).await;
    let reason = "ошибка ".repeat(MAX_REASON_BYTES);

    q.dead_letter(&name, &got[0], &reason).await.unwrap();

    let dead = collect(q, &dead_letter_queue(&name), 1, LONG).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, body);
    let kept = dead[0].reason.as_deref().unwrap_or_default();
    assert!(kept.len() <= MAX_REASON_BYTES && kept.len() > MAX_REASON_BYTES - 4, "kept {} bytes", kept.len());
    assert!(reason.starts_with(kept));
}

/// Queues are independent: a body sent to one is never delivered from another.
pub async fn queues_are_independent(q: &dyn Queue) {
    let (a, b) = (queue_name(), queue_name());
    q.send_batch(&a, bodies(2)).await.unwrap();

    let from_b = q.receive(&b, 10, SHORT, LONG).await.unwrap();

    assert!(from_b.is_empty());
    assert_depth(q, &b, QueueDepth::default()).await;
    assert_eq!(collect(q, &a, 2, LONG).await.len(), 2);
}

/// Bad names, empty or oversized bodies are `Invalid` and enqueue nothing; an
/// empty batch does nothing.
pub async fn invalid_names_and_bodies_are_refused_whole(q: &dyn Queue) {
    let name = queue_name();
    for bad in ["", "has.dot", "has space", "ü", &"q".repeat(MAX_QUEUE_NAME + 1)] {
        assert_kind(q.send_batch(bad, bodies(1)).await, PortErrorKind::Invalid);
        assert_kind(q.receive(bad, 1, SHORT, LONG).await, PortErrorKind::Invalid);
        assert_kind(q.depth(bad).await, PortErrorKind::Invalid);
    }

    let too_big = vec![vec![b'a'; 10], vec![b'x'; MAX_BODY_BYTES + 1]];
    assert_kind(q.send_batch(&name, too_big).await, PortErrorKind::Invalid);
    assert_kind(q.send_batch(&name, vec![b"ok".to_vec(), vec![]]).await, PortErrorKind::Invalid);
    q.send_batch(&name, vec![]).await.unwrap();

    assert_depth(q, &name, QueueDepth::default()).await;
    assert!(q.receive(&name, 10, SHORT, LONG).await.unwrap().is_empty());
    q.send_batch(&"q".repeat(MAX_QUEUE_NAME), bodies(1)).await.unwrap();
}

/// `depth` counts visible and in-flight bodies, zeros for an unused queue.
pub async fn depth_counts_visible_and_in_flight_bodies(q: &dyn Queue) {
    let name = queue_name();
    assert_depth(q, &name, QueueDepth::default()).await;
    q.send_batch(&name, bodies(5)).await.unwrap();
    assert_depth(q, &name, QueueDepth { visible: 5, in_flight: 0 }).await;

    let got = q.receive(&name, 2, ARRIVAL, LONG).await.unwrap();
    let taken = got.len() as u64;
    assert_depth(q, &name, QueueDepth { visible: 5 - taken, in_flight: taken }).await;

    q.ack(&name, &receipts(&got)).await.unwrap();
    assert_depth(q, &name, QueueDepth { visible: 5 - taken, in_flight: 0 }).await;
}

/// Concurrent receivers never get the same body while it is invisible.
pub async fn concurrent_receivers_split_the_bodies(q: &dyn Queue) {
    let name = queue_name();
    q.send_batch(&name, bodies(60)).await.unwrap();

    let (a, b, c) = tokio::join!(
        collect_within(q, &name, 60, LONG, QUIET),
        collect_within(q, &name, 60, LONG, QUIET),
        collect_within(q, &name, 60, LONG, QUIET)
    );

    let all: Vec<_> = a.into_iter().chain(b).chain(c).collect();
    assert_eq!(all.len(), 60, "a body was delivered twice or lost");
    assert_eq!(body_set(&all).len(), 60);
}

/// Expands to one `#[tokio::test]` per queue contract case. `$make` is a
/// function or closure returning a future of
/// [`QueueHandle`](crate::testkit::QueueHandle); it runs once per case.
#[macro_export]
macro_rules! queue_contract_suite {
    ($make:expr) => {
        $crate::queue_contract_suite!($make, without_concurrent_races);
        $crate::queue_contract_suite!(@cases $make; concurrent_receivers_split_the_bodies);
    };
    // Every case but the race of concurrent receivers, for a server that is not atomic under concurrency (moto).
    ($make:expr, without_concurrent_races) => {
        $crate::queue_contract_suite!(@cases $make;
            sent_bodies_are_delivered_once_each_and_gone_after_ack,
            receive_returns_at_most_max,
            receive_on_an_empty_queue_returns_nothing_after_wait,
            receive_returns_as_soon_as_a_body_arrives,
            a_received_body_is_invisible_during_its_visibility,
            an_unacked_body_comes_back_with_attempts_plus_one,
            an_acked_body_never_comes_back_and_ack_is_idempotent,
            nack_makes_a_body_visible_again_after_its_delay,
            dead_letter_moves_a_body_with_its_reason,
            a_long_reason_is_cut_and_the_body_kept_whole,
            queues_are_independent,
            invalid_names_and_bodies_are_refused_whole,
            depth_counts_visible_and_in_flight_bodies,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::QueueHandle = ($make)().await;
                $crate::testkit::queue_suite::$case(&*handle.port).await;
            }
        )+
    };
}
