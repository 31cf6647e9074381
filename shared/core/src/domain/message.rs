//! Messages of a dialog.

use super::{AccountId, TagId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A file attached to a message, kept in the blob store once fetched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaRef {
    /// `photo`, `document`, `video`, `voice`, `sticker`, …
    pub kind: String,
    /// File name, when Telegram gave one.
    pub name: Option<String>,
    /// MIME type, when known.
    pub mime: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Blob store key once downloaded.
    pub blob_key: Option<String>,
}

/// A message as stored; (account, peer, id) is its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// The account that received or sent it.
    pub account_id: AccountId,
    /// Marked peer id of the dialog.
    pub peer: i64,
    /// Telegram's message id (per account for users and groups, per channel for channels).
    pub id: i64,
    /// Marked id of the sender, when known.
    pub sender_id: Option<i64>,
    /// Sender's display name, when known.
    pub sender_name: Option<String>,
    /// True when the account itself sent it.
    pub outgoing: bool,
    /// Send date.
    pub date: DateTime<Utc>,
    /// Text (caption for media).
    pub text: String,
    /// Formatting entities as Telegram gave them.
    #[schema(value_type = Object)]
    pub entities: serde_json::Value,
    /// Attached file.
    pub media: Option<MediaRef>,
    /// Id of the message it replies to.
    pub reply_to: Option<i64>,
    /// Time of the last edit.
    pub edited_at: Option<DateTime<Utc>>,
    /// True once deleted on Telegram; the text is kept for the record.
    pub deleted: bool,
    /// Tenant-wide tags.
    pub tags: BTreeSet<TagId>,
}
