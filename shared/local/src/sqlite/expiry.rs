//! The `MessageExpiry` port on SQLite: the archiver's reads of expired
//! messages (a range of the date index) and its removals, which write no
//! change-feed row so the search index keeps archived messages.

use super::codec::{self, ns, tags_json};
use super::{map_err, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Transaction};
use std::collections::HashSet;
use std::sync::LazyLock;
use tgdesk_core::domain::{Message, TenantId};
use tgdesk_core::ports::{DialogKey, MessageExpiry, PortError, PortErrorKind, MAX_EXPIRED_BATCH};

/// The dialogs of the messages dated before ?1, oldest first, at most ?3
/// rows, among rowids below ?2 (the first one the change feed has yet to
/// report).
const EXPIRED_DIALOGS: &str = "SELECT tenant, account_id, peer FROM messages \
     WHERE date_ns < ?1 AND rowid < ?2 ORDER BY date_ns LIMIT ?3";

/// Most rows one removal transaction deletes.
const REMOVALS_PER_WRITE: usize = 2_500;

/// How many rows of the date index a read may pass over for each message it
/// may return, so skipped dialogs cannot make it scan without end.
const SCAN_PER_MESSAGE: usize = 4;

/// One dialog's messages dated before ?4, in id order, at most ?6, among
/// rowids below ?5.
static EXPIRED_OF_DIALOG: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT tenant, {} FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 \
         AND date_ns < ?4 AND rowid < ?5 ORDER BY id LIMIT ?6",
        codec::MESSAGE_COLS
    )
});

/// The first message rowid an unread feed row names (the feed is trimmed as
/// the indexer commits, so this reads a short table).
const FIRST_UNREPORTED: &str = "SELECT min(peer) FROM search_feed WHERE op = 0";

/// Removes a message only while it is as the archiver read it.
const REMOVE: &str = "DELETE FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND id = ?4 \
     AND text = ?5 AND edited_ns IS ?6 AND deleted = ?7 AND tags = ?8";

