//! `MessageWriter` and `MessageReader` for [`SqliteStore`]. Writes run the
//! bodies in `ingest`; reads are keyset range scans over the dialog indexes
//! (`at_ms DESC, account_id DESC, peer DESC` under the scope's key).

use super::codec::{self, ns};
use super::users::limit;
use super::{ingest, map_err, profiles, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::BTreeSet;
use std::sync::LazyLock;
use tgdesk_core::domain::{AccountId, Dialog, Message, PeerProfile, TagId, TenantId};
use tgdesk_core::ports::{
    DialogCursor, DialogFilter, DialogScope, IngestOutcome, MessageReader, MessageWriter, PortError,
};

#[async_trait]
impl MessageWriter for SqliteStore {
    async fn upsert_dialogs(&self, tenant: &TenantId, dialogs: &[Dialog]) -> Result<(), PortError> {
        if dialogs.is_empty() {
            return Ok(());
        }
        let (tenant, dialogs) = (tenant.clone(), dialogs.to_vec());
        self.db.write(move |tx| ingest::upsert_dialogs(tx, &tenant, &dialogs)).await
    }

    async fn ingest_messages(&self, tenant: &TenantId, messages: &[Message]) -> Result<IngestOutcome, PortError> {
        if messages.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let (tenant, messages) = (tenant.clone(), messages.to_vec());
        self.db.write(move |tx| ingest::ingest(tx, &tenant, &messages)).await
    }

    async fn edit_message(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
        text: &str,
        edited_at: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let (tenant, account, text) = (tenant.clone(), account.clone(), text.to_owned());
        self.db.write(move |tx| ingest::edit(tx, (&tenant, &account, peer, id), &text, ns(edited_at))).await
    }

    async fn delete_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        ids: &[i64],
    ) -> Result<(), PortError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (tenant, account, ids) = (tenant.clone(), account.clone(), ids.to_vec());
        self.db.write(move |tx| ingest::delete(tx, &tenant, &account, peer, &ids)).await
    }

    async fn delete_unplaced_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        ids: &[i64],
    ) -> Result<Vec<(i64, i64)>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, account, ids) = (tenant.clone(), account.clone(), ids.to_vec());
        self.db.write(move |tx| ingest::delete_unplaced(tx, &tenant, &account, &ids)).await
    }

    async fn upsert_profiles(&self, tenant: &TenantId, profiles: &[PeerProfile]) -> Result<(), PortError> {
        if profiles.is_empty() {
            return Ok(());
        }
        let (tenant, profiles) = (tenant.clone(), profiles.to_vec());
        self.db.write(move |tx| profiles::upsert(tx, &tenant, &profiles)).await
    }

    async fn mark_read(&self, tenant: &TenantId, account: &AccountId, peer: i64, up_to: i64) -> Result<(), PortError> {
        let (tenant, account) = (tenant.clone(), account.clone());
        self.db.write(move |tx| ingest::mark_read(tx, &tenant, &account, peer, up_to)).await
    }

    async fn set_message_tags(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
        tags: &BTreeSet<TagId>,
    ) -> Result<(), PortError> {
        let (tenant, account, tags) = (tenant.clone(), account.clone(), tags.clone());
        self.db.write(move |tx| ingest::set_tags(tx, (&tenant, &account, peer, id), &tags)).await
    }
}

