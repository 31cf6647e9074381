//! [`SqliteQueue`]: the `Queue` port on its own SQLite file, the durable
//! outbox of the local deployment (DESIGN §1). A body is a row from
//! `send_batch` until its ack; a receive claims rows by moving their
//! `visible_at` to the end of the visibility timeout in one
//! `UPDATE … RETURNING`, so a crash mid-processing only delays a body: by
//! seconds, as the claim names its consumer and the consumers watch each
//! other's liveness ([`crate::queue_consumers`]).
//!
//! Its own file, not the store's: the fleet's sends and ingest's claims and
//! acks then never queue behind the store's large ingest transactions, and
//! the queue's table never meets the store's migrations.

use crate::db::{millis, now_ms, Db, PRAGMAS};
use crate::queue_consumers::{self, LIVENESS};
use crate::sqlite::map_err;
use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tgdesk_core::ports::{
    dead_letter_queue, reason_within_limit, validate_queue_name, validate_receive, validate_send, Delivery, PortError,
    PortErrorKind, Queue, QueueDepth,
};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Reader connections: only `depth` reads without writing.
const READERS: u32 = 2;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS queue_messages (
        id INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        -- Milliseconds since the epoch from which a receive may claim the row.
        visible_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        -- Random per claim, part of the receipt: a receipt of an earlier
        -- claim (or of a reused row id) acks nothing.
        claim INTEGER,
        reason TEXT,
        body BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, visible_at);";

/// The SQLite adapter of `Queue`. Cloning is cheap and shares the file and
/// the wake-ups.
///
/// A waiting `receive` sleeps until a `send_batch`, `nack` or `dead_letter`
/// of this instance (or a clone) signals its queue, until the earliest
/// in-flight body of the queue becomes visible again, or until its `wait`
/// ends; it never polls. Another instance on the same file shares the bodies
/// but not the signals: its receivers see new bodies when their wait ends.
///
/// Durability: WAL with `synchronous = NORMAL`, so an acknowledged send
/// survives a crash of the process; a power loss may lose the last commits.
/// `ack`, `nack` and `dead_letter` with a receipt whose claim has ended
/// (its body was redelivered since, or acked already) change nothing.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    /// One signal per queue name, for the receivers waiting on it.
    signals: Arc<Signals>,
    /// This instance's id among the file's consumers, recorded with its claims.
    consumer: i64,
}

type Signals = Mutex<HashMap<String, Arc<Notify>>>;

impl SqliteQueue {
    /// Opens (creating when missing) the queue file at `path`; bodies sent and
    /// not acked before it was closed are delivered again, those a stopped
    /// consumer had claimed within seconds. `Unavailable` when the file
    /// cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PortError> {
        Self::open_with_liveness(path, LIVENESS)
    }

    /// Like [`SqliteQueue::open`], with this consumer counted as stopped
    /// `liveness` after its last heartbeat (tests shorten it).
    pub fn open_with_liveness(path: impl AsRef<Path>, liveness: Duration) -> Result<Self, PortError> {
        let path = path.as_ref();
        let mut consumer = 0;
        let db = Db::open_with(path, READERS, PRAGMAS, PRAGMAS, |c| {
            c.execute_batch(SCHEMA).map_err(map_err)?;
            queue_consumers::migrate(c)?;
            consumer = queue_consumers::register(c, liveness)?;
            Ok(())
        })?;
        let signals: Arc<Signals> = Arc::default();
        let (alive, woken) = (Arc::downgrade(&signals), Arc::downgrade(&signals));
        queue_consumers::spawn_heartbeat(
            path,
            consumer,
            liveness,
            move || alive.strong_count() > 0,
            move || wake_all(&woken),
        )?;
        tracing::debug!(path = %path.display(), consumer, "sqlite queue opened");
        Ok(Self { db, signals, consumer })
    }

    fn signal(&self, queue: &str) -> Arc<Notify> {
        let mut signals = self.signals.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(signals.entry(queue.to_owned()).or_default())
    }

    fn wake(&self, queue: &str) {
        self.signal(queue).notify_waiters();
    }

    /// Claims up to `max` visible rows for `visibility_ms`; when there are
    /// none, returns when the earliest in-flight row becomes visible.
    async fn claim(&self, queue: &str, max: usize, visibility_ms: i64) -> Result<Claimed, PortError> {
        let queue = queue.to_owned();
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let consumer = self.consumer;
        self.db
            .write(move |tx| {
                let now = now_ms();
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE queue_messages
                         SET visible_at = ?1, attempts = attempts + 1, claim = random(), claimed_by = ?5
                         WHERE id IN (SELECT id FROM queue_messages WHERE queue = ?2 AND visible_at <= ?3
                                      ORDER BY visible_at, id LIMIT ?4)
                         RETURNING id, claim, attempts, reason, body",
                    )
                    .map_err(map_err)?;
                let rows = stmt.query_map(params![now.saturating_add(visibility_ms), queue, now, max, consumer], |r| {
                    Ok(Delivery {
                        receipt: format!("{}.{}", r.get::<_, i64>(0)?, r.get::<_, i64>(1)?),
                        attempts: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(u32::MAX),
                        reason: r.get(3)?,
                        body: r.get(4)?,
                    })
                });
                let deliveries = rows.map_err(map_err)?.collect::<Result<Vec<_>, _>>().map_err(map_err)?;
                if !deliveries.is_empty() {
                    return Ok(Claimed::Deliveries(deliveries));
                }
                let next: Option<i64> = tx
                    .query_row("SELECT MIN(visible_at) FROM queue_messages WHERE queue = ?1", [&queue], |r| r.get(0))
                    .optional()
                    .map_err(map_err)?
                    .flatten();
                Ok(Claimed::NextVisibleIn(next.map(|at| Duration::from_millis(at.saturating_sub(now).max(0) as u64))))
            })
            .await
    }
}

