//! tgdesk embedded adapters for the local (single-process) deployment: the
//! SQLite store ([`SqliteStore`], implementing `Directory`, `MessageWriter`
//! and `MessageReader`), the WebSocket push hub ([`WsHub`]), the durable
//! queue ([`SqliteQueue`]), fleet leases ([`SqliteLeases`]) and blobs as
//! files ([`FsBlobStore`]).

mod blobs;
mod db;
mod leases;
pub mod push;
mod queue;
mod sqlite;

pub use blobs::FsBlobStore;
pub use leases::SqliteLeases;
pub use push::WsHub;
pub use queue::SqliteQueue;
pub use sqlite::SqliteStore;
