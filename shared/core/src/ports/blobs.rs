//! The blob store port: files and media, whole or streamed in pieces.
//! Adapters: files in the data dir, S3.

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

/// Returns `Invalid` for a content type that is empty or longer than
/// [`MAX_CONTENT_TYPE`].
pub fn validate_content_type(content_type: &str) -> Result<(), PortError> {
    if content_type.is_empty() || content_type.len() > MAX_CONTENT_TYPE {
        return Err(PortError::new(PortErrorKind::Invalid, "content type empty or too long"));
    }
    Ok(())
}

/// What is known about a stored blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    /// Size in bytes.
    pub size: u64,
    /// MIME type given at upload.
    pub content_type: String,
}

/// Largest chunk a [`BlobReader`] returns, so a big file (a customer's video)
/// is never held whole in memory.
pub const MAX_BLOB_CHUNK: usize = 256 * 1024;

/// A blob being written piece by piece (a multipart upload on S3). Nothing is
/// visible under the key until [`BlobWriter::finish`]; a writer dropped
/// unfinished leaves the key as it was.
#[async_trait]
pub trait BlobWriter: Send {
    /// Appends bytes.
    async fn write(&mut self, chunk: &[u8]) -> Result<(), PortError>;
    /// Makes the blob visible under its key, replacing what was there
    /// (readers see the old blob or the new one, never a mix); returns its metadata.
    async fn finish(self: Box<Self>) -> Result<BlobMeta, PortError>;
}

/// A stored blob read piece by piece.
#[async_trait]
pub trait BlobReader: Send {
    /// The blob's metadata.
    fn meta(&self) -> &BlobMeta;
    /// Returns the next 1 to [`MAX_BLOB_CHUNK`] bytes, `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, PortError>;
}

/// Bytes already in memory, read as a [`BlobReader`] in chunks of at most
/// [`MAX_BLOB_CHUNK`] (small files, tests).
pub struct MemoryBlob {
    meta: BlobMeta,
    bytes: Vec<u8>,
    at: usize,
}

impl MemoryBlob {
    /// Wraps `bytes` of type `content_type`.
    pub fn new(bytes: Vec<u8>, content_type: &str) -> Self {
        let meta = BlobMeta { size: bytes.len() as u64, content_type: content_type.to_owned() };
        Self { meta, bytes, at: 0 }
    }
}

#[async_trait]
impl BlobReader for MemoryBlob {
    fn meta(&self) -> &BlobMeta {
        &self.meta
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, PortError> {
        if self.at == self.bytes.len() {
            return Ok(None);
        }
        let end = self.bytes.len().min(self.at + MAX_BLOB_CHUNK);
        let chunk = self.bytes[self.at..end].to_vec();
        self.at = end;
        Ok(Some(chunk))
    }
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
    /// Starts writing a blob in pieces, for files too big to hold in memory.
    /// The key and content type are checked as by [`BlobStore::put`].
    async fn create(&self, key: &str, content_type: &str) -> Result<Box<dyn BlobWriter>, PortError>;
    /// Opens a blob to read in pieces; `NotFound` when the key is unknown.
    async fn open(&self, key: &str) -> Result<Box<dyn BlobReader>, PortError>;
    /// Returns the keys under `folder` (keys starting `folder/`; `folder`
    /// itself is a valid key, else `Invalid`), in byte order, after `after`
    /// (from the first when `None`), at most `limit` (1 to [`MAX_BLOB_LIST`]).
    async fn list(&self, folder: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>, PortError>;
}

/// Most keys one [`BlobStore::list`] returns (S3's own page size).
pub const MAX_BLOB_LIST: usize = 1_000;
