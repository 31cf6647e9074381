//! `archive`: fills the SQLite store with messages older than the hot
//! window (10 million by default: 50,000 dialogs of 200 messages over 30
//! days, realistic mixed-language texts), runs the archiver until the store
//! holds none of them (the job the server runs: batches of whole dialogs
//! read through the date index, written to the archive and removed from
//! the store, a batch in each of the three stages at once),
//! then reads cold history pages from concurrent clients.
//!
//! Reports archive throughput, bytes per message in the store and in the
//! archive, and the latency of a cold page (50 messages, p50/p99), both the
//! first page of a dialog and a page further back.

use crate::search::{dir_size, sample_text};
use crate::stats;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::domain::{Account, AccountId, AccountStatus, Message, Phone, TenantId};
use tgdesk_core::ports::{Archive, ChangeFeed, Directory, MessageWriter};
use tgdesk_core::usecases::Archiver;
use tgdesk_local::{FsBlobStore, SqliteStore};

/// The shape of a run.
pub struct Shape {
    /// A store filled by an earlier run of the same shape, copied instead
    /// of filled again (saved there when missing): for experiments.
    pub filled: Option<PathBuf>,
    pub messages: usize,
    pub dialogs: usize,
    pub clients: usize,
    pub pages_per_client: usize,
}

/// Messages per history page, as the web app asks.
const PAGE: usize = 50;
/// Days the messages spread over.
const DAYS: i64 = 30;
/// Messages stored per ingest call.
const INGEST_BATCH: usize = 5_000;

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} ({{per_sec}}, eta {{eta}})"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The file beside a saved store naming its accounts.
const ACCOUNTS_FILE: &str = "accounts.json";

