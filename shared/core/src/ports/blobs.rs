//! The blob store port: files and media. Adapters: files in the data dir, S3.

use super::PortError;
use async_trait::async_trait;

/// What is known about a stored blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    /// Size in bytes.
    pub size: u64,
    /// MIME type given at upload.
    pub content_type: String,
}

/// Immutable blobs under tenant-prefixed keys.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores bytes under `key`, replacing what was there.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError>;
    /// Returns the bytes and metadata; `NotFound` when the key is unknown.
    async fn get(&self, key: &str) -> Result<(Vec<u8>, BlobMeta), PortError>;
    /// Deletes a blob; deleting a missing blob succeeds.
    async fn delete(&self, key: &str) -> Result<(), PortError>;
}
