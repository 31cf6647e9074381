//! Measures `SqliteQueue` throughput: bodies through send → receive → ack.
//! A measurement, not an assertion (speed is judged in `bench/`), so it is
//! ignored by default. Run it with
//! `cargo test --release -p tgdesk-local --test queue_throughput -- --ignored --nocapture`.

use std::time::{Duration, Instant};
use tgdesk_core::ports::Queue;
use tgdesk_core::testkit::queue_suite;
use tgdesk_local::SqliteQueue;

/// Bodies per run.
const TOTAL: usize = 200_000;
/// Size of each body, about a compressed envelope of a few updates.
const BODY_BYTES: usize = 512;

async fn run(batch: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let queue = SqliteQueue::open(dir.path().join("queue.db")).unwrap();
    let name = queue_suite::queue_name();
    let body = vec![b'e'; BODY_BYTES];

    let start = Instant::now();
    let consumer = {
        let (queue, name) = (queue.clone(), name.clone());
        tokio::spawn(async move {
            let mut done = 0;
            while done < TOTAL {
                let got = queue.receive(&name, batch, Duration::from_secs(5), Duration::from_secs(30)).await.unwrap();
                assert!(!got.is_empty(), "stalled at {done}");
                done += got.len();
                let receipts: Vec<_> = got.into_iter().map(|d| d.receipt).collect();
                queue.ack(&name, &receipts).await.unwrap();
            }
        })
    };
    for _ in 0..TOTAL / batch {
        queue.send_batch(&name, vec![body.clone(); batch]).await.unwrap();
    }
    let sent = start.elapsed();
    consumer.await.unwrap();
    let total = start.elapsed();
    (TOTAL as f64 / sent.as_secs_f64(), TOTAL as f64 / total.as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn queue_throughput_in_batches() {
    for batch in [100, 250, 500] {
        let (send_rate, end_to_end) = run(batch).await;
        println!(
            "batch {batch}: {TOTAL} bodies of {BODY_BYTES} B, sent at {send_rate:.0}/s, \
             sent+received+acked at {end_to_end:.0}/s"
        );
    }
}
