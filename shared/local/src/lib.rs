//! tgdesk embedded adapters for the local (single-process) deployment. Today:
//! the SQLite store ([`SqliteStore`]), which implements the core's
//! `Directory`, `MessageWriter` and `MessageReader` ports.

mod sqlite;

pub use sqlite::SqliteStore;
