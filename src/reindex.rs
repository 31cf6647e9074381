//! `tgdesk reindex`: rebuilds the local search index from every stored
//! message, with a progress bar. The server must be stopped (the index allows
//! one writer; a running server holds it). Changes made after the rebuild
//! started are replayed from the change feed by the next server start.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use tgdesk_core::ports::SearchIndex;
use tgdesk_local::{SqliteStore, TantivyIndex};

/// Messages read and indexed at once.
const CHUNK: usize = 5_000;
/// Messages applied between two commits (a commit flushes the segment).
const COMMIT_EVERY: u64 = 500_000;

/// Rebuilds the index under `data_dir`; returns how many messages it indexed.
pub async fn reindex(data_dir: &Path) -> anyhow::Result<u64> {
    let store = SqliteStore::open(data_dir.join("tgdesk.db")).context("cannot open the store")?;
    let index = TantivyIndex::open(&data_dir.join("search"))
        .context("cannot open the search index (stop the server first: it holds the index)")?;
    // The feed position before the scan: whatever comes after is replayed later.
    let head = store.feed_head().await?;
    let total = store.count_messages().await?;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{spinner} indexed {pos}/{len} messages ({per_sec}, eta {eta}) {wide_bar}")
            .context("progress template")?,
    );
    index.clear().await?;
    let (mut after, mut done, mut uncommitted) = (0, 0_u64, 0_u64);
    loop {
        let (changes, last) = store.scan_messages(after, CHUNK).await?;
        let Some(last) = last else { break };
        index.apply(&changes).await?;
        after = last;
        done += changes.len() as u64;
        uncommitted += changes.len() as u64;
        bar.set_position(done);
        if uncommitted >= COMMIT_EVERY {
            // An interrupted rebuild restarts from scratch: no position yet.
            index.commit(None).await?;
            uncommitted = 0;
        }
    }
    index.commit(Some(&head)).await?;
    bar.finish();
    Ok(done)
}
