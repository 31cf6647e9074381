//! [`SqliteStore`]: the store ports on one SQLite file in WAL mode. One
//! writer connection behind a mutex serialises writes (SQLite allows one
//! writer anyway, and waiting on a mutex is cheaper than on SQLITE_BUSY);
//! readers come from a small pool and never block the writer. Every call runs
//! on tokio's blocking pool.

mod accounts;
mod codec;
mod directory;
mod ingest;
mod messages;
mod organise;
mod schema;
mod sends;
mod users;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// How long a connection waits for a lock before reporting SQLITE_BUSY.
const BUSY_TIMEOUT_MS: u32 = 5_000;
/// Reader connections; two cores serve them, a few more hide I/O waits.
const READERS: u32 = 4;

/// The SQLite adapter of `Directory`, `MessageWriter` and `MessageReader`.
/// Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The only connection that writes.
    writer: Mutex<Connection>,
    /// Read-only connections; WAL lets them read while the writer writes.
    readers: Pool<SqliteConnectionManager>,
}

impl SqliteStore {
    /// Opens (creating when missing) the database file at `path` and brings
    /// its schema to the latest migration. Fails with `Unavailable` when the
    /// file cannot be opened and `Internal` when a migration fails.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PortError> {
        let path = path.as_ref();
        let mut writer = Connection::open(path).map_err(map_err)?;
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
                 PRAGMA temp_store = MEMORY;
                 PRAGMA cache_size = -65536;
                 PRAGMA mmap_size = 268435456;"
            ))
            .map_err(map_err)?;
        schema::migrations()
            .to_latest(&mut writer)
            .map_err(|e| PortError::with_source(PortErrorKind::Internal, "sqlite migration failed", e))?;
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.execute_batch(&format!(
                "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
                 PRAGMA query_only = ON;
                 PRAGMA cache_size = -32768;
                 PRAGMA mmap_size = 268435456;"
            ))
        });
        let readers = Pool::builder()
            .max_size(READERS)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| PortError::with_source(PortErrorKind::Unavailable, "sqlite reader pool", e))?;
        tracing::debug!(path = %path.display(), "sqlite store opened");
        Ok(Self { inner: Arc::new(Inner { writer: Mutex::new(writer), readers }) })
    }

    /// Runs `work` inside one write transaction on the writer connection;
    /// the transaction commits when `work` returns `Ok`, else rolls back.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, PortError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock left no open transaction
            // (rusqlite rolls back on drop), so the connection is still sound.
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
            let out = work(&tx)?;
            tx.commit().map_err(map_err)?;
            Ok(out)
        })
        .await
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "sqlite writer task failed", e))?
    }

    /// Runs `work` on a pooled reader connection inside one read transaction,
    /// so multi-statement reads see one snapshot.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, PortError> + Send + 'static,
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

/// Maps a rusqlite error to the port's kinds, once for the whole adapter.
pub(crate) fn map_err(e: rusqlite::Error) -> PortError {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation => PortErrorKind::Conflict,
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => PortErrorKind::Unavailable,
            ErrorCode::CannotOpen | ErrorCode::DiskFull | ErrorCode::SystemIoFailure => PortErrorKind::Unavailable,
            _ => PortErrorKind::Internal,
        },
        _ => PortErrorKind::Internal,
    };
    PortError::with_source(kind, "sqlite", e)
}