/// Reads whole dialogs' worth of expired messages: the dialogs of the
/// oldest expired messages, each with every expired message it has (while
/// the limit allows), so the archive writes each dialog once per run rather
/// than once per message.
fn expired(
    tx: &Transaction<'_>,
    before: i64,
    limit: usize,
    skip: &HashSet<(String, String, i64)>,
) -> Result<Vec<(TenantId, Message)>, PortError> {
    let first = tx.query_row(FIRST_UNREPORTED, [], |r| r.get::<_, Option<i64>>(0)).map_err(map_err)?;
    let first = first.unwrap_or(i64::MAX);
    // Dialogs are taken as the scan finds them, so a batch reads the index
    // rows of the dialogs it returns, not a whole limit's worth of rows.
    let mut scan = tx.prepare_cached(EXPIRED_DIALOGS).map_err(map_err)?;
    let mut of_dialog = tx.prepare_cached(&EXPIRED_OF_DIALOG).map_err(map_err)?;
    let mut rows = scan.query(params![before, first, (limit * SCAN_PER_MESSAGE) as i64]).map_err(map_err)?;
    let (mut seen, mut out) = (HashSet::new(), Vec::new());
    while out.len() < limit {
        let Some(row) = rows.next().map_err(map_err)? else { break };
        let dialog: (String, String, i64) =
            (row.get(0).map_err(map_err)?, row.get(1).map_err(map_err)?, row.get(2).map_err(map_err)?);
        if skip.contains(&dialog) || seen.contains(&dialog) {
            continue;
        }
        let (tenant, account, peer) = &dialog;
        let tenant_id = TenantId::parse(tenant)
            .map_err(|e| PortError::new(PortErrorKind::Internal, format!("stored tenant unreadable: {e}")))?;
        let left = (limit - out.len()) as i64;
        let messages = of_dialog
            .query_map(params![tenant, account, peer, before, first, left], |r| codec::message_at(r, 1))
            .map_err(map_err)?;
        for message in messages {
            out.push((tenant_id.clone(), message.map_err(map_err)?));
        }
        seen.insert(dialog);
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
        skip: &HashSet<DialogKey>,
    ) -> Result<Vec<(TenantId, Message)>, PortError> {
        let (before, limit) = (ns(before), limit.clamp(1, MAX_EXPIRED_BATCH));
        let skip: HashSet<(String, String, i64)> =
            skip.iter().map(|(t, a, p)| (t.as_str().to_owned(), a.as_str().to_owned(), *p)).collect();
        self.db.read(move |tx| expired(tx, before, limit, &skip)).await
    }

    async fn remove_archived(&self, messages: &[(TenantId, Message)]) -> Result<usize, PortError> {
        let mut removed = 0;
        // One transaction per chunk: ingest shares the writer and waits for
        // each; a whole batch at once held it for most of a second.
        for chunk in messages.chunks(REMOVALS_PER_WRITE) {
            let chunk = chunk.to_vec();
            removed += self.db.write(move |tx| remove(tx, &chunk)).await?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::query_plan;

    #[test]
    fn expired_dialogs_are_a_range_of_the_date_index_and_their_messages_a_range_of_the_key() {
        let plan = query_plan(EXPIRED_DIALOGS);
        assert!(plan.contains("USING INDEX messages_by_date (date_ns<?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        let plan = query_plan(&EXPIRED_OF_DIALOG);
        assert!(plan.contains("USING INDEX messages_key (tenant=? AND account_id=? AND peer=?"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[tokio::test]
    async fn expired_messages_come_a_dialog_at_a_time_with_all_of_its_own() {
        use tgdesk_core::ports::{ChangeFeed, Directory, MessageWriter};
        use tgdesk_core::testkit::fixtures::{account, at, message, tenant};
        crate::page_cache::install();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db")).unwrap();
        let t = tenant();
        let acc = account(&t);
        store.put_accounts(&t, std::slice::from_ref(&acc)).await.unwrap();
        let acc = acc.id;
        // Three dialogs writing in turns, a message a minute each; the last
        // two minutes are not expired yet.
        let messages: Vec<Message> = (0..30).map(|i| message(&acc, i % 3, i / 3 + 1, i * 60_000, false)).collect();
        store.ingest_messages(&t, &messages).await.unwrap();
        store.trim(&store.feed_head().await.unwrap()).await.unwrap();

        let before = at(28 * 60_000);
        let batch = store.expired_messages(before, 12, &HashSet::new()).await.unwrap();
        let dialogs: Vec<(i64, i64)> = batch.iter().map(|(_, m)| (m.peer, m.id)).collect();
        let expected: Vec<(i64, i64)> = (1..=10).map(|id| (0, id)).chain((1..=2).map(|id| (1, id))).collect();
        assert_eq!(dialogs, expected, "dialog 0 whole, then dialog 1 as far as the limit allows");

        // Dialog 0 in flight: passed over.
        let skip = HashSet::from([(t.clone(), acc.clone(), 0)]);
        let batch = store.expired_messages(before, 12, &skip).await.unwrap();
        let dialogs: Vec<(i64, i64)> = batch.iter().map(|(_, m)| (m.peer, m.id)).collect();
        let expected: Vec<(i64, i64)> = (1..=9).map(|id| (1, id)).chain((1..=3).map(|id| (2, id))).collect();
        assert_eq!(dialogs, expected, "dialog 1 whole, then dialog 2 as far as the limit allows");

        let all = store.expired_messages(before, 100, &HashSet::new()).await.unwrap();
        assert_eq!(all.len(), 28);
        assert!(all.iter().all(|(tt, m)| tt == &t && m.date < before));
    }

    #[test]
    fn a_removal_finds_its_message_by_the_key() {
        let plan = query_plan(REMOVE);
        assert!(plan.contains("USING INDEX messages_key"), "{plan}");
    }
}