/// Copies the store's files (`store.db` and its WAL, the store closed) from `from` to `to`.
fn copy_store(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("store.db") {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Keeps a copy of a filled store for later runs of the same shape.
fn save(dir: &Path, saved: &Path, accounts: &[AccountId]) -> anyhow::Result<()> {
    // The store's checkpointer lets go of the file within a moment of the store's drop.
    std::thread::sleep(Duration::from_secs(2));
    copy_store(dir, saved)?;
    std::fs::write(saved.join(ACCOUNTS_FILE), serde_json::to_vec(accounts)?)?;
    Ok(())
}

/// Copies a saved store into `dir`; returns its accounts.
fn restore(saved: &Path, dir: &Path) -> anyhow::Result<Vec<AccountId>> {
    copy_store(saved, dir)?;
    Ok(serde_json::from_slice(&std::fs::read(saved.join(ACCOUNTS_FILE))?)?)
}

/// `n` offline accounts of `tenant`, unowned, with phones of their own.
pub(crate) fn accounts_of(tenant: &TenantId, n: usize) -> Vec<Account> {
    let now = chrono::Utc::now();
    (0..n)
        .map(|i| Account {
            id: AccountId::generate(),
            tenant: tenant.clone(),
            phone: Phone::parse(&format!("+1555{i:07}")).expect("a phone"),
            display_name: None,
            status: AccountStatus::Offline,
            owner_id: None,
            team_id: None,
            tags: Default::default(),
            groups: Default::default(),
            session: None,
            created_at: now,
            updated_at: now,
        })
        .collect()
}

/// Fills the store: `shape.dialogs` dialogs of `per_dialog` messages over
/// [`DAYS`] days, two to three months old; returns the accounts and the
/// seconds it took.
async fn fill(
    store: &SqliteStore,
    tenant: &TenantId,
    shape: &Shape,
    per_dialog: usize,
    total: usize,
) -> anyhow::Result<(Vec<AccountId>, f64)> {
    let stored = accounts_of(tenant, shape.dialogs.div_ceil(10));
    let accounts: Vec<AccountId> = stored.iter().map(|a| a.id.clone()).collect();
    for chunk in stored.chunks(1_000) {
        store.put_accounts(tenant, chunk).await?;
    }
    let start = chrono::Utc::now() - chrono::Duration::days(DAYS * 3);
    let step_ms = DAYS * 86_400_000 / per_dialog as i64;

    // Fill: dialogs write in turns, ids in date order within each dialog.
    let mut rng = StdRng::seed_from_u64(22);
    let fill = bar(total as u64, "store  ");
    let filling = Instant::now();
    let mut batch = Vec::with_capacity(INGEST_BATCH);
    for round in 0..per_dialog {
        for d in 0..shape.dialogs {
            let peer = 1_000 + (d % 10) as i64;
            let date = start + chrono::Duration::milliseconds(round as i64 * step_ms + (d as i64 % 1_000));
            batch.push(Message {
                account_id: accounts[d / 10].clone(),
                peer,
                id: round as i64 + 1,
                sender_id: Some(peer),
                sender_name: Some(format!("Customer {peer}")),
                outgoing: rng.gen_range(0..3) == 0,
                date,
                text: sample_text(&mut rng),
                entities: json!([]),
                media: None,
                reply_to: None,
                edited_at: None,
                deleted: false,
                tags: Default::default(),
            });
            if batch.len() == INGEST_BATCH {
                store.ingest_messages(tenant, &batch).await?;
                fill.inc(batch.len() as u64);
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        store.ingest_messages(tenant, &batch).await?;
        fill.inc(batch.len() as u64);
    }
    fill.finish();
    let fill_seconds = filling.elapsed().as_secs_f64();
    // As the indexer would: the feed reported every message, so all may go.
    store.trim(&store.feed_head().await?).await?;
    Ok((accounts, fill_seconds))
}

/// Runs the scenario.
pub async fn run(shape: &Shape) -> anyhow::Result<Value> {
    tgdesk_local::page_cache::install();
    // Under target/: the store alone takes gigabytes, more than a tmpfs may hold.
    std::fs::create_dir_all("target")?;
    let dir = tempfile::tempdir_in("target")?;
    let store_path = dir.path().join("store.db");
    let tenant = TenantId::parse("bench")?;
    let per_dialog = (shape.messages / shape.dialogs).max(1);
    let total = per_dialog * shape.dialogs;
    let saved = shape.filled.as_ref().filter(|saved| saved.join(ACCOUNTS_FILE).exists());
    let (accounts, fill_seconds) = match saved {
        Some(saved) => (restore(saved, dir.path())?, 0.0),
        None => {
            let store = Arc::new(SqliteStore::open(&store_path)?);
            let filled = fill(&store, &tenant, shape, per_dialog, total).await?;
            drop(store);
            if let Some(saved) = &shape.filled {
                save(dir.path(), saved, &filled.0)?;
            }
            filled
        }
    };
    let store = Arc::new(SqliteStore::open(&store_path)?);
    let archive_dir = dir.path().join("archive");
    let archive = Arc::new(BlobArchive::new(Arc::new(FsBlobStore::open(&archive_dir)?)));
    let store_bytes = dir_size(dir.path()) - dir_size(&archive_dir);

    // Archive everything: the messages are two to three months old.
    let archiver = Archiver::new(archive.clone(), store.clone(), Duration::from_secs(30 * 86_400));
    let moving = bar(total as u64, "archive");
    let (started, cpu_before) = (Instant::now(), stats::cpu_seconds());
    let now = chrono::Utc::now();
    let total_run = archiver.run_once_with(now, |step| moving.inc(step.archived as u64)).await?;
    let archived = total_run.removed;
    moving.finish();
    let archive_seconds = started.elapsed().as_secs_f64();
    let archive_cpu = stats::cpu_seconds() - cpu_before;
    anyhow::ensure!(archived == total, "archived {archived} of {total}");
    let usage = archive.usage(&tenant).await?;
    let archive_disk = dir_size(&archive_dir);

    // Cold pages from concurrent clients: a dialog's newest page, and a page
    // further back (below a random id).
    let mut handles = Vec::new();
    for c in 0..shape.clients {
        let (archive, accounts, tenant) = (archive.clone(), accounts.clone(), tenant.clone());
        let (dialogs, pages) = (shape.dialogs, shape.pages_per_client);
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(c as u64);
            let (mut first, mut deeper) = (Vec::with_capacity(pages), Vec::with_capacity(pages));
            for i in 0..pages {
                let d = rng.gen_range(0..dialogs);
                let (account, peer) = (&accounts[d / 10], 1_000 + (d % 10) as i64);
                let before = (i % 2 == 1).then(|| rng.gen_range(PAGE as i64..=per_dialog as i64));
                let t = Instant::now();
                let page = archive.list(&tenant, account, peer, before, PAGE).await?;
                let took = t.elapsed();
                anyhow::ensure!(!page.is_empty(), "an empty cold page");
                if before.is_some() {
                    deeper.push(took)
                } else {
                    first.push(took)
                }
            }
            Ok::<_, anyhow::Error>((first, deeper))
        }));
    }
    let reading = Instant::now();
    let (mut first, mut deeper) = (Vec::new(), Vec::new());
    for handle in handles {
        let (f, d) = handle.await??;
        first.extend(f);
        deeper.extend(d);
    }
    let read_seconds = reading.elapsed().as_secs_f64();
    let pages = first.len() + deeper.len();
    let mut all: Vec<Duration> = first.iter().chain(deeper.iter()).copied().collect();

    Ok(json!({
        "messages": total,
        "dialogs": shape.dialogs,
        "messages_per_dialog": per_dialog,
        "fill_seconds": fill_seconds,
        "archive_seconds": archive_seconds,
        "archive_messages_per_second": total as f64 / archive_seconds,
        "archive_cpu_us_per_message": archive_cpu * 1e6 / total as f64,
        "archive_phase_seconds": {
            "read_store": total_run.reading.as_secs_f64(),
            "write_archive": total_run.writing.as_secs_f64(),
            "remove_from_store": total_run.removing.as_secs_f64(),
        },
        "store_bytes_per_message": store_bytes as f64 / total as f64,
        "archive_bytes_per_message": usage.bytes as f64 / total as f64,
        "archive_disk_bytes_per_message": archive_disk as f64 / total as f64,
        "archive_objects": usage.objects,
        "cold_page": {
            "messages": PAGE,
            "clients": shape.clients,
            "pages_per_second": pages as f64 / read_seconds,
            "all": stats::latency(&mut all),
            "first_page": stats::latency(&mut first),
            "deeper_page": stats::latency(&mut deeper),
        },
        "peak_rss_mib": stats::peak_rss_mib(),
    }))
}
