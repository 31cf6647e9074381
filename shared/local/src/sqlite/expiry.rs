//! The `MessageExpiry` port on SQLite: the archiver's reads of expired
//! messages (a range of the date index) and its removals, which write no
//! change-feed row so the search index keeps archived messages.

use super::codec::{self, ns, tags_json};
use super::{map_err, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Transaction};
use std::sync::LazyLock;
use tgdesk_core::domain::{Message, TenantId};
use tgdesk_core::ports::{MessageExpiry, PortError, PortErrorKind, MAX_EXPIRED_BATCH};

/// Messages dated before ?1, oldest first, at most ?3, among rowids below ?2
/// (the first one the change feed has yet to report).
static EXPIRED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT tenant, {} FROM messages WHERE date_ns < ?1 AND rowid < ?2 ORDER BY date_ns LIMIT ?3",
        codec::MESSAGE_COLS
    )
});

/// The first message rowid an unread feed row names (the feed is trimmed as
/// the indexer commits, so this reads a short table).
const FIRST_UNREPORTED: &str = "SELECT min(peer) FROM search_feed WHERE op = 0";

/// Removes a message only while it is as the archiver read it.
const REMOVE: &str = "DELETE FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND id = ?4 \
     AND text = ?5 AND edited_ns IS ?6 AND deleted = ?7 AND tags = ?8";

fn expired(tx: &Transaction<'_>, before: i64, limit: usize) -> Result<Vec<(TenantId, Message)>, PortError> {
    let first: Option<i64> = tx.query_row(FIRST_UNREPORTED, [], |r| r.get(0)).map_err(map_err)?;
    let mut stmt = tx.prepare_cached(&EXPIRED).map_err(map_err)?;
    let rows = stmt
        .query_map(params![before, first.unwrap_or(i64::MAX), limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, codec::message_at(r, 1)?))
        })
        .map_err(map_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (tenant, message) = row.map_err(map_err)?;
        let tenant = TenantId::parse(&tenant)
            .map_err(|e| PortError::new(PortErrorKind::Internal, format!("stored tenant unreadable: {e}")))?;
        out.push((tenant, message));
    }
    Ok(out)
}

fn remove(tx: &Transaction<'_>, messages: &[(TenantId, Message)]) -> Result<usize, PortError> {
    let mut remove = tx.prepare_cached(REMOVE).map_err(map_err)?;
    let mut untag = tx
        .prepare_cached(
            "DELETE FROM message_tags WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND message_id = ?4",
        )
        .map_err(map_err)?;
    let mut removed = 0;
    for (tenant, m) in messages {
        let (t, a) = (tenant.as_str(), m.account_id.as_str());
        let edited = m.edited_at.map(ns);
        let n = remove
            .execute(params![t, a, m.peer, m.id, m.text, edited, m.deleted, tags_json(&m.tags)])
            .map_err(map_err)?;
        if n == 1 {
            untag.execute(params![t, a, m.peer, m.id]).map_err(map_err)?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[async_trait]
impl MessageExpiry for SqliteStore {
    async fn expired_messages(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Message)>, PortError> {
        let (before, limit) = (ns(before), limit.clamp(1, MAX_EXPIRED_BATCH));
        self.db.read(move |tx| expired(tx, before, limit)).await
    }

    async fn remove_archived(&self, messages: &[(TenantId, Message)]) -> Result<usize, PortError> {
        let messages = messages.to_vec();
        self.db.write(move |tx| remove(tx, &messages)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::query_plan;

    #[test]
    fn expired_messages_are_a_range_of_the_date_index_without_a_sort() {
        let plan = query_plan(&EXPIRED);
        assert!(plan.contains("USING INDEX messages_by_date (date_ns<?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn a_removal_finds_its_message_by_the_key() {
        let plan = query_plan(REMOVE);
        assert!(plan.contains("USING INDEX messages_key"), "{plan}");
    }
}
