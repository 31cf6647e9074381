//! [`Db`]: the connection shape of every SQLite adapter (store, queue,
//! leases): one file in WAL mode, one writer connection behind a mutex (SQLite
//! allows one writer anyway, and waiting on a mutex is cheaper than on
//! SQLITE_BUSY), a small pool of read-only connections, every call on tokio's
//! blocking pool, rusqlite errors mapped once by `sqlite::map_err`.

use crate::sqlite::map_err;
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// How long a connection waits for another process's lock before SQLITE_BUSY.
const BUSY_TIMEOUT_MS: u32 = 5_000;
/// How often the checkpointer copies the WAL back into the database. Each
/// copy writes a page once however often it changed since the last, and
/// ingest changes the same index pages again and again: at 5k msg/s a second
/// took the e2e bench from 1.51 to 1.31 cores against 250 ms, while the WAL
/// holds about a second of writes.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(1000);
/// WAL pages after which the writer checkpoints itself: only when the
/// checkpointer cannot keep up (256 MiB).
const WRITER_CHECKPOINT_PAGES: u32 = 65_536;

/// Pragmas of [`Db::open`]'s connections.
pub(crate) const PRAGMAS: &str = "PRAGMA cache_size = -16384;";

/// One SQLite file: a writer and a reader pool. Cloning shares them.
#[derive(Clone)]
pub(crate) struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    /// The only connection of this process that writes.
    writer: Mutex<Connection>,
    /// Read-only connections; WAL lets them read while the writer writes.
    readers: Pool<SqliteConnectionManager>,
}

/// Prepared statements kept per connection (rusqlite keeps 16): the store's
/// writer alone runs more than that in one ingest batch and its neighbours,
/// and the message tables are one per day (`sqlite/days.rs`).
const STATEMENTS_CACHED: usize = 128;

/// Frames a passive round may have copied and still leave the round under
/// the writer's lock short: what ingest commits in a few milliseconds.
const CAUGHT_UP_FRAMES: i64 = 1_000;
/// Passive rounds at most before the one under the writer's lock.
const PASSIVE_ROUNDS: usize = 4;

/// Checkpoints the WAL in the background. Passive checkpoints copy the WAL
/// into the database without blocking the writer or readers; then one under
/// the writer's lock copies what was committed meanwhile, so the WAL is
/// complete and the next commit starts it over (see [`catch_up`]). In
/// between, the files are flushed to disk without the lock ([`flush_files`]).
/// Left to the writer, every thousandth page made one commit copy the whole
/// WAL and fsync, stalling ingest; left to passive checkpoints alone, the
/// WAL never caught up under constant writes and grew past 250 MB.
fn spawn_checkpointer(path: &Path, inner: std::sync::Weak<Inner>) -> Result<(), PortError> {
    let conn = Connection::open(path).map_err(map_err)?;
    conn.execute_batch(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};")).map_err(map_err)?;
    // Frames copied into the database so far (since the WAL last started over).
    let checkpoint = move || conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2));
    let db_file = path.to_path_buf();
    let mut wal_file = db_file.clone().into_os_string();
    wal_file.push("-wal");
    let flush = move || {
        if let Err(e) = flush_files(&[&db_file, Path::new(&wal_file)]) {
            // The locked round syncs them itself, only for longer.
            tracing::warn!(error = %e, "sqlite files could not be flushed before the checkpoint");
        }
    };
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(CHECKPOINT_EVERY);
            // The thread ends with the last clone of the Db.
            let Some(inner) = inner.upgrade() else { return };
            let caught_up = catch_up(&checkpoint, &flush, || {
                let _no_commits = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
                checkpoint()
            });
            if let Err(e) = caught_up {
                // The writer checkpoints itself past WRITER_CHECKPOINT_PAGES.
                tracing::warn!(error = %e, "background checkpoint failed");
            }
        })
        .map_err(|e| PortError::with_source(PortErrorKind::Unavailable, "cannot start the sqlite checkpointer", e))?;
    Ok(())
}

