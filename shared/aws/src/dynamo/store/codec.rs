//! Message and dialog items: the domain records as DynamoDB attributes.
//!
//! A message item keeps the message as ingested in a JSON `doc` and the
//! fields that change later (`text` with `edited_ns`, `deleted`, `tags`) as
//! attributes that override it, so an edit is one small `UpdateItem`.
//! A dialog item holds its fields, its inbox index key (`g1`: one per owner,
//! or per team for unowned accounts, so an ingested message moves one index
//! entry) and a version `ver` every change compares and bumps.

use super::super::attrs::{get_n, get_s, n, s, Item};
use super::super::keys::{self, inbox_key, inbox_slot, owner_slot, part_of, peer_key};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeSet;
use std::time::Duration;
use tgdesk_core::domain::{AccountId, Dialog, Message, PeerKind, TagId, TenantId, UserId};
use tgdesk_core::ports::{PortError, PortErrorKind};

fn internal(what: &str) -> PortError {
    PortError::new(PortErrorKind::Internal, format!("stored item has an invalid {what}"))
}

/// Returns nanoseconds since the epoch of `at`.
pub(crate) fn ns(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Returns the instant of `ns` nanoseconds since the epoch.
pub(crate) fn at_ns(ns: i64) -> DateTime<Utc> {
    Utc.timestamp_nanos(ns)
}

/// Returns the key of message `id` in dialog (`account`, `peer`).
pub(crate) fn message_key(tenant: &TenantId, account: &AccountId, peer: i64, id: i64) -> Item {
    [("pk".to_owned(), s(keys::messages_part(tenant, account, peer))), ("sk".to_owned(), n(id))].into()
}

/// Returns the item of a message as ingested, expiring `hot` after its date.
pub(crate) fn message_item(tenant: &TenantId, m: &Message, hot: Duration) -> Result<Item, PortError> {
    let doc = serde_json::to_string(m).map_err(|_| internal("message"))?;
    let expires = m.date.timestamp() + i64::try_from(hot.as_secs()).unwrap_or(i64::MAX / 4);
    let mut item = message_key(tenant, &m.account_id, m.peer, m.id);
    item.insert("doc".into(), s(doc));
    item.insert("outgoing".into(), AttributeValue::Bool(m.outgoing));
    item.insert("expires".into(), n(expires));
    Ok(item)
}

/// Reads a message item, applying the later changes over the ingested doc.
pub(crate) fn message(item: &Item) -> Result<Message, PortError> {
    let mut m: Message = serde_json::from_str(get_s(item, "doc")?).map_err(|_| internal("message doc"))?;
    if let Ok(text) = get_s(item, "text") {
        m.text = text.to_owned();
    }
    if let Ok(edited) = get_n::<i64>(item, "edited_ns") {
        m.edited_at = Some(at_ns(edited));
    }
    if let Some(deleted) = item.get("deleted").and_then(|v| v.as_bool().ok()) {
        m.deleted = *deleted;
    }
    if let Ok(tags) = get_s(item, "tags") {
        m.tags = tags_of(tags)?;
    }
    Ok(m)
}

/// Encodes a tag set as the JSON list a message item keeps (empty allowed,
/// unlike a DynamoDB string set).
pub(crate) fn tags_json(tags: &BTreeSet<TagId>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

fn tags_of(raw: &str) -> Result<BTreeSet<TagId>, PortError> {
    serde_json::from_str(raw).map_err(|_| internal("tag list"))
}

/// Returns the key of dialog (`account`, `peer`).
pub(crate) fn dialog_key(tenant: &TenantId, account: &AccountId, peer: i64) -> Item {
    [("pk".to_owned(), s(part_of(tenant, "DLG", account.as_str()))), ("sk".to_owned(), s(peer_key(peer)))].into()
}

/// Returns the whole item of `dialog` at version `ver`, in the inboxes of
/// `owner` and `team`.
pub(crate) fn dialog_item(
    tenant: &TenantId,
    d: &Dialog,
    owner: Option<&UserId>,
    team: Option<&UserId>,
    ver: u64,
) -> Item {
    let mut item = dialog_key(tenant, &d.account_id, d.peer);
    item.insert("account".into(), s(d.account_id.as_str()));
    item.insert("peer".into(), n(d.peer));
    item.insert("kind".into(), s(d.kind.as_str()));
    item.insert("title".into(), s(&d.title));
    item.insert("preview".into(), s(&d.preview));
    item.insert("unread".into(), n(d.unread_count));
    item.insert("ver".into(), n(ver));
    item.insert("owner".into(), s(owner_slot(owner)));
    item.insert("team".into(), s(owner_slot(team)));
    if let (Some(at), Some(id)) = (d.last_message_at, d.last_message_id) {
        item.insert("last_ns".into(), n(ns(at)));
        item.insert("last_id".into(), n(id));
    }
    item.insert("g1pk".into(), s(keys::inbox(tenant, &inbox_slot(owner, team))));
    item.insert("g1sk".into(), s(inbox_key(d.inbox_ms(), &d.account_id, d.peer)));
    item
}

/// A stored dialog with what its item says beyond the domain record.
pub(crate) struct StoredDialog {
    /// The dialog.
    pub dialog: Dialog,
    /// Its version, compared and bumped by every change.
    pub ver: u64,
    /// The owner whose inbox lists it.
    pub owner: Option<UserId>,
    /// The team whose inbox lists it.
    pub team: Option<UserId>,
}

fn user_slot(raw: &str) -> Result<Option<UserId>, PortError> {
    if raw == "-" {
        return Ok(None);
    }
    UserId::parse(raw).map(Some).map_err(|_| internal("owner"))
}

/// Reads a dialog item.
pub(crate) fn dialog(item: &Item) -> Result<StoredDialog, PortError> {
    let last_ns = get_n::<i64>(item, "last_ns").ok();
    let dialog = Dialog {
        account_id: AccountId::parse(get_s(item, "account")?).map_err(|_| internal("account"))?,
        peer: get_n(item, "peer")?,
        kind: PeerKind::from_str_lossy(get_s(item, "kind")?),
        title: get_s(item, "title")?.to_owned(),
        last_message_at: last_ns.map(at_ns),
        last_message_id: get_n::<i64>(item, "last_id").ok().filter(|_| last_ns.is_some()),
        preview: get_s(item, "preview")?.to_owned(),
        unread_count: get_n(item, "unread")?,
    };
    Ok(StoredDialog {
        dialog,
        ver: get_n(item, "ver")?,
        owner: user_slot(get_s(item, "owner")?)?,
        team: user_slot(get_s(item, "team")?)?,
    })
}
