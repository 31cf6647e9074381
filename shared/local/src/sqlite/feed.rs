//! The store's change feed (the `ChangeFeed` port), written in the same
//! transaction as the change it reports, so nothing the store holds is ever
//! missing from it. A row names what changed, not how: the reader turns it
//! into the message as stored *now*, so rows read in any order, or twice,
//! give the same index.
//!
//! An ingest writes one row per batch, naming the range of message `seq`s
//! it inserted (one sequence across the day tables, `days.rs`, taken a batch
//! at a time), rather than a row per message: the feed must not slow ingest.
//! Edits, delete marks and tag changes write one row per message; deleting
//! an account writes one row for the account.

use super::{codec, map_err, SqliteStore};
use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{params, Transaction};
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::ports::{ChangeFeed, FeedBatch, MessageChange, PortError, PortErrorKind};

/// Messages `seq` `peer..=id` were inserted (tenant and account unused).
const OP_RANGE: i64 = 0;
/// Message (tenant, account, peer, id) changed.
const OP_MESSAGE: i64 = 1;
/// Account (tenant, account) was deleted with its messages.
const OP_ACCOUNT: i64 = 2;

fn now_ns() -> i64 {
    codec::ns(Utc::now())
}

const APPEND: &str =
    "INSERT INTO search_feed (op, tenant, account_id, peer, id, at_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Records that the messages with `seq`s `first..=last` were inserted.
pub(super) fn inserted(tx: &Transaction<'_>, first: i64, last: i64) -> Result<(), PortError> {
    tx.prepare_cached(APPEND)
        .and_then(|mut s| s.execute(params![OP_RANGE, "", "", first, last, now_ns()]))
        .map_err(map_err)?;
    Ok(())
}

/// Records that these messages of `tenant` changed.
pub(super) fn changed<'a>(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    keys: impl IntoIterator<Item = (&'a str, i64, i64)>,
) -> Result<(), PortError> {
    let mut stmt = tx.prepare_cached(APPEND).map_err(map_err)?;
    let at = now_ns();
    for (account, peer, id) in keys {
        stmt.execute(params![OP_MESSAGE, tenant.as_str(), account, peer, id, at]).map_err(map_err)?;
    }
    Ok(())
}

/// Records that an account was deleted with its messages.
pub(super) fn account_deleted(tx: &Transaction<'_>, tenant: &TenantId, account: &AccountId) -> Result<(), PortError> {
    tx.prepare_cached(APPEND)
        .and_then(|mut s| s.execute(params![OP_ACCOUNT, tenant.as_str(), account.as_str(), 0, 0, now_ns()]))
        .map_err(map_err)?;
    Ok(())
}

fn position_of(raw: &str) -> Result<i64, PortError> {
    raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        PortError::new(PortErrorKind::Invalid, format!("feed position {raw:?} is not one this feed gave"))
    })
}

struct Row {
    seq: i64,
    op: i64,
    tenant: String,
    account: String,
    peer: i64,
    id: i64,
    at_ns: i64,
}

