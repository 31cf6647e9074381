//! Runs the archive contract suite against `BlobArchive` over `S3Blobs` on
//! the moto server: the AWS deployment's archive, the same code and the
//! same objects as the local one.

mod moto;

use std::sync::Arc;
use tgdesk_aws::S3Blobs;
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::testkit::ArchiveHandle;

async fn fresh_archive() -> ArchiveHandle {
    let blobs = Arc::new(S3Blobs::new(&moto::context().await));
    ArchiveHandle::new(Arc::new(BlobArchive::new(blobs)))
}

tgdesk_core::archive_contract_suite!(fresh_archive);
