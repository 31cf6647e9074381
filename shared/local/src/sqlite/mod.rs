//! [`SqliteStore`]: the store ports on one SQLite file, with the connection
//! shape every SQLite adapter shares ([`crate::db::Db`]: WAL, one writer,
//! pooled readers, calls on tokio's blocking pool) and its own migrations.

mod accounts;
mod codec;
mod days;
mod directory;
mod expiry;
mod feed;
mod ingest;
mod jobs;
mod messages;
mod organise;
mod profiles;
mod replies;
mod schema;
mod sends;
mod users;

use crate::db::Db;
use rusqlite::ErrorCode;
use std::path::Path;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Reader connections; two cores serve them, a few more hide I/O waits.
const READERS: u32 = 4;

/// Reader settings: foreign keys, and a larger cache and memory map than the
/// queue's, since the inbox and history read most.
const READER_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;";
/// Writer settings: a cache that holds ingest's working set, the newest page
/// of every busy dialog's messages and of its indexes. With 16 MiB the e2e
/// shape (6,000 busy dialogs) outgrew it within seconds: 2.6 page reads per
/// stored message instead of 1.05, and 11% more CPU per message in the
/// pipeline bench. It costs up to 128 MiB of memory.
const WRITER_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA cache_size = -131072; PRAGMA mmap_size = 268435456;";

/// The SQLite adapter of `Directory`, `MessageWriter`, `MessageReader` and
/// `SendLog`. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// Opens (creating when missing) the database file at `path` and brings
    /// its schema to the latest migration. Fails with `Unavailable` when the
    /// file cannot be opened and `Internal` when a migration fails.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PortError> {
        let path = path.as_ref();
        let db = Db::open_with(path, READERS, WRITER_PRAGMAS, READER_PRAGMAS, |writer| {
            schema::migrations()
                .to_latest(writer)
                .map_err(|e| PortError::with_source(PortErrorKind::Internal, "sqlite migration failed", e))
        })?;
        tracing::debug!(path = %path.display(), "sqlite store opened");
        Ok(Self { db })
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

/// Returns SQLite's plan for `sql` on a database with the latest schema.
#[cfg(test)]
pub(crate) fn query_plan(sql: &str) -> String {
    explained("EXPLAIN QUERY PLAN", sql, 3).join("; ")
}

/// Returns the opcodes SQLite compiles `sql` to on a database with the latest schema.
#[cfg(test)]
pub(crate) fn opcodes(sql: &str) -> Vec<String> {
    explained("EXPLAIN", sql, 1)
}

/// Column `column` of each row of `{explain} {sql}`, its parameters unbound.
#[cfg(test)]
fn explained(explain: &str, sql: &str, column: usize) -> Vec<String> {
    crate::page_cache::install();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    schema::migrations().to_latest(&mut conn).unwrap();
    // One day's table, so plans show how each day is read.
    let tx = conn.transaction().unwrap();
    days::Placement::read(&tx).unwrap().table_for(&tx, 0).unwrap();
    tx.commit().unwrap();
    let mut stmt = conn.prepare(&format!("{explain} {sql}")).unwrap();
    let unbound = vec![rusqlite::types::Null; stmt.parameter_count()];
    let rows = stmt.query_map(rusqlite::params_from_iter(unbound), |r| r.get::<_, String>(column)).unwrap();
    rows.collect::<Result<Vec<_>, _>>().unwrap()
}
