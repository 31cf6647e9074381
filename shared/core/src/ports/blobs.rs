//! The blob store port: files and media, whole or streamed in pieces.
//! Adapters: files in the data dir, S3.

use super::{PortError, PortErrorKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

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

/// Longest a presigned request stays valid.
pub const MAX_PRESIGN: Duration = Duration::from_secs(12 * 3600);

/// Returns `Invalid` for a presigned request's lifetime outside 1 s to [`MAX_PRESIGN`].
pub fn validate_presign(expires_in: Duration) -> Result<(), PortError> {
    if expires_in < Duration::from_secs(1) || expires_in > MAX_PRESIGN {
        return Err(PortError::new(
            PortErrorKind::Invalid,
            format!("presigned for {expires_in:?}: outside 1 s..=12 h"),
        ));
    }
    Ok(())
}

/// An HTTP request a client sends straight to the blob store, signed in
/// advance so it needs no other credentials: files too big for the API's
/// request and response limits (API Gateway: 10 MB in, 6 MB out of a
/// Lambda) go around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PresignedRequest {
    /// `PUT` (an upload) or `GET` (a download).
    pub method: String,
    /// Where to send it: absolute (S3), or a path on the API's own origin
    /// (the local server).
    pub url: String,
    /// Headers to send exactly as given (an upload's type and length are signed).
    pub headers: BTreeMap<String, String>,
    /// When the signature stops working.
    pub expires_at: DateTime<Utc>,
}

/// A stored blob's version, for [`BlobStore::put_if`]: opaque, and changed
/// by every put (S3: the ETag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobVersion(pub String);

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
    /// Returns the bytes and their version; `None` when the key is unknown.
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, PortError>;
    /// Stores bytes under `key` as [`BlobStore::put`] does, but only while
    /// the blob there is at version `expected` (`None`: while there is none),
    /// atomically against every other writer, other processes included;
    /// otherwise `Conflict`, storing nothing. Returns the new version. The
    /// read-modify-writes of records several writers share go through it.
    async fn put_if(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        expected: Option<&BlobVersion>,
    ) -> Result<BlobVersion, PortError>;
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
    /// Returns a request that stores exactly `size` bytes of `content_type`
    /// under `key` (as [`BlobStore::put`] does) when sent within
    /// `expires_in`; the store refuses it with another length, type or key,
    /// or later. Key and type are checked as by `put`, the lifetime by
    /// [`validate_presign`].
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError>;
    /// Returns a request that reads the blob at `key` when sent within
    /// `expires_in` (the key need not exist yet: the request then finds nothing).
    async fn presign_download(&self, key: &str, expires_in: Duration) -> Result<PresignedRequest, PortError>;
}

/// Most keys one [`BlobStore::list`] returns (S3's own page size).
pub const MAX_BLOB_LIST: usize = 1_000;
