//! tgdesk embedded adapters for the local (single-process) deployment: the
//! SQLite store ([`SqliteStore`], implementing `Directory`, `MessageWriter`
//! and `MessageReader`), the WebSocket push hub ([`WsHub`]), the durable
//! queue ([`SqliteQueue`]), fleet leases ([`SqliteLeases`]), blobs as
//! files ([`FsBlobStore`]) and push across processes ([`relay_push`]).

mod blobs;
mod connections;
mod db;
mod leases;
pub mod page_cache;
mod presign;
pub mod push;
mod push_relay;
mod queue;
mod queue_consumers;
pub mod search;
mod sqlite;

pub use blobs::FsBlobStore;
pub use connections::MemoryConnections;
pub use leases::SqliteLeases;
pub use presign::{Grant, PRESIGNED_PATH};
pub use push::WsHub;
pub use push_relay::relay as relay_push;
pub use queue::SqliteQueue;
pub use search::TantivyIndex;
pub use sqlite::SqliteStore;

use std::path::Path;
use std::sync::Arc;
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::ports::PortError;
use tgdesk_core::usecases::Ports;

/// The embedded adapters of one data dir, wired as the use cases' ports.
pub struct LocalPorts {
    /// The store (also kept typed, for callers that seed or inspect it).
    pub store: Arc<SqliteStore>,
    /// The push hub (also kept typed, for the WebSocket route).
    pub hub: Arc<WsHub>,
    /// The files (also kept typed, for the route that redeems presigned requests).
    pub files: FsBlobStore,
    /// Every port; `sessions`, `sealer` and `search` are `None` until the caller adds them
    /// (the search index allows one writer: only the server opens it).
    pub ports: Ports,
}

impl LocalPorts {
    /// Opens `tgdesk.db`, `queue.db`, `files/` and `archive/` under `dir`, creating what is missing.
    pub fn open(dir: &Path) -> Result<Self, PortError> {
        let store = Arc::new(SqliteStore::open(dir.join("tgdesk.db"))?);
        let hub = Arc::new(WsHub::default());
        let files = FsBlobStore::open(dir.join("files"))?;
        let ports = Ports {
            directory: store.clone(),
            writer: store.clone(),
            reader: store.clone(),
            push: hub.clone(),
            sends: store.clone(),
            queue: Arc::new(SqliteQueue::open(dir.join("queue.db"))?),
            blobs: Arc::new(files.clone()),
            archive: Some(Arc::new(BlobArchive::new(Arc::new(FsBlobStore::open(dir.join("archive"))?)))),
            search: None,
            replies: store.clone(),
            jobs: store.clone(),
            sessions: None,
            sealer: None,
            // The leases file is the fleet's; the caller that runs one adds it.
            leases: None,
        };
        Ok(Self { store, hub, files, ports })
    }
}