/// Flushes `files` (the database, then its WAL) to disk, those that exist.
///
/// SQLite syncs the database file only in a checkpoint that copies the WAL
/// to its end, which under constant writes is mostly the one under the
/// writer's lock, and that sync then waited for what the passive rounds had
/// copied, with ingest stopped: in the e2e bench at 12,000 msg/s, about once
/// a second, 24–28 ms at the median and 86–96 ms at p90. Flushed beforehand,
/// the locked round's sync waits for its own frames: 17–20 ms, p90 31–35 ms.
fn flush_files(files: &[&Path]) -> std::io::Result<()> {
    for file in files {
        match std::fs::File::open(file) {
            Ok(f) => f.sync_data()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Runs passive checkpoints, each copying what was committed during the one
/// before, until one copies fewer than [`CAUGHT_UP_FRAMES`] (or after
/// [`PASSIVE_ROUNDS`]), then `flush`, then `locked`, the checkpoint under the
/// writer's lock, which copies the rest. Ingest waits only for that last round. In the
/// pipeline bench at 12,000 msg/s for 60 s it held the writer 60 to 120 ms
/// each second when it followed a single passive round (a second's WAL kept
/// that round busy while 4,000 more frames came); after two to four rounds
/// it holds it 7 to 14 ms, 20 to 70 ms in the last 20 s (the fsyncs remain).
/// `passive` returns the frames copied so far; returns the passive rounds run.
fn catch_up(
    passive: impl Fn() -> rusqlite::Result<i64>,
    flush: impl FnOnce(),
    locked: impl FnOnce() -> rusqlite::Result<i64>,
) -> rusqlite::Result<usize> {
    let mut copied_before = 0;
    let mut rounds = 0;
    while rounds < PASSIVE_ROUNDS {
        let copied = passive()?;
        rounds += 1;
        // Fewer than before: the WAL started over in between, and `copied` is all new.
        let fresh = if copied >= copied_before { copied - copied_before } else { copied };
        copied_before = copied;
        if fresh < CAUGHT_UP_FRAMES {
            break;
        }
    }
    flush();
    locked()?;
    Ok(rounds)
}

impl Db {
    /// Opens (creating when missing) the file at `path` in WAL mode and runs
    /// `schema` (idempotent DDL) on it. `Unavailable` when it cannot be opened.
    pub(crate) fn open(path: &Path, schema: &str, readers: u32) -> Result<Self, PortError> {
        Self::open_with(path, readers, PRAGMAS, PRAGMAS, |c| c.execute_batch(schema).map_err(map_err))
    }

    /// Like [`Db::open`], with `writer_pragmas` run on the writer and
    /// `reader_pragmas` on every reader, and `setup` (migrations, say) run on
    /// the writer before the readers open. (A writer with a smaller page
    /// cache commits faster: each commit walks the cache.)
    pub(crate) fn open_with(
        path: &Path,
        readers: u32,
        writer_pragmas: &'static str,
        reader_pragmas: &'static str,
        setup: impl FnOnce(&mut Connection) -> Result<(), PortError>,
    ) -> Result<Self, PortError> {
        // Only takes effect before the process's first connection.
        crate::page_cache::install();
        let mut writer = Connection::open(path).map_err(map_err)?;
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
                 PRAGMA temp_store = MEMORY;
                 PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES};
                 {writer_pragmas}"
            ))
            .map_err(map_err)?;
        setup(&mut writer)?;
        writer.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        let manager = SqliteConnectionManager::file(path).with_init(move |c| {
            c.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
            c.execute_batch(&format!(
                "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA query_only = ON; {reader_pragmas}"
            ))
        });
        let readers = Pool::builder()
            .max_size(readers)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| PortError::with_source(PortErrorKind::Unavailable, "sqlite reader pool", e))?;
        let inner = Arc::new(Inner { writer: Mutex::new(writer), readers });
        spawn_checkpointer(path, Arc::downgrade(&inner))?;
        Ok(Self { inner })
    }

    /// Runs `work` in one immediate write transaction, committed when it
    /// returns `Ok` and rolled back otherwise.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, PortError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic under the lock left no open transaction (rusqlite rolls
            // back on drop), so the connection is still sound.
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_err)?;
            let out = work(&tx)?;
            tx.commit().map_err(map_err)?;
            Ok(out)
        })
        .await
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "sqlite writer task failed", e))?
    }

    /// Runs `work` on a pooled read-only connection in one read transaction.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, PortError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .readers
                .get()
                .map_err(|e| PortError::with_source(PortErrorKind::Unavailable, "no sqlite reader available", e))?;
            let tx = conn.transaction().map_err(map_err)?;
            work(&tx)
        })
        .await
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "sqlite reader task failed", e))?
    }
}

