//! The write side of dialogs and messages: blocking bodies of the
//! `MessageWriter` methods. Ingest is shaped for throughput (DESIGN §6): one
//! transaction per batch, one conflict-ignoring insert per message, and one
//! dialog write per (account, peer) per batch however many messages it got.

use super::codec::{self, ns, tags_json, to_json};
use super::{days, map_err};
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;
use tgdesk_core::domain::{preview, text_preview, AccountId, Dialog, DialogDelta, Message, PeerKind, TagId, TenantId};
use tgdesk_core::ports::{IngestOutcome, PortError};

/// An account's owner and team, copied onto its dialogs.
type Keys = (Option<String>, Option<String>);

/// Returns each account's owner and team; `NotFound` for an unknown account.
fn account_keys<'a>(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    ids: impl Iterator<Item = &'a AccountId>,
) -> Result<HashMap<&'a str, Keys>, PortError> {
    let mut out = HashMap::new();
    for id in ids {
        if !out.contains_key(id.as_str()) {
            out.insert(id.as_str(), account_key(tx, tenant.as_str(), id.as_str())?);
        }
    }
    Ok(out)
}

/// Returns one account's owner and team; `NotFound` for an unknown account.
fn account_key(tx: &Transaction<'_>, t: &str, id: &str) -> Result<Keys, PortError> {
    tx.prepare_cached("SELECT owner_id, team_id FROM accounts WHERE tenant = ?1 AND id = ?2")
        .and_then(|mut s| s.query_row([t, id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(map_err)?
        .ok_or_else(|| PortError::not_found(format!("account {id} not found")))
}

/// A message row, after `INSERT INTO {day's table}`; a duplicate is ignored.
const INSERT_MESSAGE: &str = "(seq, tenant, account_id, peer, id, sender_id, sender_name, outgoing, date_ns, \
     text, entities, media, reply_to, edited_ns, deleted, tags) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT DO NOTHING";

pub(super) fn ingest(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    messages: &[Message],
) -> Result<IngestOutcome, PortError> {
    let t = tenant.as_str();
    let mut place = days::Placement::read(tx)?;
    // One sequence across days; numbers of duplicates stay unused.
    let first_seq = days::take_seqs(tx, messages.len() as i64)?;
    let mut tag = tx
        .prepare_cached("INSERT OR IGNORE INTO message_tags (tenant, tag_id, account_id, peer, message_id) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(map_err)?;
    let mut outcome = IngestOutcome::default();
    let mut deltas: HashMap<(&str, i64), DialogDelta<'_>> = HashMap::new();
    let mut seqs: Option<(i64, i64)> = None;
    let mut inserts: Vec<(i64, rusqlite::CachedStatement<'_>)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let date = ns(m.date);
        let (day, own) = place.table_for(tx, date)?;
        let seq = first_seq + i as i64;
        if !own && days::locate(tx, (t, m.account_id.as_str(), m.peer, m.id))?.is_some() {
            outcome.duplicates += 1;
            continue;
        }
        // A batch's messages are nearly all of one day: one statement each.
        let at = match inserts.iter().position(|(d, _)| *d == day) {
            Some(at) => at,
            None => {
                let sql = format!("INSERT INTO {} {INSERT_MESSAGE}", days::table(day));
                inserts.push((day, tx.prepare_cached(&sql).map_err(map_err)?));
                inserts.len() - 1
            }
        };
        let inserted = inserts[at]
            .1
            .execute(params![
                seq,
                t,
                m.account_id.as_str(),
                m.peer,
                m.id,
                m.sender_id,
                m.sender_name,
                m.outgoing,
                date,
                m.text,
                to_json(&m.entities),
                m.media.as_ref().map(to_json),
                m.reply_to,
                m.edited_at.map(ns),
                m.deleted,
                tags_json(&m.tags),
            ])
            .map_err(map_err)?;
        if inserted == 0 {
            outcome.duplicates += 1;
            continue;
        }
        outcome.fresh.push(i);
        seqs = Some(seqs.map_or((seq, seq), |(first, _)| (first, seq)));
        for tag_id in &m.tags {
            tag.execute(params![t, tag_id.as_str(), m.account_id.as_str(), m.peer, m.id]).map_err(map_err)?;
        }
        deltas.entry((m.account_id.as_str(), m.peer)).or_default().add(m);
    }
    if let Some((first, last)) = seqs {
        super::feed::inserted(tx, first, last)?;
    }
    outcome.dialogs.reserve(deltas.len());
    for ((account, peer), delta) in deltas {
        if let Some(dialog) = apply_delta(tx, t, account, peer, &delta)? {
            outcome.dialogs.push(dialog);
        }
    }
    Ok(outcome)
}

/// Writes one batch's effect on one dialog, creating the dialog when
/// missing (`NotFound` when its account is unknown), and returns the dialog
/// as written. (`UPDATE … RETURNING` and an upsert both measured slower than
/// this read and plain write.)
fn apply_delta(
    tx: &Transaction<'_>,
    t: &str,
    account: &str,
    peer: i64,
    d: &DialogDelta<'_>,
) -> Result<Option<Dialog>, PortError> {
    let Some(newest) = d.newest else {
        return Ok(None);
    };
    let current: Option<Dialog> = tx
        .prepare_cached(&SELECT_DIALOG)
        .and_then(|mut s| s.query_row(params![t, account, peer], codec::dialog).optional())
        .map_err(map_err)?;
    let (at_ms, last_ns) = (newest.date.timestamp_millis(), ns(newest.date));
    let Some(mut dialog) = current else {
        // Only a new dialog needs its account's owner and team (the inbox keys),
        // and reading them is what turns an unknown account into `NotFound`: an
        // existing dialog's account exists (deleting it deletes its dialogs).
        let keys = account_key(tx, t, account)?;
        let dialog = Dialog {
            account_id: newest.account_id.clone(),
            peer,
            kind: PeerKind::of_peer(peer),
            title: d.title.unwrap_or_default().to_owned(),
            last_message_at: Some(newest.date),
            last_message_id: Some(newest.id),
            preview: preview(newest),
            unread_count: d.unread_above(None),
        };
        tx.prepare_cached(
            "INSERT INTO dialogs (tenant, account_id, peer, owner_id, team_id, kind, title, at_ms, last_ns, \
             last_message_id, preview, unread) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .and_then(|mut s| {
            s.execute(params![
                t,
                account,
                peer,
                keys.0,
                keys.1,
                dialog.kind.as_str(),
                dialog.title,
                at_ms,
                last_ns,
                newest.id,
                dialog.preview,
                dialog.unread_count,
            ])
        })
        .map_err(map_err)?;
        return Ok(Some(dialog));
    };
    let head = (dialog.last_message_at.map(ns).unwrap_or(i64::MIN), dialog.last_message_id.unwrap_or(i64::MIN));
    let newer = (last_ns, newest.id) > head;
    let unread = d.unread_above(dialog.last_message_id);
    dialog.unread_count += unread;
    if newer {
        // Telegram dates have whole seconds, so a busy dialog's newest message
        // often keeps its inbox position: then the inbox indexes stay as they are.
        let moved = dialog.inbox_ms() != at_ms;
        dialog.last_message_at = Some(newest.date);
        dialog.last_message_id = Some(newest.id);
        dialog.preview = preview(newest);
        if dialog.title.is_empty() {
            if let Some(title) = d.title {
                dialog.title = title.to_owned();
            }
        }
        let (sql, at) = if moved { (MOVE_DIALOG, Some(at_ms)) } else { (UPDATE_DIALOG_IN_PLACE, None) };
        let head = params![t, account, peer, last_ns, newest.id, dialog.preview, dialog.unread_count, dialog.title];
        let args = head.iter().copied().chain(at.as_ref().map(|at| at as &dyn rusqlite::ToSql));
        tx.prepare_cached(sql).and_then(|mut s| s.execute(rusqlite::params_from_iter(args))).map_err(map_err)?;
    } else if unread > 0 {
        tx.prepare_cached("UPDATE dialogs SET unread = ?4 WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3")
            .and_then(|mut s| s.execute(params![t, account, peer, dialog.unread_count]))
            .map_err(map_err)?;
    }
    Ok(Some(dialog))
}

/// Writes a dialog's newest message (?4..?8) and its new inbox position (?9),
/// which moves it in every inbox index.
const MOVE_DIALOG: &str = "UPDATE dialogs SET last_ns = ?4, last_message_id = ?5, preview = ?6, unread = ?7, \
     title = ?8, at_ms = ?9 WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3";
/// [`MOVE_DIALOG`] for a dialog whose inbox position stays: no inbox index
/// changes (SQLite rewrites an index entry whenever its column is set, even
/// to the same value).
const UPDATE_DIALOG_IN_PLACE: &str = "UPDATE dialogs SET last_ns = ?4, last_message_id = ?5, preview = ?6, \
     unread = ?7, title = ?8 WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3";

/// Reads one dialog by its key ?1..?3.
static SELECT_DIALOG: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {} FROM dialogs WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3", codec::DIALOG_COLS)
});

pub(super) fn upsert_dialogs(tx: &Transaction<'_>, tenant: &TenantId, dialogs: &[Dialog]) -> Result<(), PortError> {
    let keys = account_keys(tx, tenant, dialogs.iter().map(|d| &d.account_id))?;
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO dialogs (tenant, account_id, peer, owner_id, team_id, kind, title, at_ms, last_ns, \
             last_message_id, preview, unread) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (tenant, account_id, peer) DO UPDATE SET kind = excluded.kind, title = excluded.title",
        )
        .map_err(map_err)?;
    for d in dialogs {
        let (owner, team) = &keys[d.account_id.as_str()];
        stmt.execute(params![
            tenant.as_str(),
            d.account_id.as_str(),
            d.peer,
            owner,
            team,
            d.kind.as_str(),
            d.title,
            d.inbox_ms(),
            d.last_message_at.map(ns),
            d.last_message_id,
            d.preview,
            d.unread_count,
        ])
        .map_err(map_err)?;
    }
    Ok(())
}

