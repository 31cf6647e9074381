//! Who is consuming a SQLite queue file, so a crashed consumer's claims come
//! back in seconds rather than at the end of their visibility timeout.
//!
//! Every open [`SqliteQueue`](crate::SqliteQueue) (clones share one) is a
//! consumer: a row in `queue_consumers` it keeps alive from a thread of its
//! own, and each claim records its id. The same thread returns to view the
//! in-flight bodies of consumers no longer alive (a process killed with
//! SIGKILL, say): a restarted server picks up the batches its predecessor
//! was storing within [`LIVENESS`] instead of 60 s later. A live consumer's
//! claims are never taken, however slow it is; the visibility timeout still
//! bounds them.

use crate::sqlite::map_err;
use rusqlite::{params, Connection, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// How long a consumer counts as alive after its last heartbeat.
pub(crate) const LIVENESS: Duration = Duration::from_secs(6);

/// Consumers, and what a claim needs to name its consumer. Run after the
/// queue's own table exists.
pub(crate) fn migrate(conn: &Connection) -> Result<(), PortError> {
    if conn.prepare("SELECT claimed_by FROM queue_messages LIMIT 0").is_err() {
        // A file made before consumers were tracked.
        conn.execute_batch("ALTER TABLE queue_messages ADD COLUMN claimed_by INTEGER;").map_err(map_err)?;
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS queue_consumers (
             id INTEGER PRIMARY KEY,
             -- Milliseconds since the epoch until which the consumer counts as alive.
             alive_until INTEGER NOT NULL
         );
         CREATE INDEX IF NOT EXISTS queue_messages_claimed ON queue_messages (claimed_by)
             WHERE claimed_by IS NOT NULL;",
    )
    .map_err(map_err)
}

/// Registers a new consumer, alive for `liveness`; returns its id.
pub(crate) fn register(conn: &Connection, liveness: Duration) -> Result<i64, PortError> {
    conn.query_row(
        "INSERT INTO queue_consumers (id, alive_until) VALUES (abs(random() % 9007199254740991), ?1) RETURNING id",
        [crate::db::now_ms().saturating_add(crate::db::millis(liveness))],
        |r| r.get(0),
    )
    .map_err(map_err)
}

/// Keeps consumer `id` alive every third of `liveness` and returns dead
/// consumers' claims, calling `returned` after it returned any, until
/// `alive` says the queue was dropped; then removes the consumer, so what
/// it still held is returned by the next heartbeat of any other.
pub(crate) fn spawn_heartbeat(
    path: &Path,
    id: i64,
    liveness: Duration,
    alive: impl Fn() -> bool + Send + 'static,
    returned: impl Fn() + Send + 'static,
) -> Result<(), PortError> {
    let conn = Connection::open(path).map_err(map_err)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(map_err)?;
    let path: PathBuf = path.to_owned();
    std::thread::Builder::new()
        .name("queue-heartbeat".into())
        .spawn(move || {
            let mut conn = conn;
            loop {
                std::thread::sleep(liveness / 3);
                if !alive() {
                    if let Err(e) = conn.execute("DELETE FROM queue_consumers WHERE id = ?1", [id]) {
                        tracing::warn!(error = %e, path = %path.display(), "cannot sign the queue consumer off");
                    }
                    return;
                }
                match beat(&mut conn, id, liveness) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(bodies = n, "bodies claimed by a stopped consumer are visible again");
                        returned();
                    }
                    // Retried at the next beat, well within `liveness`.
                    Err(e) => tracing::warn!(error = %e, path = %path.display(), "queue heartbeat failed"),
                }
            }
        })
        .map_err(|e| PortError::with_source(PortErrorKind::Unavailable, "cannot start the queue heartbeat", e))?;
    Ok(())
}

/// One heartbeat: renews `id` (registering it again if another consumer
/// already gave it up for dead), returns dead consumers' in-flight bodies
/// to view and forgets those consumers. Returns how many bodies came back.
fn beat(conn: &mut Connection, id: i64, liveness: Duration) -> Result<usize, PortError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_err)?;
    let now = crate::db::now_ms();
    tx.execute(
        "INSERT INTO queue_consumers (id, alive_until) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until",
        params![id, now.saturating_add(crate::db::millis(liveness))],
    )
    .map_err(map_err)?;
    let returned = tx
        .execute(
            "UPDATE queue_messages SET visible_at = ?1, claimed_by = NULL
             WHERE claimed_by IS NOT NULL AND visible_at > ?1
               AND claimed_by NOT IN (SELECT id FROM queue_consumers WHERE alive_until > ?1)",
            [now],
        )
        .map_err(map_err)?;
    tx.execute("DELETE FROM queue_consumers WHERE alive_until <= ?1", [now]).map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(returned)
}
