//! The archiver: moves messages older than the hot window from the store to
//! the cold archive. Write first, remove second: a crash between the two
//! leaves the messages in both places, the next run writes them again (the
//! archive's writes are idempotent) and then removes them, so no message
//! is lost and none is shown twice (history reads skip archived copies of
//! messages still hot). The store removes expired messages a slice at a
//! time (`ports::expiry`). [`archive_messages`] takes a plain list, so the
//! AWS archiver (fed by the TTL's stream REMOVE records) reuses it.

use crate::domain::{AccountId, Message, TenantId};
use crate::ports::{
    Archive, ExpiredKey, ExpiryFinish, ExpirySlice, MessageExpiry, PortError, MAX_ARCHIVE_BATCH, MAX_EXPIRED_BATCH,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
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
    /// Most messages of one read.
    batch: usize,
}

/// Rounds of changes a run archives before it leaves a slice to the next
/// run (changes keep arriving in it).
const FINISH_ROUNDS: usize = 20;

/// The key a read resumes after.
fn key_of((tenant, m): &(TenantId, Message)) -> ExpiredKey {
    (tenant.clone(), m.account_id.clone(), m.peer, m.id)
}

impl Archiver {
    /// Returns an archiver keeping `hot_window` of messages in the store.
    pub fn new(archive: Arc<dyn Archive>, expiry: Arc<dyn MessageExpiry>, hot_window: Duration) -> Self {
        let hot_window = chrono::Duration::from_std(hot_window).unwrap_or(chrono::Duration::MAX);
        Self { archive, expiry, hot_window, batch: MAX_EXPIRED_BATCH }
    }

    /// Sets the most messages of one read (clamped to
    /// 1..=[`MAX_EXPIRED_BATCH`]); small reads split dialogs in tests.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.clamp(1, MAX_EXPIRED_BATCH);
        self
    }

    /// Messages dated before this are expired at `now`.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.hot_window).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Moves every expired message; see [`Self::run_once_with`].
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<ArchiveRun, PortError> {
        self.run_once_with(now, |_| {}).await
    }

    /// Moves every message dated before `now` minus the hot window, telling
    /// `progress` after each step: the store sets them aside as a slice, the
    /// archiver writes all of it (reading the next batch while the last one
    /// is written), then the store drops the slice, once the changes it
    /// noted meanwhile are written too. A crash anywhere leaves the slice in
    /// the store and the next run writes it again (writes are idempotent).
    pub async fn run_once_with(
        &self,
        now: DateTime<Utc>,
        mut progress: impl FnMut(&ArchiveRun),
    ) -> Result<ArchiveRun, PortError> {
        let (slice, reading) = timed(self.expiry.begin_expiry(self.cutoff(now))).await;
        let slice = slice?;
        let mut total = ArchiveRun { reading, ..ArchiveRun::default() };
        if slice.is_empty() {
            return Ok(total);
        }
        total.add(&self.write_slice(&slice, &mut progress).await?);
        total.add(&self.finish_slice(&slice, &mut progress).await?);
        Ok(total)
    }

    /// Writes every message of `slice` to the archive, removing none.
    pub async fn write_slice(
        &self,
        slice: &ExpirySlice,
        mut progress: impl FnMut(&ArchiveRun),
    ) -> Result<ArchiveRun, PortError> {
        let mut total = ArchiveRun::default();
        let (mut after, mut to_write, mut more): (Option<ExpiredKey>, Batch, bool) = (None, Vec::new(), true);
        while more || !to_write.is_empty() {
            let read = async {
                match more {
                    true => timed(self.expiry.expired_messages(slice, after.as_ref(), self.batch)).await,
                    false => (Ok(Vec::new()), Duration::ZERO),
                }
            };
            let write = async {
                match to_write.is_empty() {
                    true => (Ok(0), Duration::ZERO),
                    false => timed(archive_messages(&*self.archive, &to_write)).await,
                }
            };
            let ((read, reading), (archived, writing)) = tokio::join!(read, write);
            let step = ArchiveRun { archived: archived?, reading, writing, ..ArchiveRun::default() };
            let fresh = read?;
            more = more && fresh.len() >= self.batch;
            after = fresh.last().map(key_of).or(after);
            total.add(&step);
            progress(&step);
            to_write = fresh;
        }
        Ok(total)
    }

    /// Drops `slice` from the store, first writing what changed or arrived
    /// in it since it was read. Leaves it for the next run when search has
    /// yet to index part of it, or when changes keep coming.
    pub async fn finish_slice(
        &self,
        slice: &ExpirySlice,
        mut progress: impl FnMut(&ArchiveRun),
    ) -> Result<ArchiveRun, PortError> {
        let (mut total, mut upto) = (ArchiveRun::default(), 0);
        for _ in 0..FINISH_ROUNDS {
            let (finish, removing) = timed(self.expiry.finish_expiry(slice, upto)).await;
            let mut step = ArchiveRun { removing, ..ArchiveRun::default() };
            let done = match finish? {
                ExpiryFinish::Removed(n) => {
                    step.removed = n;
                    true
                }
                ExpiryFinish::Changed { messages, upto: next } => {
                    let (archived, writing) = timed(archive_messages(&*self.archive, &messages)).await;
                    (step.archived, step.writing, upto) = (archived?, writing, next);
                    false
                }
                ExpiryFinish::NotYet => true,
            };
            total.add(&step);
            progress(&step);
            if done {
                break;
            }
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
