//! The archive's objects: keys, the per-dialog manifest, month parts
//! (zstd-compressed JSON Lines of messages) and the per-dialog overlay.
//! Pure functions, no I/O, so every adapter writes the same bytes.

use crate::domain::{AccountId, Message, TagId, TenantId};
use crate::ports::{PortError, PortErrorKind};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Version written in every manifest and overlay; readers refuse others.
pub const FORMAT_VERSION: u32 = 1;

/// Most messages in one part, so a history page reads a bounded object.
pub const MAX_PART_MESSAGES: usize = 2_000;

/// Most uncompressed bytes in one part (a month of long messages splits earlier).
pub const MAX_PART_BYTES: usize = 4 * 1024 * 1024;

/// zstd level: the default; parts are rewritten only while their month expires.
pub const ZSTD_LEVEL: i32 = 3;

/// Content type of a part.
pub const PART_TYPE: &str = "application/jsonl+zstd";
/// Content type of a manifest and of the usage record.
pub const JSON_TYPE: &str = "application/json";
/// Content type of an overlay.
pub const OVERLAY_TYPE: &str = "application/json+zstd";

/// Returns the prefix of one dialog's archive objects.
pub fn dialog_prefix(tenant: &TenantId, account: &AccountId, peer: i64) -> String {
    format!("{tenant}/archive/{account}/{peer}")
}

/// Returns the key of a dialog's manifest.
pub fn manifest_key(tenant: &TenantId, account: &AccountId, peer: i64) -> String {
    format!("{}/manifest.json", dialog_prefix(tenant, account, peer))
}

/// Returns the key of a dialog's overlay.
pub fn overlay_key(tenant: &TenantId, account: &AccountId, peer: i64) -> String {
    format!("{}/overlay.json.zst", dialog_prefix(tenant, account, peer))
}

/// Returns the key of a tenant's usage record.
pub fn usage_key(tenant: &TenantId) -> String {
    format!("{tenant}/archive/usage.json")
}

/// Returns the folder of a tenant's month ledger: one empty object
/// `{folder}/{YYYY-MM}/{account}/{peer}` per dialog with parts of that
/// month, listed in month order by retention.
pub fn months_folder(tenant: &TenantId) -> String {
    format!("{tenant}/archive/months")
}

/// Returns the ledger key saying a dialog has parts of `month`.
pub fn month_mark_key(tenant: &TenantId, month: &str, account: &AccountId, peer: i64) -> String {
    format!("{}/{month}/{account}/{peer}", months_folder(tenant))
}

/// Returns the month and dialog of a ledger key listed under `folder`.
pub fn parse_month_mark(folder: &str, key: &str) -> Option<(String, AccountId, i64)> {
    let mut rest = key.strip_prefix(folder)?.strip_prefix('/')?.split('/');
    let (month, account, peer) = (rest.next()?, rest.next()?, rest.next()?);
    if rest.next().is_some() {
        return None;
    }
    Some((month.to_owned(), AccountId::parse(account).ok()?, peer.parse().ok()?))
}

/// Returns the month (`YYYY-MM`) a message is filed under, by its date.
pub fn month_of(date: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// One immutable object holding a range of a dialog-month's messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// `YYYY-MM` of the messages' dates.
    pub month: String,
    /// Unique within the dialog: a rewritten part gets a new one (and key).
    pub seq: u64,
    /// Smallest message id inside.
    pub min_id: i64,
    /// Largest message id inside.
    pub max_id: i64,
    /// Messages inside.
    pub count: u64,
    /// Compressed size.
    pub bytes: u64,
}

impl Part {
    /// Returns the part's key under `prefix` (see [`dialog_prefix`]).
    pub fn key(&self, prefix: &str) -> String {
        format!("{prefix}/{}/{}.jsonl.zst", self.month, self.seq)
    }
}

/// A dialog's list of parts: the one object written last by a write, so
/// a write is visible whole or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub v: u32,
    /// The next part's `seq`.
    pub next_seq: u64,
    /// Every live part, ordered by `min_id`.
    pub parts: Vec<Part>,
}

/// The changes applied to a dialog's archived messages after archiving.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overlay {
    /// [`FORMAT_VERSION`].
    pub v: u32,
    /// Changes by message id.
    pub entries: BTreeMap<i64, OverlayEntry>,
}

/// What changed on one archived message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverlayEntry {
    /// The latest edit: new text and its time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<(String, DateTime<Utc>)>,
    /// Deleted on Telegram.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Tags that replace the archived ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeSet<TagId>>,
}

impl Overlay {
    /// Returns `message` with its entry applied: delete marks and tags
    /// always, an edit unless the message carries a later one.
    pub fn applied(&self, mut message: Message) -> Message {
        if let Some(entry) = self.entries.get(&message.id) {
            if let Some((text, at)) = &entry.edit {
                if message.edited_at.is_none_or(|own| own <= *at) {
                    message.text = text.clone();
                    message.edited_at = Some(*at);
                }
            }
            message.deleted |= entry.deleted;
            if let Some(tags) = &entry.tags {
                message.tags = tags.clone();
            }
        }
        message
    }
}

/// The per-tenant totals kept beside the dialogs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Messages archived.
    pub messages: u64,
    /// Live parts.
    pub objects: u64,
    /// Their compressed bytes.
    pub bytes: u64,
}

fn corrupt(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::with_source(PortErrorKind::Internal, format!("archive {what} unreadable"), e)
}

