//! The cold archive's format and its one adapter, [`BlobArchive`], shared by
//! the local deployment (over `FsBlobStore`) and AWS (over `S3Blobs`), so
//! both write the same objects with the same code. Layout (ARCHIVE.md):
//!
//! - `{tenant}/archive/{account}/{peer}/manifest.json`: the dialog's parts
//!   with their month, id range, count and size; a history page picks its
//!   parts here, never by listing the bucket.
//! - `{tenant}/archive/{account}/{peer}/{YYYY-MM}/{seq}.jsonl.zst`: an
//!   immutable part, zstd-compressed JSON Lines of messages in id order, at
//!   most [`format::MAX_PART_MESSAGES`] messages or [`format::MAX_PART_BYTES`]
//!   before compression; a dialog's month is one part unless it is busy.
//! - `{tenant}/archive/{account}/{peer}/overlay.json.zst`: edits, delete
//!   marks and tags that arrived after archiving, applied on read.
//! - `{tenant}/archive/usage.json`: the tenant's totals.
//! - `{tenant}/archive/months/{YYYY-MM}/{account}/{peer}`: the month ledger
//!   (empty objects), which retention lists in month order.
//!
//! JSON Lines of the API's own `Message` shape: readable with `zstdcat`,
//! no schema to keep in step, and zstd takes most of JSON's redundancy away
//! (a month of chat compresses five to ten times).

mod blob_archive;
pub mod format;

pub use blob_archive::{BlobArchive, MAX_OVERLAY_ENTRIES};
