//! Conversions between rows and domain values, in one place so every query
//! reads a record the same way.

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::Row;
use std::collections::BTreeSet;
use tgdesk_core::domain::{
    Account, AccountHead, AccountId, AccountStatus, AuditAction, AuditEntry, AuditId, Dialog, Group, GroupId, MediaRef,
    Message, PeerKind, Phone, Role, Tag, TagId, TenantId, User, UserId, Username,
};
use tgdesk_core::ports::{Pin, PinTarget};

/// Returns unix nanoseconds (exact for years 1678–2262).
pub(super) fn ns(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// Reads unix nanoseconds back.
pub(super) fn from_ns(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(v)
}

/// A conversion failure of column `idx`.
fn bad(idx: usize, msg: impl Into<String>) -> rusqlite::Error {
    let err: Box<dyn std::error::Error + Send + Sync> = msg.into().into();
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, err)
}

/// Reads a column through a domain parser.
pub(super) fn parsed<T, E: std::fmt::Display>(
    row: &Row<'_>,
    idx: usize,
    parse: impl Fn(&str) -> Result<T, E>,
) -> rusqlite::Result<T> {
    let raw: String = row.get(idx)?;
    parse(&raw).map_err(|e| bad(idx, e.to_string()))
}

fn parsed_opt<T, E: std::fmt::Display>(
    row: &Row<'_>,
    idx: usize,
    parse: impl Fn(&str) -> Result<T, E>,
) -> rusqlite::Result<Option<T>> {
    let raw: Option<String> = row.get(idx)?;
    raw.map(|r| parse(&r).map_err(|e| bad(idx, e.to_string()))).transpose()
}

/// Reads a space-separated id list (ids never contain spaces).
fn id_set<T: Ord, E: std::fmt::Display>(
    row: &Row<'_>,
    idx: usize,
    parse: impl Fn(&str) -> Result<T, E>,
) -> rusqlite::Result<BTreeSet<T>> {
    let raw: Option<String> = row.get(idx)?;
    raw.unwrap_or_default().split_ascii_whitespace().map(|s| parse(s).map_err(|e| bad(idx, e.to_string()))).collect()
}

fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let raw: String = row.get(idx)?;
    serde_json::from_str(&raw).map_err(|e| bad(idx, e.to_string()))
}

/// Columns read by [`user`].
pub(super) const USER_COLS: &str =
    "id, username, display_name, role, leader_id, disabled, password_hash, token_version, created_ns";

pub(super) fn user(tenant: &TenantId, row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: parsed(row, 0, UserId::parse)?,
        tenant: tenant.clone(),
        username: parsed(row, 1, Username::parse)?,
        display_name: row.get(2)?,
        role: parsed(row, 3, Role::parse)?,
        leader_id: parsed_opt(row, 4, UserId::parse)?,
        disabled: row.get(5)?,
        password_hash: row.get(6)?,
        token_version: row.get(7)?,
        created_at: from_ns(row.get(8)?),
    })
}

/// Columns read by [`account`], for a query over `accounts a`.
pub(super) const ACCOUNT_COLS: &str = "a.id, a.phone, a.display_name, a.status, a.owner_id, a.team_id, \
     a.session, a.created_ns, a.updated_ns, \
     (SELECT group_concat(t.tag_id, ' ') FROM account_tags t WHERE t.tenant = a.tenant AND t.account_id = a.id), \
     (SELECT group_concat(g.group_id, ' ') FROM group_members g WHERE g.tenant = a.tenant AND g.account_id = a.id)";

pub(super) fn account(tenant: &TenantId, row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: parsed(row, 0, AccountId::parse)?,
        tenant: tenant.clone(),
        phone: parsed(row, 1, Phone::parse)?,
        display_name: row.get(2)?,
        status: parsed(row, 3, AccountStatus::parse)?,
        owner_id: parsed_opt(row, 4, UserId::parse)?,
        team_id: parsed_opt(row, 5, UserId::parse)?,
        session: row.get(6)?,
        created_at: from_ns(row.get(7)?),
        updated_at: from_ns(row.get(8)?),
        tags: id_set(row, 9, TagId::parse)?,
        groups: id_set(row, 10, GroupId::parse)?,
    })
}

pub(super) const ACCOUNT_HEAD_COLS: &str = "a.id, a.phone, a.display_name, a.owner_id, a.team_id";

/// Reads [`ACCOUNT_HEAD_COLS`].
pub(super) fn account_head(row: &Row<'_>) -> rusqlite::Result<AccountHead> {
    Ok(AccountHead {
        id: parsed(row, 0, AccountId::parse)?,
        phone: parsed(row, 1, Phone::parse)?,
        display_name: row.get(2)?,
        owner_id: parsed_opt(row, 3, UserId::parse)?,
        team_id: parsed_opt(row, 4, UserId::parse)?,
    })
}