/// Wakes every receiver of a queue instance still open.
fn wake_all(signals: &Weak<Signals>) {
    if let Some(signals) = signals.upgrade() {
        for signal in signals.lock().unwrap_or_else(|p| p.into_inner()).values() {
            signal.notify_waiters();
        }
    }
}

/// What one claim attempt found.
enum Claimed {
    /// Rows claimed now.
    Deliveries(Vec<Delivery>),
    /// Nothing visible; the earliest in-flight row reappears after this.
    NextVisibleIn(Option<Duration>),
}

/// Splits a receipt into row id and claim; `Invalid` when malformed.
fn parse_receipt(receipt: &str) -> Result<(i64, i64), PortError> {
    receipt
        .split_once('.')
        .and_then(|(id, claim)| Some((id.parse().ok()?, claim.parse().ok()?)))
        .ok_or_else(|| PortError::new(PortErrorKind::Invalid, format!("malformed receipt {receipt:?}")))
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send_batch(&self, queue: &str, bodies: Vec<Vec<u8>>) -> Result<(), PortError> {
        validate_send(queue, &bodies)?;
        if bodies.is_empty() {
            return Ok(());
        }
        let name = queue.to_owned();
        self.db
            .write(move |tx| {
                let now = now_ms();
                let mut insert = tx
                    .prepare_cached("INSERT INTO queue_messages (queue, visible_at, body) VALUES (?1, ?2, ?3)")
                    .map_err(map_err)?;
                for body in &bodies {
                    insert.execute(params![name, now, body]).map_err(map_err)?;
                }
                Ok(())
            })
            .await?;
        self.wake(queue);
        Ok(())
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, PortError> {
        validate_receive(queue, max)?;
        let deadline = Instant::now() + wait;
        let signal = self.signal(queue);
        loop {
            // Registered before looking, so a send between the look and the
            // sleep still wakes this receiver.
            let signalled = signal.notified();
            tokio::pin!(signalled);
            signalled.as_mut().enable();
            let next_visible = match self.claim(queue, max, millis(visibility)).await? {
                Claimed::Deliveries(deliveries) => return Ok(deliveries),
                Claimed::NextVisibleIn(next) => next,
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let until = next_visible.map_or(deadline, |d| deadline.min(now + d));
            let _ = tokio::time::timeout_at(until, signalled).await;
        }
    }

    async fn ack(&self, queue: &str, receipts: &[String]) -> Result<(), PortError> {
        validate_queue_name(queue)?;
        let claims = receipts.iter().map(|r| parse_receipt(r)).collect::<Result<Vec<_>, _>>()?;
        if claims.is_empty() {
            return Ok(());
        }
        let queue = queue.to_owned();
        self.db
            .write(move |tx| {
                let mut delete = tx
                    .prepare_cached("DELETE FROM queue_messages WHERE id = ?1 AND claim = ?2 AND queue = ?3")
                    .map_err(map_err)?;
                for (id, claim) in claims {
                    delete.execute(params![id, claim, queue]).map_err(map_err)?;
                }
                Ok(())
            })
            .await
    }

    async fn nack(&self, queue: &str, receipt: &str, delay: Duration) -> Result<(), PortError> {
        validate_queue_name(queue)?;
        let (id, claim) = parse_receipt(receipt)?;
        let name = queue.to_owned();
        let delay_ms = millis(delay);
        self.db
            .write(move |tx| {
                tx.execute(
                    "UPDATE queue_messages SET visible_at = ?1, claimed_by = NULL WHERE id = ?2 AND claim = ?3 AND queue = ?4",
                    params![now_ms().saturating_add(delay_ms), id, claim, name],
                )
                .map_err(map_err)
            })
            .await?;
        // Waiting receivers recompute when the earliest in-flight body returns.
        self.wake(queue);
        Ok(())
    }

    async fn dead_letter(&self, queue: &str, delivery: &Delivery, reason: &str) -> Result<(), PortError> {
        validate_queue_name(queue)?;
        let dlq = dead_letter_queue(queue);
        validate_queue_name(&dlq)?;
        let (id, claim) = parse_receipt(&delivery.receipt)?;
        let (name, target, reason) = (queue.to_owned(), dlq.clone(), reason_within_limit(reason).to_owned());
        self.db
            .write(move |tx| {
                // Moves the stored body, so a stale or forged delivery moves nothing.
                tx.execute(
                    "UPDATE queue_messages
                     SET queue = ?1, visible_at = ?2, attempts = 0, claim = NULL, claimed_by = NULL, reason = ?3
                     WHERE id = ?4 AND claim = ?5 AND queue = ?6",
                    params![target, now_ms(), reason, id, claim, name],
                )
                .map_err(map_err)
            })
            .await?;
        self.wake(&dlq);
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, PortError> {
        validate_queue_name(queue)?;
        let queue = queue.to_owned();
        self.db
            .read(move |tx| {
                let (visible, in_flight): (i64, i64) = tx
                    .query_row(
                        "SELECT COALESCE(SUM(visible_at <= ?2), 0), COALESCE(SUM(visible_at > ?2), 0)
                         FROM queue_messages WHERE queue = ?1",
                        params![queue, now_ms()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(map_err)?;
                Ok(QueueDepth { visible: visible.max(0) as u64, in_flight: in_flight.max(0) as u64 })
            })
            .await
    }
}
