//! Accounts with their tag and group sets: blocking bodies of the
//! `Directory` account methods.

use super::codec::{self, ns};
use super::map_err;
use super::users::limit;
use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};
use std::collections::HashMap;
use tgdesk_core::domain::{Account, AccountHead, AccountId, Phone, TenantId};
use tgdesk_core::ports::{AccountPut, AccountQuery, DialogScope, PortError, PortErrorKind, SessionSave, SessionSaves};

/// Keys per `IN (…)` chunk: well under SQLite's variable limit, few round trips.
const CHUNK: usize = 500;

/// Stores each record whose phone no other account holds (the records
/// before it in the batch included); answers what became of each.
pub(super) fn put_accounts(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    accounts: &[Account],
) -> Result<Vec<AccountPut>, PortError> {
    let t = tenant.as_str();
    let mut holder = tx.prepare_cached("SELECT id FROM accounts WHERE tenant = ?1 AND phone = ?2").map_err(map_err)?;
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO accounts (tenant, id, phone, display_name, display_lower, status, owner_id, team_id, \
             session, created_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (tenant, id) DO UPDATE SET phone = excluded.phone, display_name = excluded.display_name, \
             display_lower = excluded.display_lower, status = excluded.status, owner_id = excluded.owner_id, \
             team_id = excluded.team_id, created_ns = excluded.created_ns, \
             updated_ns = excluded.updated_ns",
        )
        .map_err(map_err)?;
    let mut clear_tags =
        tx.prepare_cached("DELETE FROM account_tags WHERE tenant = ?1 AND account_id = ?2").map_err(map_err)?;
    let mut add_tag = tx
        .prepare_cached("INSERT INTO account_tags (tenant, account_id, tag_id) VALUES (?1, ?2, ?3)")
        .map_err(map_err)?;
    let mut clear_groups =
        tx.prepare_cached("DELETE FROM group_members WHERE tenant = ?1 AND account_id = ?2").map_err(map_err)?;
    let mut add_group = tx
        .prepare_cached("INSERT INTO group_members (tenant, account_id, group_id) VALUES (?1, ?2, ?3)")
        .map_err(map_err)?;
    // The inbox indexes are keyed by owner and team; move the dialogs along.
    let mut follow = tx
        .prepare_cached(
            "UPDATE dialogs SET owner_id = ?3, team_id = ?4 WHERE tenant = ?1 AND account_id = ?2 \
             AND (owner_id IS NOT ?3 OR team_id IS NOT ?4)",
        )
        .map_err(map_err)?;
    // Who holds each phone before anything is written, as DynamoDB's claims
    // are read before its writes: a phone an account leaves in this batch is
    // still its own for the rest of the batch.
    let mut taken_by: HashMap<&str, String> = HashMap::new();
    for a in accounts {
        if !taken_by.contains_key(a.phone.as_str()) {
            let held: Option<String> =
                holder.query_row([t, a.phone.as_str()], |r| r.get(0)).optional().map_err(map_err)?;
            taken_by.insert(a.phone.as_str(), held.unwrap_or_else(|| a.id.as_str().to_owned()));
        }
    }
    let outcomes: Vec<AccountPut> = accounts
        .iter()
        .map(|a| match taken_by[a.phone.as_str()] == a.id.as_str() {
            true => AccountPut::Stored,
            false => AccountPut::PhoneTaken,
        })
        .collect();
    for (a, outcome) in accounts.iter().zip(&outcomes) {
        if *outcome == AccountPut::PhoneTaken {
            continue;
        }
        let id = a.id.as_str();
        let owner = a.owner_id.as_ref().map(|u| u.as_str());
        let team = a.team_id.as_ref().map(|u| u.as_str());
        upsert
            .execute(params![
                t,
                id,
                a.phone.as_str(),
                a.display_name,
                a.display_name.as_ref().map(|n| n.to_lowercase()),
                a.status.as_str(),
                owner,
                team,
                a.session,
                ns(a.created_at),
                ns(a.updated_at),
            ])
            .map_err(map_err)?;
        clear_tags.execute([t, id]).map_err(map_err)?;
        for tag in &a.tags {
            add_tag.execute([t, id, tag.as_str()]).map_err(map_err)?;
        }
        clear_groups.execute([t, id]).map_err(map_err)?;
        for group in &a.groups {
            add_group.execute([t, id, group.as_str()]).map_err(map_err)?;
        }
        follow.execute(params![t, id, owner, team]).map_err(map_err)?;
    }
    Ok(outcomes)
}