fn read(tx: &Transaction<'_>, after: i64, limit: usize) -> Result<FeedBatch, PortError> {
    let rows: Vec<Row> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT seq, op, tenant, account_id, peer, id, at_ns FROM search_feed WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(map_err)?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok(Row {
                    seq: r.get(0)?,
                    op: r.get(1)?,
                    tenant: r.get(2)?,
                    account: r.get(3)?,
                    peer: r.get(4)?,
                    id: r.get(5)?,
                    at_ns: r.get(6)?,
                })
            })
            .map_err(map_err)?;
        rows.collect::<Result<_, _>>().map_err(map_err)?
    };
    let mut batch = FeedBatch { position: Some(after.to_string()), ..FeedBatch::default() };
    let mut by_seq = tx
        .prepare_cached(&format!("SELECT tenant, {} FROM messages WHERE seq BETWEEN ?1 AND ?2", codec::MESSAGE_COLS))
        .map_err(map_err)?;
    let mut by_key = tx
        .prepare_cached(&format!(
            "SELECT {} FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND id = ?4",
            codec::MESSAGE_COLS
        ))
        .map_err(map_err)?;
    for row in rows {
        if batch.changes.len() >= limit {
            break;
        }
        batch.oldest.get_or_insert(codec::from_ns(row.at_ns));
        match row.op {
            OP_RANGE => {
                let found = by_seq
                    .query_map(params![row.peer, row.id], |r| {
                        let tenant: String = r.get(0)?;
                        Ok((tenant, codec::message_at(r, 1)?))
                    })
                    .map_err(map_err)?;
                for found in found {
                    let (tenant, message) = found.map_err(map_err)?;
                    batch.changes.push(MessageChange::Upsert { tenant: tenant_of(&tenant)?, message });
                }
            }
            OP_MESSAGE => {
                let tenant = tenant_of(&row.tenant)?;
                let args = params![row.tenant, row.account, row.peer, row.id];
                match by_key.query_row(args, |r| codec::message_at(r, 0)) {
                    Ok(message) => batch.changes.push(MessageChange::Upsert { tenant, message }),
                    // Gone since (its account was deleted): that change follows.
                    Err(rusqlite::Error::QueryReturnedNoRows) => {}
                    Err(e) => return Err(map_err(e)),
                }
            }
            OP_ACCOUNT => batch.changes.push(MessageChange::RemoveAccount {
                tenant: tenant_of(&row.tenant)?,
                account: AccountId::parse(&row.account)
                    .map_err(|e| PortError::new(PortErrorKind::Internal, format!("search feed: {e}")))?,
            }),
            other => {
                return Err(PortError::new(PortErrorKind::Internal, format!("search feed: unknown operation {other}")))
            }
        }
        batch.position = Some(row.seq.to_string());
    }
    Ok(batch)
}

fn tenant_of(raw: &str) -> Result<TenantId, PortError> {
    TenantId::parse(raw).map_err(|e| PortError::new(PortErrorKind::Internal, format!("search feed: {e}")))
}

#[async_trait]
impl ChangeFeed for SqliteStore {
    async fn read(&self, after: Option<&str>, limit: usize) -> Result<FeedBatch, PortError> {
        let after = after.map(position_of).transpose()?.unwrap_or(0);
        self.db.read(move |tx| read(tx, after, limit.max(1))).await
    }

    async fn trim(&self, upto: &str) -> Result<(), PortError> {
        let upto = position_of(upto)?;
        self.db
            .write(move |tx| {
                tx.execute("DELETE FROM search_feed WHERE seq <= ?1", [upto]).map_err(map_err)?;
                Ok(())
            })
            .await
    }
}

impl SqliteStore {
    /// Reads up to `limit` stored messages after `seq` `after`, for a rebuild.
    pub async fn scan_messages(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<MessageChange>, Option<i64>), PortError> {
        self.db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT seq, tenant, {} FROM messages WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                        codec::MESSAGE_COLS
                    ))
                    .map_err(map_err)?;
                let rows = stmt
                    .query_map(params![after, limit as i64], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, codec::message_at(r, 2)?))
                    })
                    .map_err(map_err)?;
                let mut out = Vec::with_capacity(limit);
                let mut last = None;
                for row in rows {
                    let (seq, tenant, message) = row.map_err(map_err)?;
                    out.push(MessageChange::Upsert { tenant: tenant_of(&tenant)?, message });
                    last = Some(seq);
                }
                Ok((out, last))
            })
            .await
    }

    /// Messages stored (an estimate is not enough for a progress bar's end).
    pub async fn count_messages(&self) -> Result<u64, PortError> {
        self.db
            .read(|tx| tx.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0)).map_err(map_err))
            .await
            .map(|n| n as u64)
    }

    /// The newest feed position, for a rebuild to start the live feed from.
    pub async fn feed_head(&self) -> Result<String, PortError> {
        self.db
            .read(|tx| {
                // The sequence, not max(seq): trimmed rows leave the table.
                let sql = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'search_feed'), 0)";
                tx.query_row(sql, [], |r| r.get::<_, i64>(0)).map_err(map_err)
            })
            .await
            .map(|n| n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tgdesk_core::testkit::{FeedHandle, StoreHandles};

    async fn make() -> FeedHandle {
        crate::page_cache::install();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("t.db")).unwrap());
        FeedHandle { store: StoreHandles::new(store.clone()).keep_alive(dir), feed: store }
    }

    tgdesk_core::feed_contract_suite!(make);
}
