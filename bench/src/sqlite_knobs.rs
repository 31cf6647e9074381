//! Process-wide SQLite limits for A/B runs of the store's settings without
//! changing the store: `SQLITE_CONFIG_MMAP_SIZE` caps every connection's
//! `PRAGMA mmap_size`, so `--sqlite-mmap-max 0` runs a scenario as if no
//! connection mapped the database file.

/// Caps the memory map of every SQLite connection opened later at `max_bytes`.
/// Must run before the first connection is opened.
pub fn cap_mmap(max_bytes: i64) -> anyhow::Result<()> {
    // SAFETY: called once at start, before any connection exists (sqlite3_config
    // is only allowed then); SQLITE_CONFIG_MMAP_SIZE takes exactly two
    // sqlite3_int64 varargs, the default and the maximum map size.
    let rc = unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MMAP_SIZE, max_bytes, max_bytes) };
    anyhow::ensure!(rc == rusqlite::ffi::SQLITE_OK, "sqlite3_config(MMAP_SIZE) failed with code {rc}");
    Ok(())
}
