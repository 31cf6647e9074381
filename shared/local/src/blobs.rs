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
//! old file or the new one, and a crash leaves no half-written blob. A
//! streamed write ([`BlobStore::create`]) does the same piece by piece, and
//! removes its temporary file when dropped unfinished.

use crate::presign::{Grant, Presigner};
use async_trait::async_trait;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{
    validate_blob_key, validate_content_type, validate_presign, BlobMeta, BlobReader, BlobStore, BlobVersion,
    BlobWriter, PortError, PortErrorKind, PresignedRequest, MAX_BLOB_CHUNK, MAX_BLOB_LIST,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    /// Signs and checks presigned requests.
    presigner: Presigner,
}

/// Makes temporary file names unique within the process, across instances
/// sharing a root.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl FsBlobStore {
    /// Opens the store under `root`, creating the directory when missing.
    /// `Unavailable` when it cannot be created.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, PortError> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(root.join(LOCKS_DIR)).map_err(map_io)?;
        Ok(Self { inner: Arc::new(Inner { root, presigner: Presigner::new() }) })
    }

    /// The grant of a presigned request this store signed for `method`
    /// (`PUT` or `GET`), still valid; `Invalid` for any other token. The
    /// server checks it before it stores or serves the blob it names.
    pub fn redeem(&self, token: &str, method: &str) -> Result<Grant, PortError> {
        self.inner.presigner.redeem(token, method)
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

    /// Opens a blob file past its header, for [`BlobStore::open`] and [`BlobStore::get`].
    async fn reader(&self, key: &str) -> Result<FsBlobReader, PortError> {
        let path = self.path(key)?;
        let mut file = tokio::fs::File::open(&path).await.map_err(map_io)?;
        let length = file.metadata().await.map_err(map_io)?.len();
        let (content_type, header) = read_header(&mut file).await?;
        let meta = BlobMeta { size: length.saturating_sub(header), content_type };
        Ok(FsBlobReader { file, left: meta.size, meta })
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

/// Adds the keys of the blob files under `dir` (the folder `key`) to `out`,
/// depth first; skips temporary files. A missing `dir` holds nothing.
fn collect_keys(dir: &Path, key: &str, out: &mut Vec<String>) -> Result<(), PortError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(map_io(e)),
    };
    for entry in entries {
        let entry = entry.map_err(map_io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) else { continue };
        if entry.file_type().map_err(map_io)?.is_dir() {
            collect_keys(&entry.path(), &format!("{key}/{name}"), out)?;
        } else if let Some(blob) = name.strip_suffix(SUFFIX) {
            out.push(format!("{key}/{blob}"));
        }
    }
    Ok(())
}

/// Returns the header a blob file starts with.
fn header(content_type: &str) -> Vec<u8> {
    let mut header = MAGIC.to_vec();
    header.push(content_type.len() as u8);
    header.extend_from_slice(content_type.as_bytes());
    header
}

/// Returns a fresh temporary file name beside `path`, creating its directory.
fn temp_beside(path: &Path) -> Result<PathBuf, PortError> {
    let dir = path.parent().ok_or_else(|| PortError::new(PortErrorKind::Internal, "blob path without parent"))?;
    std::fs::create_dir_all(dir).map_err(map_io)?;
    let temp_id = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!(".{}.{temp_id}.tmp", std::process::id())))
}

/// Writes header and bytes to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, content_type: &str, bytes: &[u8]) -> Result<(), PortError> {
    let temp = temp_beside(path)?;
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&header(content_type))?;
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

/// Lock files serialising conditional puts ([`BlobStore::put_if`]), chosen
/// by a hash of the key: a fixed number, under `.locks` (keys cannot start
/// with a dot). They are advisory file locks, so they hold across processes
/// sharing the root (the server and a `tgdesk-fleet` beside it) as well as
/// between threads.
const PUT_LOCKS: u64 = 64;

/// Where the lock files live (made at open).
const LOCKS_DIR: &str = ".locks";