/// Sets one column of an account (and `updated_ns`); `NotFound` when unknown.
pub(super) fn set_account_column(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: &AccountId,
    column: AccountColumn,
) -> Result<(), PortError> {
    let now = ns(chrono::Utc::now());
    let (t, i) = (tenant.as_str(), id.as_str());
    let changed = match column {
        AccountColumn::Status(status) => tx
            .prepare_cached("UPDATE accounts SET status = ?3, updated_ns = ?4 WHERE tenant = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![t, i, status.as_str(), now])),
        AccountColumn::Session(session, None) => tx
            .prepare_cached("UPDATE accounts SET session = ?3, updated_ns = ?4 WHERE tenant = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![t, i, session, now])),
        AccountColumn::Session(session, Some(fencing)) => {
            let fencing = fence(fencing)?;
            tx.prepare_cached(
                "UPDATE accounts SET session = ?3, updated_ns = ?4, session_fence = ?5 \
                 WHERE tenant = ?1 AND id = ?2 AND session_fence <= ?5",
            )
            .and_then(|mut s| s.execute(params![t, i, session, now, fencing]))
        }
    }
    .map_err(map_err)?;
    if changed == 0 {
        let exists = tx
            .prepare_cached("SELECT 1 FROM accounts WHERE tenant = ?1 AND id = ?2")
            .and_then(|mut s| s.exists(params![t, i]))
            .map_err(map_err)?;
        return Err(match exists {
            true => PortError::conflict(format!("account {id}: a later lease holder wrote its session")),
            false => PortError::not_found(format!("account {id} does not exist")),
        });
    }
    Ok(())
}

/// A fencing number as SQLite stores it.
fn fence(fencing: u64) -> Result<i64, PortError> {
    i64::try_from(fencing)
        .map_err(|_| PortError::new(PortErrorKind::Invalid, format!("fencing number {fencing} out of range")))
}

/// Stores many accounts' sessions in the one transaction; says which ids are
/// unknown and which were fenced off.
pub(super) fn set_account_sessions(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    sessions: Vec<SessionSave>,
) -> Result<SessionSaves, PortError> {
    let mut outcome = SessionSaves::default();
    for save in sessions {
        match set_account_column(tx, tenant, &save.id, AccountColumn::Session(Some(save.sealed), Some(save.fencing))) {
            Ok(()) => {}
            Err(e) if e.kind == PortErrorKind::NotFound => outcome.unknown.push(save.id),
            Err(e) if e.kind == PortErrorKind::Conflict => outcome.fenced.push(save.id),
            Err(e) => return Err(e),
        }
    }
    Ok(outcome)
}

/// The single columns the fleet writes.
pub(super) enum AccountColumn {
    Status(tgdesk_core::domain::AccountStatus),
    /// The sealed session and the writer's fencing number (`None`: unfenced).
    Session(Option<Vec<u8>>, Option<u64>),
}

pub(super) fn get_account(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: &AccountId,
) -> Result<Option<Account>, PortError> {
    let sql = format!("SELECT {} FROM accounts a WHERE a.tenant = ?1 AND a.id = ?2", codec::ACCOUNT_COLS);
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    stmt.query_row([tenant.as_str(), id.as_str()], |r| codec::account(tenant, r)).optional().map_err(map_err)
}

/// Returns the accounts whose `column` is one of `keys`, in chunks of `IN (…)`.
fn accounts_where_in(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    column: &str,
    keys: &[&str],
) -> Result<Vec<Account>, PortError> {
    rows_where_in(tx, tenant, codec::ACCOUNT_COLS, column, keys, |r| codec::account(tenant, r))
}

/// Reads `cols` of the accounts whose `column` is one of `keys`, in chunks of
/// `IN (…)`, each row through `read`.
fn rows_where_in<T>(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    cols: &str,
    column: &str,
    keys: &[&str],
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, PortError> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!("SELECT {cols} FROM accounts a WHERE a.tenant = ? AND a.{column} IN ({marks})");
        let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
        let args = std::iter::once(tenant.as_str()).chain(chunk.iter().copied());
        let rows = stmt.query_map(params_from_iter(args), &read).map_err(map_err)?;
        for row in rows {
            out.push(row.map_err(map_err)?);
        }
    }
    Ok(out)
}

/// `ids` as sorted, distinct keys.
fn id_keys(ids: &[AccountId]) -> Vec<&str> {
    let mut keys: Vec<&str> = ids.iter().map(AccountId::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

pub(super) fn get_accounts(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    ids: &[AccountId],
) -> Result<Vec<Account>, PortError> {
    accounts_where_in(tx, tenant, "id", &id_keys(ids))
}

pub(super) fn get_account_heads(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    ids: &[AccountId],
) -> Result<Vec<AccountHead>, PortError> {
    rows_where_in(tx, tenant, codec::ACCOUNT_HEAD_COLS, "id", &id_keys(ids), codec::account_head)
}

pub(super) fn find_by_phone(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    phones: &[Phone],
) -> Result<Vec<Account>, PortError> {
    let mut keys: Vec<&str> = phones.iter().map(Phone::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    accounts_where_in(tx, tenant, "phone", &keys)
}

/// Ids of runnable accounts, read from the `accounts_runnable` partial index alone.
pub(super) fn runnable_accounts(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    after: Option<&AccountId>,
    limit: usize,
) -> Result<Vec<AccountId>, PortError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT id FROM accounts INDEXED BY accounts_runnable
             WHERE tenant = ?1 AND id > ?2 AND session IS NOT NULL AND status NOT IN ('logged_out', 'banned')
             ORDER BY id LIMIT ?3",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params![tenant.as_str(), after.map_or("", AccountId::as_str), self::limit(limit)], |r| {
            codec::parsed(r, 0, AccountId::parse)
        })
        .map_err(map_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
}

pub(super) fn list_accounts(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    q: &AccountQuery,
) -> Result<Vec<Account>, PortError> {
    let mut sql = format!("SELECT {} FROM accounts a WHERE a.tenant = ?", codec::ACCOUNT_COLS);
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(tenant.as_str().to_owned())];
    let mut push = |clause: &str, arg: Option<String>| {
        sql.push_str(clause);
        if let Some(v) = arg {
            args.push(Box::new(v));
        }
    };
    match &q.scope {
        DialogScope::Tenant => {}
        DialogScope::Team(u) => push(" AND a.team_id = ?", Some(u.to_string())),
        DialogScope::Owner(u) => push(" AND a.owner_id = ?", Some(u.to_string())),
        DialogScope::Account(id) => push(" AND a.id = ?", Some(id.to_string())),
    }
    if let Some(owner) = &q.owner {
        push(" AND a.owner_id = ?", Some(owner.to_string()));
    }
    if q.unowned {
        push(" AND a.owner_id IS NULL", None);
    }
    if let Some(tag) = &q.tag {
        // Uncorrelated, so SQLite builds the member set once per query.
        push(" AND a.id IN (SELECT account_id FROM account_tags WHERE tenant = ?", Some(tenant.to_string()));
        push(" AND tag_id = ?)", Some(tag.to_string()));
    }
    if let Some(group) = &q.group {
        push(" AND a.id IN (SELECT account_id FROM group_members WHERE tenant = ?", Some(tenant.to_string()));
        push(" AND group_id = ?)", Some(group.to_string()));
    }
    if let Some(status) = q.status {
        push(" AND a.status = ?", Some(status.as_str().to_owned()));
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let needle = text.to_lowercase();
        push(" AND (instr(a.phone, ?) > 0", Some(needle.clone()));
        push(" OR instr(a.display_lower, ?) > 0)", Some(needle));
    }
    if let Some(after) = &q.after {
        push(" AND a.id > ?", Some(after.to_string()));
    }
    sql.push_str(" ORDER BY a.id LIMIT ?");
    args.push(Box::new(limit(q.limit)));
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| codec::account(tenant, r)).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub(super) fn delete_account(tx: &Transaction<'_>, tenant: &TenantId, id: &AccountId) -> Result<(), PortError> {
    let key = [tenant.as_str(), id.as_str()];
    let n = tx.execute("DELETE FROM accounts WHERE tenant = ?1 AND id = ?2", key).map_err(map_err)?;
    if n == 0 {
        return Err(PortError::not_found(format!("account {id} not found")));
    }
    // Tag and group membership and dialogs go by cascade; the rest has no foreign key.
    for day in super::days::days(tx)? {
        let sql = format!("DELETE FROM {} WHERE tenant = ?1 AND account_id = ?2", super::days::table(day));
        tx.execute(&sql, key).map_err(map_err)?;
    }
    for sql in [
        "DELETE FROM message_tags WHERE tenant = ?1 AND account_id = ?2",
        "DELETE FROM pins WHERE tenant = ?1 AND account_id = ?2",
        "DELETE FROM dialogs WHERE tenant = ?1 AND account_id = ?2",
    ] {
        tx.execute(sql, key).map_err(map_err)?;
    }
    super::feed::account_deleted(tx, tenant, id)
}