/// A message's key as SQL parameters ?1..?4.
type MsgKey<'a> = (&'a TenantId, &'a AccountId, i64, i64);

pub(super) fn edit(
    tx: &Transaction<'_>,
    (t, a, peer, id): MsgKey<'_>,
    text: &str,
    edited_ns: i64,
) -> Result<(), PortError> {
    if !days::update(tx, (t.as_str(), a.as_str(), peer, id), "text = ?2, edited_ns = ?3", &[&text, &edited_ns])? {
        return Err(PortError::not_found(format!("message {id} of {a}/{peer} not found")));
    }
    super::feed::changed(tx, t, [(a.as_str(), peer, id)])?;
    let shown = text_preview(text);
    tx.prepare_cached(
        "UPDATE dialogs SET preview = ?5 WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND last_message_id = ?4",
    )
    .and_then(|mut s| s.execute(params![t.as_str(), a.as_str(), peer, id, shown]))
    .map_err(map_err)?;
    Ok(())
}

pub(super) fn delete(
    tx: &Transaction<'_>,
    t: &TenantId,
    a: &AccountId,
    peer: i64,
    ids: &[i64],
) -> Result<(), PortError> {
    let mut marked = Vec::with_capacity(ids.len());
    for id in ids {
        if days::update(tx, (t.as_str(), a.as_str(), peer, *id), "deleted = 1", &[])? {
            marked.push((a.as_str(), peer, *id));
        }
    }
    super::feed::changed(tx, t, marked)
}

