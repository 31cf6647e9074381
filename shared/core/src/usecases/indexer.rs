//! The indexer: reads the store's change feed from the index's committed
//! position, applies the changes and commits them with the position they
//! reached. Commits are batched (an index commit costs a flush), so search
//! trails the store by at most about one commit interval under load. A
//! failure anywhere starts over from the committed position: changes are
//! replayed, never skipped, and replaying is harmless.

use crate::ports::{ChangeFeed, MessageChange, PortError, SearchIndex};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Changes read from the feed at once.
pub const FEED_BATCH: usize = 5_000;
/// Changes applied before a commit is due regardless of time.
pub const COMMIT_EVERY: usize = 50_000;
/// Longest time applied changes wait for their commit.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(500);
/// Pause when the feed is drained.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// Pause after a failure, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What the indexer has done, for metrics and health.
#[derive(Debug, Default)]
pub struct IndexerStats {
    /// Milliseconds between the oldest change not yet searchable being
    /// stored and now (0 when search has caught up).
    pub lag_ms: AtomicU64,
    /// Changes applied since start.
    pub applied: AtomicU64,
    /// Commits made since start.
    pub commits: AtomicU64,
    /// Failures since start (each one retried).
    pub failures: AtomicU64,
}

/// Applies changes delivered from outside (the `indexer` Lambda's stream
/// batches, whose position the event source mapping keeps) and makes them
/// searchable: one commit per batch, with no position of its own.
pub async fn index_changes(index: &dyn SearchIndex, changes: &[MessageChange]) -> Result<(), PortError> {
    if changes.is_empty() {
        return Ok(());
    }
    index.apply(changes).await?;
    index.commit(None).await
}

/// Moves changes from a feed into an index.
pub struct Indexer {
    feed: Arc<dyn ChangeFeed>,
    index: Arc<dyn SearchIndex>,
    stats: Arc<IndexerStats>,
}

/// Where a run stands between two feed reads.
struct Run {
    /// The feed position the index has applied up to.
    position: Option<String>,
    /// Changes applied and not yet committed.
    dirty: usize,
    /// The position moved past records that changed nothing (a stream's
    /// TTL deletes) since the last commit: worth committing, or they are
    /// read again after every restart.
    moved: bool,
    /// When the oldest change not yet committed was stored.
    oldest_pending: Option<DateTime<Utc>>,
    /// When the last commit happened.
    committed_at: Instant,
}

impl Indexer {
    /// An indexer from `feed` into `index`.
    pub fn new(feed: Arc<dyn ChangeFeed>, index: Arc<dyn SearchIndex>) -> Self {
        Self { feed, index, stats: Arc::default() }
    }

    /// Its counters (shared: read them while it runs).
    pub fn stats(&self) -> Arc<IndexerStats> {
        self.stats.clone()
    }

