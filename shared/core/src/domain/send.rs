//! Outgoing messages: each send an agent asks for is recorded with its status
//! (queued, sent, failed with a reason, cancelled), alone or as part of a
//! batch that sends the same message to many dialogs.

use super::{AccountId, BatchId, DomainError, FileId, SendId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most characters in one Telegram message.
pub const MAX_TEXT_CHARS: usize = 4096;

/// A file an agent uploaded to attach to messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileRef {
    /// Id (pass it in a message's `files`).
    pub id: FileId,
    /// File name shown to the customer.
    pub name: String,
    /// MIME type as uploaded.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

/// Where a send stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// Waiting for the account's session to send it.
    Queued,
    /// Telegram accepted it.
    Sent,
    /// It could not be sent; see the reason.
    Failed,
    /// Its batch was cancelled before it was sent.
    Cancelled,
}

impl SendStatus {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Queued => "queued",
            SendStatus::Sent => "sent",
            SendStatus::Failed => "failed",
            SendStatus::Cancelled => "cancelled",
        }
    }

    /// True once nothing more will happen to the send.
    pub fn is_final(self) -> bool {
        !matches!(self, SendStatus::Queued)
    }
}

/// One message an agent asked to send, and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SendRecord {
    /// Id (returned as `send_id`).
    pub id: SendId,
    /// The sending account.
    pub account_id: AccountId,
    /// The dialog.
    pub peer: i64,
    /// Text (caption when files are attached).
    pub text: String,
    /// The message replied to.
    pub reply_to: Option<i64>,
    /// Attached files.
    #[serde(default)]
    pub files: Vec<FileRef>,
    /// Status.
    pub status: SendStatus,
    /// Why it failed (for `failed`).
    pub error: Option<String>,
    /// Telegram's id of the sent message (for `sent`).
    pub message_id: Option<i64>,
    /// The batch it belongs to.
    pub batch_id: Option<BatchId>,
    /// Who asked for it.
    pub created_by: UserId,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

/// A message sent to many dialogs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchSend {
    /// Id.
    pub id: BatchId,
    /// Who started it.
    pub created_by: UserId,
    /// The text sent to every target.
    pub text: String,
    /// Files attached to every message.
    #[serde(default)]
    pub files: Vec<FileRef>,
    /// How many targets it has.
    pub targets: u32,
    /// True once cancelled; queued sends are then cancelled.
    pub cancelled: bool,
    /// When it was started.
    pub created_at: DateTime<Utc>,
}

/// Validates a message text: at most [`MAX_TEXT_CHARS`] characters, and not
/// blank unless files are attached (then it is their caption).
pub fn parse_text(raw: &str, has_files: bool) -> Result<String, DomainError> {
    if raw.trim().is_empty() && !has_files {
        return Err(DomainError::new("text must not be empty"));
    }
    if raw.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::new(format!("text must be at most {MAX_TEXT_CHARS} characters")));
    }
    Ok(raw.to_owned())
}

/// Returns Telegram's `random_id` for the `index`th message of a send (a
/// send with several files is several messages): the same on every attempt,
/// so a send repeated after a crash or a lost answer is refused by Telegram
/// (RANDOM_ID_DUPLICATE) instead of posted twice. FNV-1a over the id and the
/// index: stable across processes and builds, as fleet nodes of different
/// versions may attempt the same send during a deploy.
pub fn telegram_random_id(send: &SendId, index: usize) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = send.as_str().bytes().chain((index as u64).to_le_bytes());
    let hash = bytes.fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME));
    hash as i64
}

impl SendRecord {
    /// True while the send is still to be carried out: queued, neither sent,
    /// failed nor cancelled. A command for a send that is not due is done.
    pub fn is_due(&self) -> bool {
        self.status == SendStatus::Queued
    }
}

/// One Telegram message of a send, as [`plan_messages`] lays them out.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedMessage<'a> {
    /// Its text (the caption, for a file).
    pub text: &'a str,
    /// The message it replies to.
    pub reply_to: Option<i64>,
    /// The file it carries, and whether Telegram shows it as a `photo` or a `document`.
    pub file: Option<(&'a FileRef, &'static str)>,
    /// Its Telegram `random_id` ([`telegram_random_id`]).
    pub random_id: i64,
}

/// Lays a send out as Telegram messages: the text alone when there is no
/// file; otherwise the first message carries the text as its caption, the
/// first file and the reply, and each further file goes in a message of
/// its own. Images go as photos, anything else as documents. The index of
/// each message picks its `random_id`, so every attempt lays out the same.
pub fn plan_messages<'a>(
    send: &SendId,
    text: &'a str,
    reply_to: Option<i64>,
    files: &'a [FileRef],
) -> Vec<PlannedMessage<'a>> {
    if files.is_empty() {
        return vec![PlannedMessage { text, reply_to, file: None, random_id: telegram_random_id(send, 0) }];
    }
    files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let kind = if file.content_type.starts_with("image/") { "photo" } else { "document" };
            PlannedMessage {
                text: if i == 0 { text } else { "" },
                reply_to: reply_to.filter(|_| i == 0),
                file: Some((file, kind)),
                random_id: telegram_random_id(send, i),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content_type: &str) -> FileRef {
        FileRef {
            id: FileId::generate(),
            name: name.into(),
            content_type: content_type.into(),
            size: 1,
            uploaded_by: UserId::generate(),
            uploaded_at: Utc::now(),
        }
    }

    #[test]
    fn a_send_is_laid_out_as_its_text_then_a_message_per_file() {
        let send = SendId::generate();
        let alone = plan_messages(&send, "hello", Some(7), &[]);
        assert_eq!(
            alone,
            vec![PlannedMessage {
                text: "hello",
                reply_to: Some(7),
                file: None,
                random_id: telegram_random_id(&send, 0)
            }]
        );
        let files = [file("a.png", "image/png"), file("b.pdf", "application/pdf")];
        let planned = plan_messages(&send, "see these", Some(7), &files);
        assert_eq!(planned.len(), 2);
        assert_eq!(
            (planned[0].text, planned[0].reply_to, planned[0].file),
            ("see these", Some(7), Some((&files[0], "photo")))
        );
        assert_eq!((planned[1].text, planned[1].reply_to, planned[1].file), ("", None, Some((&files[1], "document"))));
        assert_ne!(planned[0].random_id, planned[1].random_id);
        assert_eq!(plan_messages(&send, "see these", Some(7), &files), planned, "every attempt lays out the same");
    }

    #[test]
    fn a_sends_random_ids_are_stable_and_distinct() {
        let send = SendId::parse("snd_01jexample0000000000000").unwrap();
        let other = SendId::generate();
        assert_eq!(telegram_random_id(&send, 0), telegram_random_id(&send, 0), "the same on every attempt");
        assert_ne!(telegram_random_id(&send, 0), telegram_random_id(&send, 1), "each message of a send its own");
        assert_ne!(telegram_random_id(&send, 0), telegram_random_id(&other, 0), "each send its own");
        // A golden value: another build or version of the fleet derives the same id.
        assert_eq!(telegram_random_id(&send, 0), GOLDEN);
    }

    const GOLDEN: i64 = 6_768_164_201_753_177_426;
}