/// Returns milliseconds since the Unix epoch, the time unit of both tables.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Returns `d` in whole milliseconds, saturating.
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Runs [`catch_up`] over passive rounds reporting `copied` in turn;
    /// returns the rounds run and whether the locked round ran (after the flush).
    fn rounds_over(copied: &[i64]) -> (usize, bool) {
        let next = RefCell::new(copied.iter().copied());
        let flushed = RefCell::new(false);
        let locked = RefCell::new(false);
        let rounds = catch_up(
            || Ok(next.borrow_mut().next().expect("no more passive rounds were expected")),
            || *flushed.borrow_mut() = true,
            || {
                assert!(*flushed.borrow(), "the files are flushed before the lock is taken");
                *locked.borrow_mut() = true;
                Ok(0)
            },
        )
        .unwrap();
        (rounds, locked.into_inner())
    }

    #[test]
    fn passive_rounds_go_on_while_each_copies_much_and_the_lock_comes_last() {
        // A second of ingest, then what came during that round, then little.
        assert_eq!(rounds_over(&[30_000, 34_500, 35_200]), (3, true));
        // An idle database: one round.
        assert_eq!(rounds_over(&[120]), (1, true));
        // The WAL started over between rounds: the second round's count is all new.
        assert_eq!(rounds_over(&[30_000, 5_000, 5_400]), (3, true));
        // Writes never let up: the lock comes after PASSIVE_ROUNDS anyway.
        assert_eq!(rounds_over(&[10_000, 20_000, 30_000, 40_000, 50_000]), (PASSIVE_ROUNDS, true));
    }

    #[test]
    fn a_failing_passive_round_skips_the_locked_one() {
        let locked = RefCell::new(false);
        let failed = catch_up(
            || Err(rusqlite::Error::InvalidQuery),
            || {},
            || {
                *locked.borrow_mut() = true;
                Ok(0)
            },
        );
        assert!(failed.is_err());
        assert!(!locked.into_inner());
    }

    #[test]
    fn flushing_skips_files_not_there_yet() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        std::fs::write(&db, b"data").unwrap();
        flush_files(&[&db, &dir.path().join("t.db-wal")]).unwrap();
    }

    #[tokio::test]
    async fn the_checkpointer_copies_commits_into_the_database_without_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB);", 1).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // About 4 MiB: far below the writer's own checkpoint threshold.
        db.write(|tx| {
            let mut insert = tx.prepare("INSERT INTO t (body) VALUES (zeroblob(4000))").map_err(map_err)?;
            for _ in 0..1000 {
                insert.execute([]).map_err(map_err)?;
            }
            Ok(())
        })
        .await
        .unwrap();
        let mut after = before;
        for _ in 0..40 {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            after = std::fs::metadata(&path).unwrap().len();
            if after > 4_000_000 {
                break;
            }
        }
        assert!(after > 4_000_000, "the database file grew from {before} to {after} bytes only");
    }
}
