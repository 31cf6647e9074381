//! Runs the blob store contract suite against `S3Blobs` on the moto server,
//! plus what only S3 must prove: large streamed writes go up in parts.

mod moto;

use std::sync::Arc;
use tgdesk_aws::S3Blobs;
use tgdesk_core::ports::{BlobStore, MAX_BLOB_CHUNK};
use tgdesk_core::testkit::{fixtures, BlobHandle};

async fn fresh_blobs() -> BlobHandle {
    BlobHandle::new(Arc::new(S3Blobs::new(&moto::context().await)))
}

tgdesk_core::blob_contract_suite!(fresh_blobs);

#[tokio::test]
async fn a_streamed_blob_larger_than_a_part_reads_back_whole() {
    // Arrange: 20 MiB in odd-sized pieces, so the upload takes three parts.
    let blobs = S3Blobs::new(&moto::context().await);
    let key = format!("{}/media/video.mp4", fixtures::tenant().as_str());
    let bytes: Vec<u8> = (0..20 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();

    // Act
    let mut writer = blobs.create(&key, "video/mp4").await.unwrap();
    for piece in bytes.chunks(700_001) {
        writer.write(piece).await.unwrap();
    }
    let meta = writer.finish().await.unwrap();

    // Assert
    assert_eq!((meta.size, meta.content_type.as_str()), (bytes.len() as u64, "video/mp4"));
    let mut reader = blobs.open(&key).await.unwrap();
    let mut read = Vec::new();
    while let Some(chunk) = reader.next_chunk().await.unwrap() {
        assert!(!chunk.is_empty() && chunk.len() <= MAX_BLOB_CHUNK);
        read.extend(chunk);
    }
    assert!(read == bytes, "the blob read back differs");
}