#[async_trait]
impl MessageReader for SqliteStore {
    async fn list_dialogs(
        &self,
        tenant: &TenantId,
        scope: &DialogScope,
        filter: &DialogFilter,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, PortError> {
        let (tenant, scope, filter, after) = (tenant.clone(), scope.clone(), filter.clone(), after.cloned());
        self.db.read(move |tx| list_dialogs(tx, &tenant, &scope, &filter, after.as_ref(), limit)).await
    }

    async fn get_dialogs(&self, tenant: &TenantId, keys: &[(AccountId, i64)]) -> Result<Vec<Dialog>, PortError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, keys) = (tenant.clone(), keys.to_vec());
        self.db.read(move |tx| get_dialogs(tx, &tenant, &keys)).await
    }

    async fn list_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, PortError> {
        let (tenant, account) = (tenant.clone(), account.clone());
        self.db.read(move |tx| list_messages(tx, &tenant, &account, peer, before, limit)).await
    }

    async fn get_message(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
    ) -> Result<Option<Message>, PortError> {
        let (tenant, account) = (tenant.clone(), account.clone());
        self.db
            .read(move |tx| {
                let sql = format!(
                    "SELECT {} FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND id = ?4",
                    codec::MESSAGE_COLS
                );
                let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
                stmt.query_row(params![tenant.as_str(), account.as_str(), peer, id], codec::message)
                    .optional()
                    .map_err(map_err)
            })
            .await
    }

    async fn get_profile(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
    ) -> Result<Option<PeerProfile>, PortError> {
        let (tenant, account) = (tenant.clone(), account.clone());
        self.db.read(move |tx| profiles::get(tx, &tenant, &account, peer)).await
    }

    async fn get_self_profile(&self, tenant: &TenantId, account: &AccountId) -> Result<Option<PeerProfile>, PortError> {
        let (tenant, account) = (tenant.clone(), account.clone());
        self.db.read(move |tx| profiles::get_self(tx, &tenant, &account)).await
    }

    async fn list_contacts(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PeerProfile>, PortError> {
        let (tenant, account) = (tenant.clone(), account.clone());
        self.db.read(move |tx| profiles::contacts(tx, &tenant, &account, after, limit)).await
    }
}

/// The dialogs table read through its primary key (tenant, account_id, peer):
/// the name SQLite gives the index of a rowid table's first key constraint.
const DIALOGS_BY_KEY: &str = "dialogs INDEXED BY sqlite_autoindex_dialogs_1";

fn list_dialogs(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    scope: &DialogScope,
    filter: &DialogFilter,
    after: Option<&DialogCursor>,
    n: usize,
) -> Result<Vec<Dialog>, PortError> {
    let (sql, key) = list_dialogs_sql(scope, filter);
    // Without a cursor, start above every real key.
    let (at_ms, account, peer) = after.map_or((i64::MAX, "~", i64::MAX), |c| (c.at_ms, c.account_id.as_str(), c.peer));
    let mut values: Vec<Value> =
        vec![tenant.as_str().to_owned().into(), at_ms.into(), account.to_owned().into(), peer.into(), limit(n).into()];
    // ?6 is the scope's key, ?7 the accounts (JSON): bound up to the last one the query uses.
    if key.is_some() || filter.accounts.is_some() {
        values.push(key.map_or(Value::Null, |k| Value::Text(k.to_owned())));
    }
    if let Some(accounts) = &filter.accounts {
        let list: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
        values.push(Value::Text(serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned())));
    }
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(values), codec::dialog).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

/// The query of one page of a scope's inbox passing `filter`, and the
/// scope's key (`?6`; the filter's accounts are `?7`, a JSON list). The
/// row-value comparison lets SQLite range-scan the scope's index from the
/// cursor. One account's dialogs have no inbox index (ingest would keep it
/// up per message): they are read from the primary key's range of the
/// account and sorted, which SQLite must be told, or it walks the tenant's inbox.
fn list_dialogs_sql<'a>(scope: &'a DialogScope, filter: &DialogFilter) -> (String, Option<&'a str>) {
    let (table, scoped, key) = match scope {
        DialogScope::Tenant => ("dialogs", "", None),
        DialogScope::Team(u) => ("dialogs", " AND team_id = ?6", Some(u.as_str())),
        DialogScope::Owner(u) => ("dialogs", " AND owner_id = ?6", Some(u.as_str())),
        DialogScope::Account(a) => (DIALOGS_BY_KEY, " AND account_id = ?6", Some(a.as_str())),
    };
    let unread = if filter.unread_only { " AND unread > 0" } else { "" };
    let accounts = if filter.accounts.is_some() { " AND account_id IN (SELECT value FROM json_each(?7))" } else { "" };
    let sql = format!(
        "SELECT {} FROM {table} WHERE tenant = ?1{scoped}{unread}{accounts} AND (at_ms, account_id, peer) < (?2, ?3, ?4) \
         ORDER BY at_ms DESC, account_id DESC, peer DESC LIMIT ?5",
        codec::DIALOG_COLS
    );
    (sql, key)
}