    /// Runs until `stop` resolves. Changes applied but not yet committed
    /// then are read again from the feed at the next start.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let outcome = tokio::select! {
                outcome = self.run_from_committed() => outcome,
                () = &mut stop => return,
            };
            if let Err(e) = outcome {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, retry_in = ?backoff, "indexer failed; it starts over from the committed position");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut stop => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// Indexes everything the feed holds now, commits, and returns how many
    /// changes it applied (for `reindex`-like callers and tests).
    pub async fn catch_up(&self) -> Result<usize, PortError> {
        let mut run = self.start().await?;
        let mut total = 0;
        loop {
            let n = self.step(&mut run).await?;
            if n == 0 {
                self.commit(&mut run).await?;
                return Ok(total);
            }
            total += n;
            if run.dirty >= COMMIT_EVERY {
                self.commit(&mut run).await?;
            }
        }
    }

    async fn start(&self) -> Result<Run, PortError> {
        Ok(Run {
            position: self.index.position().await?,
            dirty: 0,
            moved: false,
            oldest_pending: None,
            committed_at: Instant::now(),
        })
    }

    async fn run_from_committed(&self) -> Result<(), PortError> {
        let mut run = self.start().await?;
        loop {
            let n = self.step(&mut run).await?;
            let due = run.dirty >= COMMIT_EVERY || run.committed_at.elapsed() >= COMMIT_INTERVAL || n == 0;
            if (run.dirty > 0 || run.moved) && due {
                self.commit(&mut run).await?;
            }
            if n == 0 {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    /// Reads and applies one batch; returns its size.
    async fn step(&self, run: &mut Run) -> Result<usize, PortError> {
        let batch = self.feed.read(run.position.as_deref(), FEED_BATCH).await?;
        if let Some(oldest) = batch.oldest {
            run.oldest_pending.get_or_insert(oldest);
        }
        self.record_lag(run.oldest_pending);
        if batch.changes.is_empty() {
            // A feed may pass over records that change nothing: keep its
            // position, or the next read returns to them.
            if batch.position.is_some() && batch.position != run.position {
                run.position = batch.position;
                run.moved = true;
            }
            return Ok(0);
        }
        self.index.apply(&batch.changes).await?;
        run.dirty += batch.changes.len();
        run.position = batch.position.or(run.position.take());
        self.stats.applied.fetch_add(batch.changes.len() as u64, Ordering::Relaxed);
        Ok(batch.changes.len())
    }

    async fn commit(&self, run: &mut Run) -> Result<(), PortError> {
        self.index.commit(run.position.as_deref()).await?;
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        run.dirty = 0;
        run.moved = false;
        run.oldest_pending = None;
        run.committed_at = Instant::now();
        self.record_lag(None);
        if let Some(position) = &run.position {
            // Trimming only saves space; what is not trimmed now is trimmed next time.
            if let Err(e) = self.feed.trim(position).await {
                tracing::warn!(error = %e, "could not trim the change feed; it is retried at the next commit");
            }
        }
        Ok(())
    }

    fn record_lag(&self, oldest_pending: Option<DateTime<Utc>>) {
        let lag = oldest_pending.map_or(0, |t| (Utc::now() - t).num_milliseconds().max(0) as u64);
        self.stats.lag_ms.store(lag, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantId;
    use crate::ports::{FeedBatch, MessageChange, SearchPage, SearchQuery};
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A feed whose every record changes nothing (a stream's TTL deletes):
    /// from any position it moves to "past-the-skipped" with no change.
    struct SkippingFeed;

    #[async_trait]
    impl ChangeFeed for SkippingFeed {
        async fn read(&self, _after: Option<&str>, _limit: usize) -> Result<FeedBatch, PortError> {
            Ok(FeedBatch { changes: Vec::new(), position: Some("past-the-skipped".into()), oldest: None })
        }
        async fn trim(&self, _upto: &str) -> Result<(), PortError> {
            Ok(())
        }
    }

    #[derive(Default)]
    struct Positions(Mutex<Option<String>>);

    #[async_trait]
    impl SearchIndex for Positions {
        async fn apply(&self, _changes: &[MessageChange]) -> Result<(), PortError> {
            Ok(())
        }
        async fn commit(&self, position: Option<&str>) -> Result<(), PortError> {
            *self.0.lock().unwrap() = position.map(str::to_owned);
            Ok(())
        }
        async fn position(&self) -> Result<Option<String>, PortError> {
            Ok(self.0.lock().unwrap().clone())
        }
        async fn search(&self, _tenant: &TenantId, _query: &SearchQuery) -> Result<SearchPage, PortError> {
            Ok(SearchPage::default())
        }
    }

    #[tokio::test]
    async fn a_position_moved_past_records_that_change_nothing_is_committed() {
        let index = Arc::new(Positions::default());
        let indexer = Indexer::new(Arc::new(SkippingFeed), index.clone());
        indexer.run(tokio::time::sleep(Duration::from_millis(300))).await;
        assert_eq!(index.position().await.unwrap().as_deref(), Some("past-the-skipped"));
    }
}
