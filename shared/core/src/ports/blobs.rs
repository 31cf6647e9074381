//! The blob store port: files and media. Adapters: files in the data dir, S3.

use super::{PortError, PortErrorKind};
use async_trait::async_trait;

/// Longest key, as S3 allows.
pub const MAX_BLOB_KEY: usize = 1024;

/// Longest content type.
pub const MAX_CONTENT_TYPE: usize = 255;

/// Returns `Invalid` unless `key` is 1 to [`MAX_BLOB_KEY`] bytes of
/// `/`-separated segments, each non-empty, made of `[A-Za-z0-9._=-]` and not
/// starting with a dot. So no key is absolute, climbs with `..`, or differs
/// from another only by spelling, and a file-system adapter maps keys to
/// paths inside its root.
pub fn validate_blob_key(key: &str) -> Result<(), PortError> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'=' | b'-'))
    };
    if !key.is_empty() && key.len() <= MAX_BLOB_KEY && key.split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(PortError::new(PortErrorKind::Invalid, format!("invalid blob key {key:?}")))
    }
}

/// What is known about a stored blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    /// Size in bytes.
    pub size: u64,
    /// MIME type given at upload.
    pub content_type: String,
}

/// Immutable blobs under tenant-prefixed keys. Every method refuses a key
/// [`validate_blob_key`] refuses with `Invalid`. A key and keys under it
/// (`a/b` and `a/b/c`) are distinct blobs.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores bytes under `key`, replacing what was there; readers see the
    /// old blob or the new one, never a mix. A content type that is empty or
    /// longer than [`MAX_CONTENT_TYPE`] is `Invalid`.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError>;
    /// Returns the bytes and metadata; `NotFound` when the key is unknown.
    async fn get(&self, key: &str) -> Result<(Vec<u8>, BlobMeta), PortError>;
    /// Deletes a blob; deleting a missing blob succeeds.
    async fn delete(&self, key: &str) -> Result<(), PortError>;
}
