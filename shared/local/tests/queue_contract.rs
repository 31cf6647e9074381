//! Runs the queue contract suite against `SqliteQueue` on a real file, plus
//! what only a file-backed queue promises: bodies survive reopening.

use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{Queue, QueueDepth};
use tgdesk_core::testkit::{queue_suite, QueueHandle};
use tgdesk_local::SqliteQueue;

/// Opens a fresh queue in its own temp dir, kept alive with the handle.
async fn fresh_queue() -> QueueHandle {
    let dir = tempfile::tempdir().expect("temp dir");
    let queue = SqliteQueue::open(dir.path().join("queue.db")).expect("open queue");
    QueueHandle::new(Arc::new(queue)).keep_alive(dir)
}

tgdesk_core::queue_contract_suite!(fresh_queue);

#[tokio::test]
async fn unacked_bodies_survive_reopening_the_file() {
    // Arrange: three bodies, one received (in flight) and none acked.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let name = queue_suite::queue_name();
    let queue = SqliteQueue::open(&path).unwrap();
    queue.send_batch(&name, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]).await.unwrap();
    let in_flight = queue.receive(&name, 1, Duration::from_secs(1), Duration::from_millis(200)).await.unwrap();
    assert_eq!(in_flight.len(), 1);
    drop(queue);

    // Act
    let reopened = SqliteQueue::open(&path).unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        let batch = reopened.receive(&name, 10, Duration::from_secs(5), Duration::from_secs(60)).await.unwrap();
        assert!(!batch.is_empty(), "a body was lost: got {got:?}");
        got.extend(batch);
    }

    // Assert: all three, the one in flight on its second attempt.
    let mut bodies: Vec<_> = got.iter().map(|d| d.body.clone()).collect();
    bodies.sort();
    assert_eq!(bodies, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    let again = got.iter().find(|d| d.body == in_flight[0].body).unwrap();
    assert_eq!(again.attempts, 2);
    assert_eq!(reopened.depth(&name).await.unwrap(), QueueDepth { visible: 0, in_flight: 3 });
}

#[tokio::test]
async fn two_queues_on_one_file_share_the_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let (first, second) = (SqliteQueue::open(&path).unwrap(), SqliteQueue::open(&path).unwrap());
    let name = queue_suite::queue_name();

    first.send_batch(&name, vec![b"shared".to_vec()]).await.unwrap();

    let got = second.receive(&name, 10, Duration::from_secs(1), Duration::from_secs(60)).await.unwrap();
    assert_eq!(got.iter().map(|d| d.body.as_slice()).collect::<Vec<_>>(), [b"shared"]);
}

/// What a process killed mid-batch leaves in the file: a consumer whose
/// heartbeat stopped, and a body it claimed for a minute.
fn leave_a_dead_consumers_claim(path: &std::path::Path, queue: &str) {
    // Raw connections, like the queue's, go through the page cache wrapper,
    // which must be installed before the process's first connection.
    tgdesk_local::page_cache::install();
    let conn = rusqlite::Connection::open(path).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    conn.execute("INSERT INTO queue_consumers (id, alive_until) VALUES (4242, ?1)", [now - 1]).unwrap();
    conn.execute(
        "INSERT INTO queue_messages (queue, visible_at, attempts, claim, claimed_by, body)
         VALUES (?1, ?2, 1, 7, 4242, x'6b696c6c6564')",
        rusqlite::params![queue, now + 60_000],
    )
    .unwrap();
}

#[tokio::test]
async fn a_dead_consumers_claims_come_back_within_seconds_not_at_their_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let name = queue_suite::queue_name();
    let queue = SqliteQueue::open_with_liveness(&path, Duration::from_millis(600)).unwrap();
    leave_a_dead_consumers_claim(&path, &name);
    let started = std::time::Instant::now();

    let got = queue.receive(&name, 10, Duration::from_secs(10), Duration::from_secs(60)).await.unwrap();

    assert_eq!(got.len(), 1, "the dead consumer's body came back");
    assert_eq!((got[0].body.as_slice(), got[0].attempts), (&b"killed"[..], 2));
    assert!(started.elapsed() < Duration::from_secs(5), "came back after {:?}", started.elapsed());
    queue.ack(&name, &[got[0].receipt.clone()]).await.unwrap();
    assert_eq!(queue.depth(&name).await.unwrap(), QueueDepth { visible: 0, in_flight: 0 });
}

#[tokio::test]
async fn a_live_consumers_claims_are_never_taken_and_a_closed_ones_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let name = queue_suite::queue_name();
    let liveness = Duration::from_millis(600);
    let (slow, other) = (
        SqliteQueue::open_with_liveness(&path, liveness).unwrap(),
        SqliteQueue::open_with_liveness(&path, liveness).unwrap(),
    );
    slow.send_batch(&name, vec![b"held".to_vec()]).await.unwrap();
    let held = slow.receive(&name, 1, Duration::from_secs(1), Duration::from_secs(60)).await.unwrap();
    assert_eq!(held.len(), 1);

    let taken = other.receive(&name, 1, Duration::from_millis(2000), Duration::from_secs(60)).await.unwrap();
    assert!(taken.is_empty(), "a live consumer's claim was taken: {taken:?}");

    drop(slow);
    let back = other.receive(&name, 1, Duration::from_secs(5), Duration::from_secs(60)).await.unwrap();
    assert_eq!(back.len(), 1, "a closed consumer's claim came back");
    assert_eq!((back[0].body.as_slice(), back[0].attempts), (&b"held"[..], 2));
}

#[tokio::test]
async fn a_queue_file_from_before_consumers_were_tracked_opens_and_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let name = queue_suite::queue_name();
    tgdesk_local::page_cache::install();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE queue_messages (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, visible_at INTEGER NOT NULL,
             attempts INTEGER NOT NULL DEFAULT 0, claim INTEGER, reason TEXT, body BLOB NOT NULL);
         CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at);",
    )
    .unwrap();
    conn.execute("INSERT INTO queue_messages (queue, visible_at, body) VALUES (?1, 0, x'6f6c64')", [&name]).unwrap();
    drop(conn);

    let queue = SqliteQueue::open(&path).unwrap();

    let got = queue.receive(&name, 10, Duration::from_secs(1), Duration::from_secs(60)).await.unwrap();
    assert_eq!(got.iter().map(|d| d.body.clone()).collect::<Vec<_>>(), vec![b"old".to_vec()]);
}