fn get_dialogs(tx: &Transaction<'_>, tenant: &TenantId, keys: &[(AccountId, i64)]) -> Result<Vec<Dialog>, PortError> {
    let sql = format!("SELECT {} FROM dialogs WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3", codec::DIALOG_COLS);
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    let mut out = Vec::with_capacity(keys.len());
    let mut seen = BTreeSet::new();
    for (account, peer) in keys {
        if !seen.insert((account, *peer)) {
            continue;
        }
        if let Some(d) = stmt
            .query_row(params![tenant.as_str(), account.as_str(), peer], codec::dialog)
            .optional()
            .map_err(map_err)?
        {
            out.push(d);
        }
    }
    Ok(out)
}

/// One page of a dialog's history (?1..?3) below id ?4, newest first, at most ?5.
static LIST_MESSAGES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND id < ?4 ORDER BY id DESC LIMIT ?5",
        codec::MESSAGE_COLS
    )
});

fn list_messages(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    account: &AccountId,
    peer: i64,
    before: Option<i64>,
    n: usize,
) -> Result<Vec<Message>, PortError> {
    let mut stmt = tx.prepare_cached(&LIST_MESSAGES).map_err(map_err)?;
    let rows = stmt
        .query_map(
            params![tenant.as_str(), account.as_str(), peer, before.unwrap_or(i64::MAX), limit(n)],
            codec::message,
        )
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::query_plan;
    use tgdesk_core::domain::UserId;

    #[test]
    fn a_history_page_is_a_range_of_each_days_key_read_backwards_and_merged_without_a_sort() {
        let plan = query_plan(&LIST_MESSAGES);
        assert!(plan.contains("MERGE (UNION ALL)"), "{plan}");
        assert!(
            plan.contains("SEARCH messages_19700101 USING INDEX messages_19700101_key (tenant=? AND account_id=? AND peer=? AND id<?)"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn each_inbox_page_is_a_range_of_one_index_and_only_an_account_page_is_sorted() {
        let user = UserId::parse("u1").unwrap();
        let account = AccountId::parse("a1").unwrap();
        let cases = [
            (DialogScope::Tenant, "USING INDEX dialogs_tenant (tenant=? AND (at_ms,account_id,peer)<(?,?,?))"),
            (
                DialogScope::Team(user.clone()),
                "USING INDEX dialogs_team (tenant=? AND team_id=? AND (at_ms,account_id,peer)<(?,?,?))",
            ),
            (
                DialogScope::Owner(user),
                "USING INDEX dialogs_owner (tenant=? AND owner_id=? AND (at_ms,account_id,peer)<(?,?,?))",
            ),
            (DialogScope::Account(account), "USING INDEX sqlite_autoindex_dialogs_1 (tenant=? AND account_id=?)"),
        ];
        for (scope, index) in cases {
            let plan = query_plan(&list_dialogs_sql(&scope, &DialogFilter::default()).0);
            let unread = DialogFilter { unread_only: true, accounts: None };
            let unread_plan = query_plan(&list_dialogs_sql(&scope, &unread).0);
            assert!(unread_plan.contains(index), "unread, {scope:?}: {unread_plan}");
            assert!(plan.contains(index), "{scope:?}: {plan}");
            assert!(!plan.contains("SCAN"), "{scope:?}: {plan}");
            let sorted = plan.contains("TEMP B-TREE");
            assert_eq!(sorted, matches!(scope, DialogScope::Account(_)), "{scope:?}: {plan}");
        }
    }
}
