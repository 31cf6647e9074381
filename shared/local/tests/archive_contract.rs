//! Runs the archive contract suite against `BlobArchive` over `FsBlobStore`
//! in a temp dir: the local deployment's archive.

use std::sync::Arc;
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::testkit::ArchiveHandle;
use tgdesk_local::FsBlobStore;

/// Opens a fresh archive in its own temp dir, kept alive with the handle.
async fn fresh_archive() -> ArchiveHandle {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = FsBlobStore::open(dir.path().join("archive")).expect("open blobs");
    ArchiveHandle::new(Arc::new(BlobArchive::new(Arc::new(blobs)))).keep_alive(dir)
}

tgdesk_core::archive_contract_suite!(fresh_archive);
