//! The hot store's side of archiving, for a store that does not expire
//! messages itself (SQLite; DynamoDB's TTL deletes items on its own and
//! hands them to the archiver through its stream).

use super::PortError;
use crate::domain::{AccountId, Message, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// A dialog, by tenant, account and peer.
pub type DialogKey = (TenantId, AccountId, i64);

/// Most messages one [`MessageExpiry::expired_messages`] returns.
pub const MAX_EXPIRED_BATCH: usize = 20_000;

/// Finds messages older than the hot window and removes them once archived.
#[async_trait]
pub trait MessageExpiry: Send + Sync {
    /// Returns up to `limit` (clamped to [`MAX_EXPIRED_BATCH`]) messages of
    /// any tenant dated before `before`, with their tenant, a dialog at a
    /// time: the dialogs of the oldest such messages, each with all of its
    /// own (in id order) while the limit allows, so the archive writes a
    /// dialog once per batch. Never returns a message the change feed has
    /// yet to report, so search indexes every message before it leaves the
    /// store.
    ///
    /// Dialogs in `skip` are passed over (the archiver's dialogs still in
    /// flight, whose rows are not removed yet); the scan for dialogs is
    /// bounded, so when skipped dialogs hold all the oldest messages this
    /// returns fewer than `limit`, or none, while more are expired.
    async fn expired_messages(
        &self,
        before: DateTime<Utc>,
        limit: usize,
        skip: &HashSet<DialogKey>,
    ) -> Result<Vec<(TenantId, Message)>, PortError>;

    /// Removes each message given that the store still holds exactly as
    /// given (text, edit time, delete mark and tags unchanged since it was
    /// read), and returns how many it removed; one changed since stays, to
    /// be archived again in its new version. Writes nothing to the change
    /// feed (search keeps archived messages) and leaves dialogs as they are
    /// (a dialog whose every message is archived still lists with its last
    /// message). Removing a message already gone succeeds.
    async fn remove_archived(&self, messages: &[(TenantId, Message)]) -> Result<usize, PortError>;
}
