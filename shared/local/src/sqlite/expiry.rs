//! The `MessageExpiry` port on SQLite: a slice is a set of day tables
//! (`days.rs`) whose whole day is before the cutoff. Beginning a slice puts
//! triggers on its tables that note every row changed or inserted from then
//! on (`expiry_changes`); finishing it hands those back until none is left,
//! then drops each table. Dropping writes no change-feed row, so the search
//! index keeps archived messages; dialogs are left alone.
//!
//! Why nothing is lost: the archiver reads a table only after its triggers
//! exist, so a change is either in what it read or noted; a table is dropped
//! in the writer transaction that finds no change noted past what was
//! archived, and a change after that finds no row here and goes to the
//! archive's overlay (`history.rs`).

use super::codec::{self, ns};
use super::days::{self, day_of, end_of, table};
use super::{map_err, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use tgdesk_core::domain::{Message, TenantId};
use tgdesk_core::ports::{
    ExpiredKey, ExpiryFinish, ExpirySlice, MessageExpiry, PortError, PortErrorKind, MAX_EXPIRED_BATCH,
};

/// The first message `seq` an unread feed row names (the feed is trimmed as
/// the indexer commits, so this reads a short table).
const FIRST_UNREPORTED: &str = "SELECT min(peer) FROM search_feed WHERE op = 0";

/// Most noted changes one finish hands back.
const CHANGES_PER_FINISH: i64 = 5_000;

fn first_unreported(tx: &Transaction<'_>) -> Result<i64, PortError> {
    let first = tx.query_row(FIRST_UNREPORTED, [], |r| r.get::<_, Option<i64>>(0)).map_err(map_err)?;
    Ok(first.unwrap_or(i64::MAX))
}

/// Whether search indexed every row of `day`'s table.
fn indexed(tx: &Transaction<'_>, day: i64, first_unreported: i64) -> Result<bool, PortError> {
    let last = tx
        .query_row(&format!("SELECT max(seq) FROM {}", table(day)), [], |r| r.get::<_, Option<i64>>(0))
        .map_err(map_err)?;
    Ok(last.is_none_or(|last| last < first_unreported))
}

fn begin(tx: &Transaction<'_>, before: i64) -> Result<ExpirySlice, PortError> {
    // New messages dated before the cutoff go to an expired day from now on.
    days::set_floor(tx, day_of(before))?;
    let first = first_unreported(tx)?;
    let mut parts = Vec::new();
    for day in days::days(tx)? {
        if end_of(day) > before {
            break;
        }
        if !indexed(tx, day, first)? {
            continue;
        }
        let t = table(day);
        tx.execute_batch(&format!(
            "CREATE TRIGGER IF NOT EXISTS {t}_inserted AFTER INSERT ON {t} BEGIN
                 INSERT INTO expiry_changes (day, seq) VALUES ({day}, new.seq); END;
             CREATE TRIGGER IF NOT EXISTS {t}_updated AFTER UPDATE ON {t} BEGIN
                 INSERT INTO expiry_changes (day, seq) VALUES ({day}, new.seq); END;"
        ))
        .map_err(map_err)?;
        parts.push(day);
    }
    Ok(ExpirySlice { parts })
}

/// The slice's days that still have a table.
fn present(tx: &Transaction<'_>, slice: &ExpirySlice) -> Result<Vec<i64>, PortError> {
    let all = days::days(tx)?;
    Ok(slice.parts.iter().copied().filter(|d| all.binary_search(d).is_ok()).collect())
}

/// The slice's messages after `after`, merged in key order from its tables
/// (each read along its key index).
fn expired(
    tx: &Transaction<'_>,
    slice: &ExpirySlice,
    after: Option<&ExpiredKey>,
    limit: usize,
) -> Result<Vec<(TenantId, Message)>, PortError> {
    let present = present(tx, slice)?;
    if present.is_empty() {
        return Ok(Vec::new());
    }
    let arms: Vec<String> = present
        .iter()
        .map(|day| {
            format!(
                "SELECT tenant, {} FROM {} WHERE (tenant, account_id, peer, id) > (?1, ?2, ?3, ?4)",
                codec::MESSAGE_COLS,
                table(*day)
            )
        })
        .collect();
    let sql = format!("{} ORDER BY tenant, account_id, peer, id LIMIT ?5", arms.join(" UNION ALL "));
    let (t, a, peer, id) = match after {
        Some((t, a, peer, id)) => (t.as_str(), a.as_str(), *peer, *id),
        None => ("", "", i64::MIN, i64::MIN),
    };
    let mut stmt = tx.prepare(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params![t, a, peer, id, limit as i64], |r| Ok((r.get::<_, String>(0)?, codec::message_at(r, 1)?)))
        .map_err(map_err)?;
    let mut out = Vec::with_capacity(limit);
    for row in rows {
        let (tenant, message) = row.map_err(map_err)?;
        out.push((tenant_of(&tenant)?, message));
    }
    Ok(out)
}

fn tenant_of(raw: &str) -> Result<TenantId, PortError> {
    TenantId::parse(raw).map_err(|e| PortError::new(PortErrorKind::Internal, format!("stored tenant unreadable: {e}")))
}

/// The changes noted in `days` after `upto`, as the messages now stored
/// (a row deleted since is left out), and the last change's number.
fn noted(tx: &Transaction<'_>, days: &[i64], upto: i64) -> Result<Option<ExpiryFinish>, PortError> {
    // In number order across days, so every change up to the last one
    // handed back is handed back.
    let changes: Vec<(i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT day, n, seq FROM expiry_changes WHERE n > ?1 AND day IN (SELECT value FROM json_each(?2)) \
             ORDER BY n LIMIT ?3",
        )
        .and_then(|mut s| {
            s.query_map(params![upto, days_json(days), CHANGES_PER_FINISH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(map_err)?;
    if changes.is_empty() {
        return Ok(None);
    }
    let mut messages = Vec::new();
    let mut last = upto;
    for (day, n, seq) in changes {
        last = last.max(n);
        let sql = format!("SELECT tenant, {} FROM {} WHERE seq = ?1", codec::MESSAGE_COLS, table(day));
        let found = tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([seq], |r| Ok((r.get::<_, String>(0)?, codec::message_at(r, 1)?))).optional())
            .map_err(map_err)?;
        if let Some((tenant, message)) = found {
            messages.push((tenant_of(&tenant)?, message));
        }
    }
    Ok(Some(ExpiryFinish::Changed { messages, upto: last }))
}

/// Drops `day`'s table (its rows, key index and triggers), its tag rows and
/// its noted changes; returns how many messages it held.
fn drop_day(tx: &Transaction<'_>, day: i64) -> Result<usize, PortError> {
    let t = table(day);
    let held: i64 = tx.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0)).map_err(map_err)?;
    tx.execute(
        &format!(
            "DELETE FROM message_tags WHERE (tenant, account_id, peer, message_id) IN \
             (SELECT tenant, account_id, peer, id FROM {t} WHERE tags <> '[]')"
        ),
        [],
    )
    .map_err(map_err)?;
    tx.execute_batch(&format!("DROP TABLE {t};")).map_err(map_err)?;
    tx.execute("DELETE FROM expiry_changes WHERE day = ?1", [day]).map_err(map_err)?;
    let left = days::days(tx)?;
    days::rebuild_view(tx, &left).map_err(map_err)?;
    Ok(held as usize)
}

/// Days as a JSON list, for `json_each`.
fn days_json(days: &[i64]) -> String {
    serde_json::to_string(days).unwrap_or_else(|_| "[]".into())
}

/// One table at a time, each in its own transaction, so ingest (which shares
/// the writer) waits for one drop at most.
fn finish_one(tx: &Transaction<'_>, slice: &ExpirySlice, upto: i64) -> Result<Option<ExpiryFinish>, PortError> {
    let present = present(tx, slice)?;
    tx.execute(
        "DELETE FROM expiry_changes WHERE n <= ?1 AND day IN (SELECT value FROM json_each(?2))",
        params![upto, days_json(&present)],
    )
    .map_err(map_err)?;
    if let Some(changed) = noted(tx, &present, upto)? {
        return Ok(Some(changed));
    }
    let Some(day) = present.first() else {
        return Ok(None);
    };
    if !indexed(tx, *day, first_unreported(tx)?)? {
        return Ok(Some(ExpiryFinish::NotYet));
    }
    Ok(Some(ExpiryFinish::Removed(drop_day(tx, *day)?)))
}

#[async_trait]
impl MessageExpiry for SqliteStore {
    async fn begin_expiry(&self, before: DateTime<Utc>) -> Result<ExpirySlice, PortError> {
        let before = ns(before);
        self.db.write(move |tx| begin(tx, before)).await
    }

    async fn expired_messages(
        &self,
        slice: &ExpirySlice,
        after: Option<&ExpiredKey>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Message)>, PortError> {
        let (slice, after, limit) = (slice.clone(), after.cloned(), limit.clamp(1, MAX_EXPIRED_BATCH));
        self.db.read(move |tx| expired(tx, &slice, after.as_ref(), limit)).await
    }

    async fn finish_expiry(&self, slice: &ExpirySlice, upto: i64) -> Result<ExpiryFinish, PortError> {
        let mut removed = 0;
        loop {
            let slice = slice.clone();
            match self.db.write(move |tx| finish_one(tx, &slice, upto)).await? {
                None => return Ok(ExpiryFinish::Removed(removed)),
                Some(ExpiryFinish::Removed(n)) => removed += n,
                Some(other) => return Ok(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::query_plan;

    #[test]
    fn a_slice_is_read_along_each_days_key_index_merged_without_a_sort() {
        let sql = format!(
            "SELECT tenant, {cols} FROM messages_19700101 WHERE (tenant, account_id, peer, id) > (?1, ?2, ?3, ?4) \
             UNION ALL SELECT tenant, {cols} FROM messages_none WHERE (tenant, account_id, peer, id) > (?1, ?2, ?3, ?4) \
             ORDER BY tenant, account_id, peer, id LIMIT ?5",
            cols = codec::MESSAGE_COLS
        );
        let plan = query_plan(&sql);
        assert!(plan.contains("MERGE (UNION ALL)"), "{plan}");
        assert!(plan.contains("USING INDEX messages_19700101_key ((tenant,account_id,peer,id)>(?,?,?,?))"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn dropping_a_day_finds_its_tagged_messages_by_the_tag_index() {
        let plan = query_plan(
            "DELETE FROM message_tags WHERE (tenant, account_id, peer, message_id) IN \
             (SELECT tenant, account_id, peer, id FROM messages_19700101 WHERE tags <> '[]')",
        );
        assert!(plan.contains("message_tags_account"), "{plan}");
    }
}