pub(super) const GROUP_COLS: &str = "id, owner_id, name, created_ns";

pub(super) fn group(row: &Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: parsed(row, 0, GroupId::parse)?,
        owner_id: parsed(row, 1, UserId::parse)?,
        name: row.get(2)?,
        created_at: from_ns(row.get(3)?),
    })
}

pub(super) const TAG_COLS: &str = "id, name, color, created_ns";

pub(super) fn tag(row: &Row<'_>) -> rusqlite::Result<Tag> {
    Ok(Tag {
        id: parsed(row, 0, TagId::parse)?,
        name: row.get(1)?,
        color: row.get(2)?,
        created_at: from_ns(row.get(3)?),
    })
}

/// The key column of a pin target (NULLs are never equal, so the peer alone can't be).
pub(super) fn pin_key(target: &PinTarget) -> (&AccountId, Option<i64>, String) {
    match target {
        PinTarget::Account(a) => (a, None, "a".to_owned()),
        PinTarget::Dialog(a, peer) => (a, Some(*peer), format!("d:{peer}")),
    }
}

pub(super) const PIN_COLS: &str = "user_id, account_id, peer, pinned_ns";

pub(super) fn pin(row: &Row<'_>) -> rusqlite::Result<Pin> {
    let account = parsed(row, 1, AccountId::parse)?;
    let peer: Option<i64> = row.get(2)?;
    Ok(Pin {
        user_id: parsed(row, 0, UserId::parse)?,
        target: match peer {
            Some(p) => PinTarget::Dialog(account, p),
            None => PinTarget::Account(account),
        },
        pinned_at: from_ns(row.get(3)?),
    })
}

pub(super) const AUDIT_COLS: &str = "id, at_ns, actor_id, action, account_id, target, details";

pub(super) fn audit(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: parsed(row, 0, AuditId::parse)?,
        at: from_ns(row.get(1)?),
        actor_id: parsed_opt(row, 2, UserId::parse)?,
        action: parsed(row, 3, |s| AuditAction::parse(s).ok_or_else(|| format!("unknown action {s:?}")))?,
        account_id: parsed_opt(row, 4, AccountId::parse)?,
        target: row.get(5)?,
        details: json(row, 6)?,
    })
}

pub(super) const DIALOG_COLS: &str = "account_id, peer, kind, title, last_ns, last_message_id, preview, unread";

pub(super) fn dialog(row: &Row<'_>) -> rusqlite::Result<Dialog> {
    Ok(Dialog {
        account_id: parsed(row, 0, AccountId::parse)?,
        peer: row.get(1)?,
        kind: parsed(row, 2, |s| Ok::<_, String>(PeerKind::from_str_lossy(s)))?,
        title: row.get(3)?,
        last_message_at: row.get::<_, Option<i64>>(4)?.map(from_ns),
        last_message_id: row.get(5)?,
        preview: row.get(6)?,
        unread_count: row.get(7)?,
    })
}

pub(super) const MESSAGE_COLS: &str = "account_id, peer, id, sender_id, sender_name, outgoing, date_ns, text, \
     entities, media, reply_to, edited_ns, deleted, tags";

pub(super) fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    message_at(row, 0)
}

/// Reads the [`MESSAGE_COLS`] starting at column `at`.
pub(super) fn message_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Message> {
    let media: Option<String> = row.get(at + 9)?;
    Ok(Message {
        account_id: parsed(row, at, AccountId::parse)?,
        peer: row.get(at + 1)?,
        id: row.get(at + 2)?,
        sender_id: row.get(at + 3)?,
        sender_name: row.get(at + 4)?,
        outgoing: row.get(at + 5)?,
        date: from_ns(row.get(at + 6)?),
        text: row.get(at + 7)?,
        entities: json(row, at + 8)?,
        media: media
            .map(|m| serde_json::from_str::<MediaRef>(&m).map_err(|e| bad(at + 9, e.to_string())))
            .transpose()?,
        reply_to: row.get(at + 10)?,
        edited_at: row.get::<_, Option<i64>>(at + 11)?.map(from_ns),
        deleted: row.get(at + 12)?,
        tags: json::<Vec<String>>(row, at + 13)?
            .iter()
            .map(|s| TagId::parse(s).map_err(|e| bad(at + 13, e.to_string())))
            .collect::<rusqlite::Result<_>>()?,
    })
}

/// Serialises a tag set as a JSON array of ids.
pub(super) fn tags_json(tags: &BTreeSet<TagId>) -> String {
    serde_json::to_string(&tags.iter().map(TagId::as_str).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".to_owned())
}

/// Serialises any JSON value; `Value` never fails to serialise.
pub(super) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}