/// Marks deleted the messages with `ids` outside channels; returns their (peer, id).
///
/// Telegram names only the ids (unique per account outside channels), and
/// messages are keyed by dialog first, so each id is looked up in the
/// account's dialogs that can hold it: those whose newest message id is at
/// least the id (ids grow with time in an account's private chats and basic
/// groups, and a dialog's `last_message_id` is its newest). A recent message
/// (what people delete) is looked for in the few dialogs active since.
pub(super) fn delete_unplaced(
    tx: &Transaction<'_>,
    t: &TenantId,
    a: &AccountId,
    ids: &[i64],
) -> Result<Vec<(i64, i64)>, PortError> {
    let mut candidates = tx.prepare_cached(CANDIDATE_DIALOGS).map_err(map_err)?;
    let mut out = Vec::new();
    for id in ids {
        let peers = candidates
            .query_map(params![t.as_str(), a.as_str(), id, CHANNEL_PEERS_BELOW], |r| r.get::<_, i64>(0))
            .map_err(map_err)?
            .collect::<Result<Vec<i64>, _>>()
            .map_err(map_err)?;
        for peer in peers {
            if days::update(tx, (t.as_str(), a.as_str(), peer, *id), "deleted = 1", &[])? {
                out.push((peer, *id));
            }
        }
    }
    super::feed::changed(tx, t, out.iter().map(|(peer, id)| (a.as_str(), *peer, *id)))?;
    Ok(out)
}

