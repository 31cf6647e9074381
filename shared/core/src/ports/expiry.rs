//! The hot store's side of archiving, for a store that does not expire
//! messages itself (SQLite; DynamoDB's TTL deletes items on its own and
//! hands them to the archiver through its stream).
//!
//! The store sets expired messages aside in slices it can drop whole
//! (SQLite: a table per day). A run begins a slice, reads and archives all
//! of it, and finishes it: the store drops it unless something in it changed
//! or arrived since the reads, which the finish hands back to be archived
//! first. A crash anywhere leaves the slice in the store, to be begun again.

use super::PortError;
use crate::domain::{AccountId, Message, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A message's key: tenant, account, peer, id.
pub type ExpiredKey = (TenantId, AccountId, i64, i64);

/// Most messages one [`MessageExpiry::expired_messages`] returns.
pub const MAX_EXPIRED_BATCH: usize = 20_000;

/// Expired messages the store drops together once archived; what they are
/// is the store's business (SQLite: days).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpirySlice {
    /// The store's names for its parts.
    pub parts: Vec<i64>,
}

impl ExpirySlice {
    /// Whether there is nothing to archive.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

/// What [`MessageExpiry::finish_expiry`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpiryFinish {
    /// The slice left the store, with this many messages.
    Removed(usize),
    /// These messages changed or arrived in the slice after changes up to
    /// the `upto` given: archive them, then finish again with this `upto`.
    Changed { messages: Vec<(TenantId, Message)>, upto: i64 },
    /// Search has yet to index part of the slice: it stays for a later run.
    NotYet,
}

/// Finds messages older than the hot window and drops them once archived.
#[async_trait]
pub trait MessageExpiry: Send + Sync {
    /// Sets aside every message dated before `before` that search has
    /// indexed, as one slice (empty when there is none), and from now on
    /// notes what changes or arrives in it. Beginning a slice again (after a
    /// crash) is harmless.
    async fn begin_expiry(&self, before: DateTime<Utc>) -> Result<ExpirySlice, PortError>;

    /// Returns up to `limit` (clamped to [`MAX_EXPIRED_BATCH`]) messages of
    /// `slice` with their tenants, in key order (so a dialog's messages come
    /// together), after the key `after`.
    async fn expired_messages(
        &self,
        slice: &ExpirySlice,
        after: Option<&ExpiredKey>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Message)>, PortError>;

    /// Drops `slice` from the store once every message of it was archived:
    /// the whole slice as read, and the changes it noted up to `upto` (0 on
    /// the first call). Writes nothing to the change feed (search keeps
    /// archived messages) and leaves dialogs as they are (a dialog whose
    /// every message is archived still lists with its last message).
    async fn finish_expiry(&self, slice: &ExpirySlice, upto: i64) -> Result<ExpiryFinish, PortError>;
}
