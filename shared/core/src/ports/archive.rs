//! The cold archive port: messages older than the hot window, kept per
//! dialog and month, readable page by page like the store's history, and
//! changed afterwards only through an overlay (edits, delete marks, tags).
//! One adapter, [`crate::archive::BlobArchive`], runs over any `BlobStore`
//! (files locally, S3 on AWS); the object layout is in `ARCHIVE.md`.

use super::{PortError, PortErrorKind};
use crate::domain::{AccountId, Message, TagId, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Most messages one [`Archive::write`] takes, so one call holds a bounded
/// batch in memory (a caller splits a larger month).
pub const MAX_ARCHIVE_BATCH: usize = 5_000;

/// Largest page [`Archive::list`] returns.
pub const MAX_ARCHIVE_PAGE: usize = 500;

/// A change to a message already archived, kept beside the month objects.
#[derive(Clone, Debug, PartialEq)]
pub enum ArchiveChange {
    /// Replaces the text and sets the edit time.
    Edit {
        /// The message.
        id: i64,
        /// The new text.
        text: String,
        /// When it was edited.
        edited_at: DateTime<Utc>,
    },
    /// Marks messages deleted (their text is kept, as in the store).
    Delete {
        /// The messages; ids not in the archive are ignored.
        ids: Vec<i64>,
    },
    /// Replaces a message's tags.
    Tags {
        /// The message.
        id: i64,
        /// Its new tags.
        tags: BTreeSet<TagId>,
    },
}

/// What one [`Archive::write`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiveWrite {
    /// Messages the archive did not hold before.
    pub added: usize,
    /// Messages it held and now holds as given (a newer version, or a replay).
    pub replaced: usize,
}

/// How much a tenant keeps in the archive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiveUsage {
    /// Messages archived.
    pub messages: u64,
    /// Month objects holding them.
    pub objects: u64,
    /// Compressed bytes of those objects.
    pub bytes: u64,
}

/// The cold archive of messages, per tenant. Every method takes the tenant
/// first; one tenant never reads another's messages.
#[async_trait]
pub trait Archive: Send + Sync {
    /// Stores messages of one dialog (one account and peer), 1 to
    /// [`MAX_ARCHIVE_BATCH`] of them, merged with what the archive holds:
    /// a message it holds already is replaced by the one given, so writing
    /// the same messages again leaves one copy of each (a replay after a
    /// crash is harmless). Messages of several dialogs, or none, or too
    /// many, are `Invalid` and nothing is stored. Once it returns, every
    /// message given reads back; if it fails, each reads back either as
    /// before or as given.
    async fn write(&self, tenant: &TenantId, messages: &[Message]) -> Result<ArchiveWrite, PortError>;

    /// Returns a dialog's archived messages newest first, with ids below
    /// `before` (all when `None`), at most `limit` (clamped to
    /// [`MAX_ARCHIVE_PAGE`]), across months, with every change applied.
    /// An unknown dialog has an empty history.
    async fn list(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, PortError>;

    /// Returns one archived message with every change applied, or `None`.
    async fn get(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
    ) -> Result<Option<Message>, PortError>;

    /// Applies a change to archived messages of a dialog; later reads show
    /// it, and a later [`Archive::write`] of the same message does not undo
    /// it (delete marks and tags stay as applied; an edit stays unless the
    /// message written carries a later edit time). Returns the messages it
    /// changed (those the archive holds), as reads now show them. An edit or
    /// a tag change of a message the archive does not hold is `NotFound`; a
    /// delete ignores such ids.
    async fn apply(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        change: &ArchiveChange,
    ) -> Result<Vec<Message>, PortError>;

    /// Returns how much the tenant keeps in the archive.
    async fn usage(&self, tenant: &TenantId) -> Result<ArchiveUsage, PortError>;

    /// Deletes every archived message of the tenant dated in a month before
    /// `month` (`YYYY-MM`, UTC; months are the unit of retention), with the
    /// changes applied to them; returns what went. Idempotent, and safe to
    /// run beside writes: a month written again after its purge is purged
    /// by the next run. A malformed `month` is `Invalid`.
    async fn purge_before(&self, tenant: &TenantId, month: &str) -> Result<ArchiveUsage, PortError>;
}

/// Returns `Invalid` unless `month` is `YYYY-MM` with a month from 01 to 12.
pub fn validate_month(month: &str) -> Result<(), PortError> {
    let ok = match month.split_once('-') {
        Some((year, m)) if year.len() == 4 && m.len() == 2 => {
            (year.bytes().chain(m.bytes())).all(|c| c.is_ascii_digit())
                && m.parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(PortError::new(PortErrorKind::Invalid, format!("month {month:?} is not YYYY-MM")))
    }
}
