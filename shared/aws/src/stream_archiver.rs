//! [`StreamArchiver`]: moves the messages DynamoDB's TTL takes out of the
//! messages table into the archive, reading the table's stream as the
//! `archiver` Lambda's event source mapping does on AWS (the one-process AWS
//! mode), with each dialog's messages about to expire ([`ExpiryArchiver`]).
//! A message the TTL takes unarchived is out of both places for the moment
//! between the delete and the write: history reads then end early, and
//! search still finds it (the indexer skips TTL deletes).
//!
//! The position is kept in memory: a restart reads the 24 hours the stream
//! keeps again, and writes what expired in them again, which archive writes
//! take as no change. A failed write is retried from the same position at
//! the next tick, so an expiry the stream still holds is never skipped.

use crate::context::AwsContext;
use crate::dynamo::DynamoStreamFeed;
use crate::ExpiryArchiver;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{Archive, PortError};
use tokio::sync::Mutex;

/// Most expired messages one read hands to the archive.
const EXPIRED_PER_READ: usize = 1_000;

/// Archives what the messages table's TTL deletes.
pub struct StreamArchiver {
    feed: DynamoStreamFeed,
    archiver: ExpiryArchiver,
    /// Where the next read starts (`None`: the oldest record kept).
    position: Mutex<Option<String>>,
}

impl StreamArchiver {
    /// Returns an archiver of `ctx`'s messages table into `archive`.
    pub fn new(ctx: &AwsContext, archive: Arc<dyn Archive>) -> Self {
        Self {
            feed: DynamoStreamFeed::new(ctx),
            archiver: ExpiryArchiver::new(ctx, archive),
            position: Mutex::new(None),
        }
    }

    /// Archives every expiry the stream holds after the position; returns
    /// how many messages it wrote. The position moves only past written ones.
    pub async fn run_once(&self) -> Result<usize, PortError> {
        let mut position = self.position.lock().await;
        let mut written = 0;
        loop {
            let batch = self.feed.read_expired(position.as_deref(), EXPIRED_PER_READ).await?;
            written += self.archiver.archive_expired(&batch.messages).await?;
            *position = batch.position;
            if batch.messages.len() < EXPIRED_PER_READ {
                return Ok(written);
            }
        }
    }

    /// Runs every `every` until `shutdown` completes; a failed run is logged
    /// and retried at the next tick.
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.run_once().await {
                Ok(0) => {}
                Ok(archived) => tracing::info!(archived, "archiver wrote messages the table's TTL removed"),
                Err(e) => tracing::warn!(error = %e, "archiver run failed; retried at the next tick"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
