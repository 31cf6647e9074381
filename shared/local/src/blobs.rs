//! [`FsBlobStore`]: the `BlobStore` port on files under a root directory.
//!
//! Key `a/b/c` is the file `<root>/a/b/c~blob`. Keys pass
//! `validate_blob_key` first, so a key is never absolute, never climbs with
//! `..` and never contains `~`: the `~blob` suffix keeps blob files apart
//! from the directories of deeper keys (`a/b` and `a/b/c` coexist), and
//! temporary files (named with a leading dot, which keys cannot have) never
//! collide with a blob.
//!
//! A file is a small header then the bytes: `TGB1`, one byte of content type
//! length, the content type. A put writes a temporary file in the target's
//! directory, syncs it and renames it over the target, so a reader sees the
//! old file or the new one, and a crash leaves no half-written blob.

use async_trait::async_trait;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tgdesk_core::ports::{validate_blob_key, BlobMeta, BlobStore, PortError, PortErrorKind, MAX_CONTENT_TYPE};

const MAGIC: &[u8; 4] = b"TGB1";
const SUFFIX: &str = "~blob";

/// The file-system adapter of `BlobStore`. Cloning is cheap.
#[derive(Clone)]
pub struct FsBlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The directory every blob lives under.
    root: PathBuf,
}

/// Makes temporary file names unique within the process, across instances
/// sharing a root.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl FsBlobStore {
    /// Opens the store under `root`, creating the directory when missing.
    /// `Unavailable` when it cannot be created.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, PortError> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(map_io)?;
        Ok(Self { inner: Arc::new(Inner { root }) })
    }

    /// Returns the file of a valid key.
    fn path(&self, key: &str) -> Result<PathBuf, PortError> {
        validate_blob_key(key)?;
        let mut path = self.inner.root.clone();
        path.extend(key.split('/'));
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(SUFFIX);
        path.set_file_name(name);
        Ok(path)
    }
}

/// Maps an I/O error to the port's kinds, once for the adapter.
fn map_io(e: std::io::Error) -> PortError {
    let kind = match e.kind() {
        ErrorKind::NotFound => PortErrorKind::NotFound,
        ErrorKind::PermissionDenied | ErrorKind::StorageFull | ErrorKind::ReadOnlyFilesystem => {
            PortErrorKind::Unavailable
        }
        _ => PortErrorKind::Internal,
    };
    PortError::with_source(kind, "blob file", e)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PortError> + Send + 'static,
) -> Result<T, PortError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "blob task failed", e))?
}

/// Writes header and bytes to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, temp_id: u64, content_type: &str, bytes: &[u8]) -> Result<(), PortError> {
    let dir = path.parent().ok_or_else(|| PortError::new(PortErrorKind::Internal, "blob path without parent"))?;
    std::fs::create_dir_all(dir).map_err(map_io)?;
    let temp = dir.join(format!(".{}.{temp_id}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(MAGIC)?;
        file.write_all(&[content_type.len() as u8])?;
        file.write_all(content_type.as_bytes())?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(map_io(e));
    }
    Ok(())
}

/// Splits a blob file into metadata and bytes.
fn decode(mut file: Vec<u8>) -> Result<(Vec<u8>, BlobMeta), PortError> {
    let corrupt = || PortError::new(PortErrorKind::Internal, "corrupt blob file header");
    if file.len() < 5 || &file[..4] != MAGIC {
        return Err(corrupt());
    }
    let end = 5 + file[4] as usize;
    let content_type = std::str::from_utf8(file.get(5..end).ok_or_else(corrupt)?).map_err(|_| corrupt())?.to_owned();
    let bytes = file.split_off(end);
    let size = bytes.len() as u64;
    Ok((bytes, BlobMeta { size, content_type }))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        let path = self.path(key)?;
        if content_type.is_empty() || content_type.len() > MAX_CONTENT_TYPE {
            return Err(PortError::new(PortErrorKind::Invalid, "content type empty or too long"));
        }
        let temp_id = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
        let content_type = content_type.to_owned();
        blocking(move || write_atomically(&path, temp_id, &content_type, &bytes)).await
    }

    async fn get(&self, key: &str) -> Result<(Vec<u8>, BlobMeta), PortError> {
        let path = self.path(key)?;
        blocking(move || decode(std::fs::read(&path).map_err(map_io)?)).await
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(map_io(e)),
            _ => Ok(()),
        })
        .await
    }
}