/// Encodes messages (ascending ids) as one part's bytes.
pub fn encode_part(messages: &[Message]) -> Result<Vec<u8>, PortError> {
    let mut lines = Vec::new();
    for m in messages {
        serde_json::to_writer(&mut lines, m).map_err(|e| corrupt("message", e))?;
        lines.push(b'\n');
    }
    zstd::bulk::compress(&lines, ZSTD_LEVEL).map_err(|e| corrupt("part", e))
}

/// Decodes one part's bytes into its messages (ascending ids).
pub fn decode_part(bytes: &[u8]) -> Result<Vec<Message>, PortError> {
    let lines = zstd::stream::decode_all(bytes).map_err(|e| corrupt("part", e))?;
    lines
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).map_err(|e| corrupt("message", e)))
        .collect()
}

/// Splits messages (ascending ids) into runs that each fit one part.
pub fn split_parts(messages: Vec<Message>) -> Vec<Vec<Message>> {
    let mut runs: Vec<Vec<Message>> = Vec::new();
    let mut run_bytes = 0;
    for m in messages {
        // An estimate of the JSON line: text and entities dominate.
        let size = 256 + m.text.len() + m.entities.to_string().len();
        let full = runs.last().is_none_or(|r| r.len() >= MAX_PART_MESSAGES || run_bytes + size > MAX_PART_BYTES);
        if full {
            runs.push(Vec::new());
            run_bytes = 0;
        }
        run_bytes += size;
        runs.last_mut().expect("a run was just pushed").push(m);
    }
    runs
}

/// Encodes a manifest.
pub fn encode_manifest(manifest: &Manifest) -> Vec<u8> {
    serde_json::to_vec(manifest).unwrap_or_else(|e| unreachable!("manifests always serialise: {e}"))
}

/// Decodes a manifest, refusing another format version.
pub fn decode_manifest(bytes: &[u8]) -> Result<Manifest, PortError> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| corrupt("manifest", e))?;
    check_version(manifest.v, "manifest")?;
    Ok(manifest)
}

/// Encodes an overlay.
pub fn encode_overlay(overlay: &Overlay) -> Result<Vec<u8>, PortError> {
    let json = serde_json::to_vec(overlay).map_err(|e| corrupt("overlay", e))?;
    zstd::bulk::compress(&json, ZSTD_LEVEL).map_err(|e| corrupt("overlay", e))
}

/// Decodes an overlay, refusing another format version.
pub fn decode_overlay(bytes: &[u8]) -> Result<Overlay, PortError> {
    let json = zstd::stream::decode_all(bytes).map_err(|e| corrupt("overlay", e))?;
    let overlay: Overlay = serde_json::from_slice(&json).map_err(|e| corrupt("overlay", e))?;
    check_version(overlay.v, "overlay")?;
    Ok(overlay)
}

fn check_version(v: u32, what: &str) -> Result<(), PortError> {
    if v == FORMAT_VERSION {
        return Ok(());
    }
    Err(PortError::new(
        PortErrorKind::Internal,
        format!("archive {what} has format {v}, this build reads {FORMAT_VERSION}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn message(id: i64, text: &str) -> Message {
        Message {
            account_id: AccountId::generate(),
            peer: 7,
            id,
            sender_id: Some(7),
            sender_name: None,
            outgoing: false,
            date: Utc.with_ymd_and_hms(2026, 3, 31, 23, 59, 59).unwrap(),
            text: text.into(),
            entities: serde_json::json!([]),
            media: None,
            reply_to: None,
            edited_at: None,
            deleted: false,
            tags: BTreeSet::new(),
        }
    }

    #[test]
    fn a_part_round_trips_and_compresses_repetitive_text() {
        let messages: Vec<Message> =
            (1..=500).map(|i| message(i, "where is my parcel, it was due on monday")).collect();
        let bytes = encode_part(&messages).unwrap();
        assert_eq!(decode_part(&bytes).unwrap(), messages);
        let raw: usize = messages.iter().map(|m| serde_json::to_vec(m).unwrap().len() + 1).sum();
        assert!(bytes.len() * 5 < raw, "{} compressed bytes of {raw}", bytes.len());
    }

    #[test]
    fn months_are_named_by_the_messages_date_in_utc() {
        assert_eq!(month_of(message(1, "").date), "2026-03");
    }

    #[test]
    fn runs_are_split_by_count_and_by_size() {
        let many: Vec<Message> = (0..MAX_PART_MESSAGES as i64 * 2 + 1).map(|i| message(i, "x")).collect();
        let sizes: Vec<usize> = split_parts(many).iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_PART_MESSAGES, MAX_PART_MESSAGES, 1]);
        let long = "y".repeat(MAX_PART_BYTES / 3);
        let big: Vec<Message> = (0..4).map(|i| message(i, &long)).collect();
        assert_eq!(split_parts(big).iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
    }

    #[test]
    fn an_overlay_edit_older_than_the_messages_own_is_not_applied() {
        let t = |s| Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, s).unwrap();
        let mut overlay = Overlay { v: FORMAT_VERSION, ..Overlay::default() };
        let entry = OverlayEntry { edit: Some(("old edit".into(), t(1))), deleted: true, tags: None };
        overlay.entries.insert(1, entry);
        let mut newer = message(1, "newer");
        newer.edited_at = Some(t(2));
        let applied = overlay.applied(newer);
        assert_eq!((applied.text.as_str(), applied.deleted), ("newer", true));
        assert_eq!(overlay.applied(message(1, "orig")).text, "old edit");
    }

    #[test]
    fn another_format_version_is_refused() {
        let bytes = encode_manifest(&Manifest { v: 2, ..Manifest::default() });
        assert_eq!(decode_manifest(&bytes).unwrap_err().kind, PortErrorKind::Internal);
    }
}
