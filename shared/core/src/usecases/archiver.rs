//! The archiver: moves messages older than the hot window from the store to
//! the cold archive. Write first, remove second: a crash between the two
//! leaves the messages in both places, the next run writes them again (the
//! archive's writes are idempotent) and then removes them, so no message
//! is lost and none is shown twice (history reads skip archived copies of
//! messages still hot). [`archive_messages`] takes a plain list, so the
//! AWS archiver (fed by the TTL's stream REMOVE records) reuses it.

use crate::domain::{AccountId, Message, TenantId};
use crate::ports::{Archive, DialogKey, MessageExpiry, PortError, MAX_ARCHIVE_BATCH, MAX_EXPIRED_BATCH};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one archiver run did, and where its time went (in a pipelined run
/// the phases overlap, so their times add up to more than the run took).
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

/// Messages with their tenants, as the store hands them out.
type Batch = Vec<(TenantId, Message)>;

/// Runs `work`, returning its output and how long it took.
async fn timed<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = work.await;
    (out, started.elapsed())
}

/// Moves expired messages from a store that keeps them (SQLite) to the archive.
pub struct Archiver {
    /// Where archived messages go.
    archive: Arc<dyn Archive>,
    /// The store's expiry side.
    expiry: Arc<dyn MessageExpiry>,
    /// Messages dated more than this before now are moved.
    hot_window: chrono::Duration,
    /// Most messages of one batch of [`Self::run_once`].
    batch: usize,
}

impl Archiver {
    /// Returns an archiver keeping `hot_window` of messages in the store.
    pub fn new(archive: Arc<dyn Archive>, expiry: Arc<dyn MessageExpiry>, hot_window: Duration) -> Self {
        let hot_window = chrono::Duration::from_std(hot_window).unwrap_or(chrono::Duration::MAX);
        Self { archive, expiry, hot_window, batch: MAX_EXPIRED_BATCH }
    }

    /// Sets the most messages of one batch of [`Self::run_once`] (clamped to
    /// 1..=[`MAX_EXPIRED_BATCH`]); small batches put several in flight in
    /// tests.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.clamp(1, MAX_EXPIRED_BATCH);
        self
    }

    /// Messages dated before this are expired at `now`.
    fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.hot_window).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Moves one batch of at most `limit` messages dated before `now` minus
    /// the hot window: writes them, then removes them from the store.
    pub async fn run_batch(&self, now: DateTime<Utc>, limit: usize) -> Result<ArchiveRun, PortError> {
        let (read, reading) = timed(self.expiry.expired_messages(self.cutoff(now), limit, &HashSet::new())).await;
        let expired = read?;
        if expired.is_empty() {
            return Ok(ArchiveRun { reading, ..ArchiveRun::default() });
        }
        let (archived, writing) = timed(archive_messages(&*self.archive, &expired)).await;
        let archived = archived?;
        let (removed, removing) = timed(self.expiry.remove_archived(&expired)).await;
        Ok(ArchiveRun { archived, removed: removed?, reading, writing, removing })
    }

    /// Moves every expired message until none is left; see [`Self::run_once_with`].
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<ArchiveRun, PortError> {
        self.run_once_with(now, |_| {}).await
    }

    /// Moves every expired message until none is left, telling `progress`
    /// after each step. Three stages overlap, each on its own resource: while
    /// one batch's rows are removed (the store's writer), the next batch is
    /// written to the archive and the one after is read (a store reader).
    /// A batch is removed only once its write finished, so a crash anywhere
    /// loses nothing; reads pass over the dialogs in flight, so no dialog is
    /// in two stages at once. Stops early when a batch removes nothing: its
    /// messages changed meanwhile, and the next run takes their new versions.
    pub async fn run_once_with(
        &self,
        now: DateTime<Utc>,
        mut progress: impl FnMut(&ArchiveRun),
    ) -> Result<ArchiveRun, PortError> {
        let before = self.cutoff(now);
        let mut total = ArchiveRun::default();
        let (mut to_write, mut to_remove): (Batch, Batch) = (Vec::new(), Vec::new());
        let mut more = true;
        while more || !to_write.is_empty() || !to_remove.is_empty() {
            let in_flight: HashSet<DialogKey> =
                to_write.iter().chain(&to_remove).map(|(t, m)| (t.clone(), m.account_id.clone(), m.peer)).collect();
            let read = async {
                match more {
                    true => timed(self.expiry.expired_messages(before, self.batch, &in_flight)).await,
                    false => (Ok(Vec::new()), Duration::ZERO),
                }
            };
            let write = async {
                match to_write.is_empty() {
                    true => (Ok(0), Duration::ZERO),
                    false => timed(archive_messages(&*self.archive, &to_write)).await,
                }
            };
            let remove = async {
                match to_remove.is_empty() {
                    true => (Ok(0), Duration::ZERO),
                    false => timed(self.expiry.remove_archived(&to_remove)).await,
                }
            };
            let ((read, reading), (archived, writing), (removed, removing)) = tokio::join!(read, write, remove);
            let step = ArchiveRun { archived: archived?, removed: removed?, reading, writing, removing };
            let fresh = read?;
            let stuck = !to_remove.is_empty() && step.removed == 0;
            if stuck || (fresh.is_empty() && in_flight.is_empty()) {
                more = false;
            }
            total.add(&step);
            progress(&step);
            to_remove = std::mem::replace(&mut to_write, fresh);
        }
        Ok(total)
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
