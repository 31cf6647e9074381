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
