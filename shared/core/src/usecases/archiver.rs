//! The archiver: moves messages older than the hot window from the store to
//! the cold archive. Write first, remove second: a crash between the two
//! leaves the messages in both places, the next run writes them again (the
//! archive's writes are idempotent) and then removes them, so no message
//! is lost and none is shown twice (history reads skip archived copies of
//! messages still hot). [`archive_messages`] takes a plain list, so the
//! AWS archiver (fed by the TTL's stream REMOVE records) reuses it.

use crate::domain::{AccountId, Message, TenantId};
use crate::ports::{Archive, MessageExpiry, PortError, MAX_ARCHIVE_BATCH, MAX_EXPIRED_BATCH};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one archiver run did, and where its time went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiveRun {
    /// Messages written to the archive (again, after a crash).
    pub archived: usize,
    /// Messages removed from the store.
    pub removed: usize,
    /// Reading expired messages from the store.
    pub reading: Duration,
    /// Writing them to the archive.
    pub writing: Duration,
    /// Removing them from the store.
    pub removing: Duration,
}

impl ArchiveRun {
    /// Adds another run's counts and times to these.
    pub fn add(&mut self, other: &ArchiveRun) {
        self.archived += other.archived;
        self.removed += other.removed;
        self.reading += other.reading;
        self.writing += other.writing;
        self.removing += other.removing;
    }
}

/// Dialogs written at once: an archive write is a few object-store round
/// trips (S3: tens of milliseconds each), and a stream batch spans up to a
/// thousand dialogs.
pub const ARCHIVE_WRITES_IN_FLIGHT: usize = 16;

/// Writes messages of any tenants and dialogs to the archive, one write per
/// dialog (in chunks of [`MAX_ARCHIVE_BATCH`]), several dialogs at once;
/// returns how many it wrote. Idempotent: a redelivered list leaves one copy
/// of each message. On a failure the other writes finish or fail too, and
/// the first error is returned: the caller writes the whole list again.
pub async fn archive_messages(archive: &dyn Archive, messages: &[(TenantId, Message)]) -> Result<usize, PortError> {
    let mut by_dialog: BTreeMap<(&TenantId, &AccountId, i64), Vec<Message>> = BTreeMap::new();
    for (tenant, m) in messages {
        by_dialog.entry((tenant, &m.account_id, m.peer)).or_default().push(m.clone());
    }
    let mut writes: Vec<(&TenantId, &[Message])> = Vec::new();
    for ((tenant, _, _), dialog) in &by_dialog {
        writes.extend(dialog.chunks(MAX_ARCHIVE_BATCH).map(|chunk| (*tenant, chunk)));
    }
    for group in writes.chunks(ARCHIVE_WRITES_IN_FLIGHT) {
        let mut in_flight = Vec::with_capacity(group.len());
        for (tenant, chunk) in group {
            in_flight.push(archive.write(tenant, chunk));
        }
        for written in futures::future::join_all(in_flight).await {
            written?;
        }
    }
    Ok(messages.len())
}

/// Moves expired messages from a store that keeps them (SQLite) to the archive.
pub struct Archiver {
    /// Where archived messages go.
    archive: Arc<dyn Archive>,
    /// The store's expiry side.
    expiry: Arc<dyn MessageExpiry>,
    /// Messages dated more than this before now are moved.
    hot_window: chrono::Duration,
}

impl Archiver {
    /// Returns an archiver keeping `hot_window` of messages in the store.
    pub fn new(archive: Arc<dyn Archive>, expiry: Arc<dyn MessageExpiry>, hot_window: Duration) -> Self {
        let hot_window = chrono::Duration::from_std(hot_window).unwrap_or(chrono::Duration::MAX);
        Self { archive, expiry, hot_window }
    }

    /// Moves one batch of at most `limit` messages dated before `now` minus
    /// the hot window: writes them, then removes them from the store.
    pub async fn run_batch(&self, now: DateTime<Utc>, limit: usize) -> Result<ArchiveRun, PortError> {
        let before = now.checked_sub_signed(self.hot_window).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let started = Instant::now();
        let expired = self.expiry.expired_messages(before, limit).await?;
        let reading = started.elapsed();
        if expired.is_empty() {
            return Ok(ArchiveRun { reading, ..ArchiveRun::default() });
        }
        let started = Instant::now();
        let archived = archive_messages(&*self.archive, &expired).await?;
        let writing = started.elapsed();
        let started = Instant::now();
        let removed = self.expiry.remove_archived(&expired).await?;
        Ok(ArchiveRun { archived, removed, reading, writing, removing: started.elapsed() })
    }

    /// Moves every expired message, batch by batch, until none is left (or a
    /// batch removes nothing: its messages changed meanwhile, and the next
    /// run takes their new versions).
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<ArchiveRun, PortError> {
        let mut total = ArchiveRun::default();
        loop {
            let run = self.run_batch(now, MAX_EXPIRED_BATCH).await?;
            total.add(&run);
            if run.archived < MAX_EXPIRED_BATCH || run.removed == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs every `every` until `shutdown` completes; a failed run is logged
    /// and retried at the next tick.
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.run_once(Utc::now()).await {
                Ok(run) if run.archived > 0 => {
                    tracing::info!(archived = run.archived, removed = run.removed, "archiver moved expired messages")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "archiver run failed; retried at the next tick"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