/// The dialogs of account ?2 that can hold id ?3 outside channels.
const CANDIDATE_DIALOGS: &str = "SELECT peer FROM dialogs WHERE tenant = ?1 AND account_id = ?2 AND peer > ?4 \
    AND last_message_id >= ?3";

/// Marked ids of channels are at or below this; private chats and basic groups above.
const CHANNEL_PEERS_BELOW: i64 = -1_000_000_000_000;

pub(super) fn mark_read(
    tx: &Transaction<'_>,
    t: &TenantId,
    a: &AccountId,
    peer: i64,
    up_to: i64,
) -> Result<(), PortError> {
    let n = tx
        .prepare_cached(
            "UPDATE dialogs SET unread = (SELECT count(*) FROM messages m WHERE m.tenant = ?1 AND m.account_id = ?2 \
             AND m.peer = ?3 AND m.id > ?4 AND m.outgoing = 0) WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3",
        )
        .and_then(|mut s| s.execute(params![t.as_str(), a.as_str(), peer, up_to]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(PortError::not_found(format!("dialog {a}/{peer} not found")));
    }
    Ok(())
}

pub(super) fn set_tags(
    tx: &Transaction<'_>,
    (t, a, peer, id): MsgKey<'_>,
    tags: &BTreeSet<TagId>,
) -> Result<(), PortError> {
    let key = params![t.as_str(), a.as_str(), peer, id];
    if !days::update(tx, (t.as_str(), a.as_str(), peer, id), "tags = ?2", &[&tags_json(tags)])? {
        return Err(PortError::not_found(format!("message {id} of {a}/{peer} not found")));
    }
    super::feed::changed(tx, t, [(a.as_str(), peer, id)])?;
    tx.prepare_cached(
        "DELETE FROM message_tags WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND message_id = ?4",
    )
    .and_then(|mut s| s.execute(key))
    .map_err(map_err)?;
    let mut add = tx
        .prepare_cached(
            "INSERT INTO message_tags (tenant, tag_id, account_id, peer, message_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(map_err)?;
    for tag in tags {
        add.execute(params![t.as_str(), tag.as_str(), a.as_str(), peer, id]).map_err(map_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dialog_that_moves_in_the_inbox_rewrites_the_inbox_indexes() {
        let index_writes =
            |sql| crate::sqlite::opcodes(sql).iter().filter(|op| *op == "IdxDelete" || *op == "IdxInsert").count();
        // Three indexes, each an entry deleted and one inserted.
        assert_eq!(index_writes(MOVE_DIALOG), 6, "{:?}", crate::sqlite::opcodes(MOVE_DIALOG));
        assert_eq!(index_writes(UPDATE_DIALOG_IN_PLACE), 0, "{:?}", crate::sqlite::opcodes(UPDATE_DIALOG_IN_PLACE));
    }

    #[test]
    fn a_private_chat_delete_seeks_each_candidate_dialog_instead_of_scanning_messages() {
        let plan = crate::sqlite::query_plan(CANDIDATE_DIALOGS);
        assert!(!plan.contains("SCAN dialogs"), "only the account's dialogs: {plan}");
    }
}
