//! [`PortHandle`]: one adapter behind one port, plus whatever must outlive it
//! (a temp dir, a server process), for the single-port contract suites.

use crate::ports::{Archive, BlobStore, Connections, Leases, Queue, SearchIndex, Throttle};
use std::any::Any;
use std::sync::Arc;

/// An adapter seen through port `P`, keeping its guard alive.
pub struct PortHandle<P: ?Sized> {
    /// The adapter under test.
    pub port: Arc<P>,
    /// Whatever must outlive the adapter.
    _guard: Option<Arc<dyn Any + Send + Sync>>,
}

impl<P: ?Sized> PortHandle<P> {
    /// Returns a handle on `port` with nothing else to keep alive.
    pub fn new(port: Arc<P>) -> Self {
        Self { port, _guard: None }
    }

    /// Keeps `guard` alive as long as this handle (a temp dir holding the
    /// adapter's files, say).
    pub fn keep_alive(mut self, guard: impl Any + Send + Sync) -> Self {
        self._guard = Some(Arc::new(guard));
        self
    }
}

/// A queue adapter under test.
pub type QueueHandle = PortHandle<dyn Queue>;
/// A leases adapter under test.
pub type LeasesHandle = PortHandle<dyn Leases>;
/// A blob store adapter under test.
pub type BlobHandle = PortHandle<dyn BlobStore>;
/// A connections adapter under test.
pub type ConnectionsHandle = PortHandle<dyn Connections>;
/// A throttle adapter under test.
pub type ThrottleHandle = PortHandle<dyn Throttle>;
/// A search index adapter under test.
pub type SearchHandle = PortHandle<dyn SearchIndex>;
/// An archive adapter under test.
pub type ArchiveHandle = PortHandle<dyn Archive>;
