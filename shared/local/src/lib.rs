//! tgdesk embedded adapters for the local (single-process) deployment: the
//! SQLite store ([`SqliteStore`], implementing `Directory`, `MessageWriter`
//! and `MessageReader`) and the WebSocket push hub ([`WsHub`]).

pub mod push;
mod sqlite;

pub use push::WsHub;
pub use sqlite::SqliteStore;
