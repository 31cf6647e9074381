//! Secrets the server makes or is given: the JWT key file, generated
//! passwords, minimum lengths of configured secrets, and the data dir's
//! permissions (keys, databases and queue files, which hold login codes,
//! are for the server's user only).

use anyhow::{bail, Context};
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use std::io::Write;
use std::path::Path;

pub use tgdesk_core::auth::{MIN_JWT_SECRET, MIN_OPERATOR_TOKEN};
/// Length of the generated key file's text: 32 random bytes in hex.
const KEY_FILE_HEX: usize = 64;

/// Returns the secret stored at `path`, creating 32 random bytes (hex, mode
/// 0600) on first use. A file that is not 64 hex characters (empty,
/// truncated by a full disk, edited) is an error, never a short key.
pub fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let key = text.trim();
        if key.len() != KEY_FILE_HEX || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "{} holds {} characters, not the {KEY_FILE_HEX} hex characters of a key; delete it to make a new \
                 one (every token issued before is then revoked)",
                path.display(),
                key.len()
            );
        }
        return Ok(key.as_bytes().to_vec());
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(hex.as_bytes())?;
    file.sync_all()?;
    Ok(hex.into_bytes())
}

/// Refuses a configured secret shorter than `min` (the core's rule).
pub fn ensure_min_len(name: &str, secret: &str, min: usize) -> anyhow::Result<()> {
    tgdesk_core::auth::ensure_min_len(name, secret, min).map_err(anyhow::Error::msg)
}

/// Returns a fresh 20-character alphanumeric password.
pub fn random_password() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect()
}

/// Creates the data dir for the server's user only (0700) and makes every
/// file the process creates from now on 0600 (umask 077): SQLite's
/// databases, WAL and shared-memory files, the queue's, and stored files.
#[cfg(unix)]
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    // A data dir made by an older version, or by hand, is tightened too.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict data dir {}", dir.display()))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let mode = entry.metadata()?.permissions().mode();
            if mode & 0o077 != 0 && !is_key_file(&entry.path()) {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode & 0o700))?;
            }
        }
    }
    Ok(())
}

/// Creates the data dir (no permissions to set where there are no modes).
#[cfg(not(unix))]
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create data dir {}", dir.display()))
}

/// Names of the key files: a copy of them is a copy of every session and token.
const KEY_FILES: [&str; 2] = ["jwt.secret", "session.key"];

fn is_key_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| KEY_FILES.contains(&n))
}

/// Refuses to start when a key file in `dir` may be read by the group or
/// others: it may have been copied already, so it is for the operator to
/// look, rotate and `chmod 600`, not for the server to fix silently.
#[cfg(unix)]
pub fn ensure_keys_private(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for name in KEY_FILES {
        let path = dir.join(name);
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by others (mode {mode:o}); it may have been copied: rotate it if so, then \
                 `chmod 600` it",
                path.display()
            );
        }
    }
    Ok(())
}

/// Nothing to check where files have no modes.
#[cfg(not(unix))]
pub fn ensure_keys_private(_: &Path) -> anyhow::Result<()> {
    Ok(())
}