/// A blob file's version: its inode, modification time and length. Every
/// put renames a new file over the old one, so each gets a new version.
fn version_of(meta: &std::fs::Metadata) -> BlobVersion {
    use std::os::unix::fs::MetadataExt;
    BlobVersion(format!("{}-{}.{:09}-{}", meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len()))
}

/// The lock file of `key` under `root` (FNV-1a, stable across processes).
fn lock_file(root: &Path, key: &str) -> Result<std::fs::File, PortError> {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let path = root.join(LOCKS_DIR).join(format!("{:02}", hash % PUT_LOCKS));
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(map_io)
}

/// Reads a blob file and the version of what it read; `None` when missing.
fn read_versioned(path: &Path) -> Result<Option<(Vec<u8>, BlobVersion)>, PortError> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(map_io(e)),
    };
    // The open file stays the version read even if a put renames over the path.
    let version = version_of(&file.metadata().map_err(map_io)?);
    let mut all = Vec::new();
    file.read_to_end(&mut all).map_err(map_io)?;
    let corrupt = || PortError::new(PortErrorKind::Internal, format!("blob file {} is corrupt", path.display()));
    if all.len() < 5 || &all[..4] != MAGIC || all.len() < 5 + usize::from(all[4]) {
        return Err(corrupt());
    }
    let start = 5 + usize::from(all[4]);
    Ok(Some((all.split_off(start), version)))
}

/// [`BlobStore::put_if`]'s body: under the key's lock, compares the file's
/// version with `expected` and renames the new file over it.
fn put_if_blocking(
    root: &Path,
    key: &str,
    path: &Path,
    content_type: &str,
    bytes: &[u8],
    expected: Option<&BlobVersion>,
) -> Result<BlobVersion, PortError> {
    let lock = lock_file(root, key)?;
    lock.lock().map_err(map_io)?;
    let current = match std::fs::metadata(path) {
        Ok(meta) => Some(version_of(&meta)),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(map_io(e)),
    };
    if current.as_ref() != expected {
        return Err(PortError::conflict(format!("blob {key} changed since it was read")));
    }
    write_atomically(path, content_type, bytes)?;
    let written = version_of(&std::fs::metadata(path).map_err(map_io)?);
    // Released when `lock` closes.
    Ok(written)
}

/// A streamed write: a temporary file renamed over the blob by `finish`.
struct FsBlobWriter {
    file: tokio::fs::File,
    temp: PathBuf,
    path: PathBuf,
    meta: BlobMeta,
    finished: bool,
}

#[async_trait]
impl BlobWriter for FsBlobWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), PortError> {
        self.file.write_all(chunk).await.map_err(map_io)?;
        self.meta.size += chunk.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<BlobMeta, PortError> {
        self.file.flush().await.map_err(map_io)?;
        self.file.sync_all().await.map_err(map_io)?;
        let (temp, path) = (self.temp.clone(), self.path.clone());
        blocking(move || std::fs::rename(temp, path).map_err(map_io)).await?;
        self.finished = true;
        Ok(self.meta.clone())
    }
}

