//! Runs the blob store contract suite against `S3Blobs` on the moto server,
//! plus what only S3 must prove: large streamed writes go up in parts, and
//! presigned requests work when sent as given by a client without credentials.

mod moto;

use std::sync::Arc;
use std::time::Duration;
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

#[tokio::test]
async fn a_presigned_upload_and_download_work_without_credentials() {
    // Arrange
    let blobs = S3Blobs::new(&moto::context().await);
    let key = format!("{}/imports/accounts.csv", fixtures::tenant().as_str());
    let body = b"phone,name\n+15550001,Ann\n".to_vec();
    let upload = blobs.presign_upload(&key, "text/csv", body.len() as u64, Duration::from_secs(300)).await.unwrap();
    let client = reqwest::Client::new();

    // Act: the request as a browser sends it, headers as given.
    let mut put = client.put(&upload.url).body(body.clone());
    for (name, value) in &upload.headers {
        if name != "content-length" {
            put = put.header(name, value);
        }
    }
    let status = put.send().await.unwrap().status();

    // Assert
    assert!(status.is_success(), "upload answered {status}");
    let (stored, meta) = blobs.get(&key).await.unwrap();
    assert_eq!((stored, meta.content_type.as_str()), (body.clone(), "text/csv"));
    let download = blobs.presign_download(&key, Duration::from_secs(60)).await.unwrap();
    let fetched = client.get(&download.url).send().await.unwrap();
    assert!(fetched.status().is_success());
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), body);
}