impl Drop for FsBlobWriter {
    fn drop(&mut self) {
        if !self.finished {
            // Unfinished: the blob stays as it was, and no temporary file is left.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A streamed read of a blob file, past its header.
struct FsBlobReader {
    file: tokio::fs::File,
    meta: BlobMeta,
    /// Bytes not read yet, so each chunk is allocated at its size (a small
    /// photo does not take a whole chunk's worth).
    left: u64,
}

#[async_trait]
impl BlobReader for FsBlobReader {
    fn meta(&self) -> &BlobMeta {
        &self.meta
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, PortError> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut chunk = vec![0; self.left.min(MAX_BLOB_CHUNK as u64) as usize];
        // A blob file is replaced by rename, never changed in place: a short
        // read means the file is damaged.
        self.file.read_exact(&mut chunk).await.map_err(map_io)?;
        self.left -= chunk.len() as u64;
        Ok(Some(chunk))
    }
}

/// Reads a blob file's header; returns the content type and the header's length.
async fn read_header(file: &mut tokio::fs::File) -> Result<(String, u64), PortError> {
    let corrupt = || PortError::new(PortErrorKind::Internal, "corrupt blob file header");
    let mut start = [0u8; 5];
    file.read_exact(&mut start).await.map_err(|_| corrupt())?;
    if &start[..4] != MAGIC {
        return Err(corrupt());
    }
    let mut content_type = vec![0u8; start[4] as usize];
    file.read_exact(&mut content_type).await.map_err(|_| corrupt())?;
    let content_type = String::from_utf8(content_type).map_err(|_| corrupt())?;
    Ok((content_type, 5 + u64::from(start[4])))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        let path = self.path(key)?;
        validate_content_type(content_type)?;
        let content_type = content_type.to_owned();
        blocking(move || write_atomically(&path, &content_type, &bytes)).await
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, PortError> {
        let path = self.path(key)?;
        blocking(move || read_versioned(&path)).await
    }

    async fn put_if(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        expected: Option<&BlobVersion>,
    ) -> Result<BlobVersion, PortError> {
        let path = self.path(key)?;
        validate_content_type(content_type)?;
        let (root, key, content_type, expected) =
            (self.inner.root.clone(), key.to_owned(), content_type.to_owned(), expected.cloned());
        blocking(move || put_if_blocking(&root, &key, &path, &content_type, &bytes, expected.as_ref())).await
    }

    async fn create(&self, key: &str, content_type: &str) -> Result<Box<dyn BlobWriter>, PortError> {
        let path = self.path(key)?;
        validate_content_type(content_type)?;
        let temp = {
            let path = path.clone();
            blocking(move || temp_beside(&path)).await?
        };
        let file = tokio::fs::File::create(&temp).await.map_err(map_io)?;
        let meta = BlobMeta { size: 0, content_type: content_type.to_owned() };
        // From here on, dropping the writer removes the temporary file.
        let mut writer = FsBlobWriter { file, temp, path, meta, finished: false };
        writer.file.write_all(&header(content_type)).await.map_err(map_io)?;
        Ok(Box::new(writer))
    }

    async fn open(&self, key: &str) -> Result<Box<dyn BlobReader>, PortError> {
        Ok(Box::new(self.reader(key).await?))
    }

    async fn get(&self, key: &str) -> Result<(Vec<u8>, BlobMeta), PortError> {
        let mut reader = self.reader(key).await?;
        let mut bytes = Vec::with_capacity(reader.left as usize);
        reader.file.read_to_end(&mut bytes).await.map_err(map_io)?;
        if bytes.len() as u64 != reader.meta.size {
            return Err(PortError::new(PortErrorKind::Internal, format!("blob {key} changed while read")));
        }
        Ok((bytes, reader.meta))
    }

    async fn list(&self, folder: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>, PortError> {
        validate_blob_key(folder)?;
        let mut dir = self.inner.root.clone();
        dir.extend(folder.split('/'));
        let (folder, after) = (folder.to_owned(), after.map(str::to_owned));
        let limit = limit.clamp(1, MAX_BLOB_LIST);
        blocking(move || {
            let mut keys = Vec::new();
            collect_keys(&dir, &folder, &mut keys)?;
            keys.retain(|k| after.as_ref().is_none_or(|a| k > a));
            keys.sort_unstable();
            keys.truncate(limit);
            Ok(keys)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(map_io(e)),
            _ => Ok(()),
        })
        .await
    }

    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError> {
        validate_blob_key(key)?;
        validate_content_type(content_type)?;
        validate_presign(expires_in)?;
        let grant =
            Grant { method: "PUT".into(), key: key.into(), content_type: Some(content_type.into()), size: Some(size) };
        self.inner.presigner.sign(grant, expires_in)
    }

    async fn presign_download(&self, key: &str, expires_in: Duration) -> Result<PresignedRequest, PortError> {
        validate_blob_key(key)?;
        validate_presign(expires_in)?;
        let grant = Grant { method: "GET".into(), key: key.into(), content_type: None, size: None };
        self.inner.presigner.sign(grant, expires_in)
    }
}
