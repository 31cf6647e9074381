//! Tenants and users: blocking bodies of the `Directory` methods, run inside
//! the transaction [`super::SqliteStore`] opens.

use super::codec::{self, ns};
use super::map_err;
use rusqlite::{params, OptionalExtension, Transaction};
use tgdesk_core::domain::{Tenant, TenantId, User, UserId, Username};
use tgdesk_core::ports::{PortError, UserQuery};

pub(super) fn create_tenant(tx: &Transaction<'_>, tenant: &Tenant) -> Result<(), PortError> {
    tx.prepare_cached("INSERT INTO tenants (id, created_ns) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![tenant.id.as_str(), ns(tenant.created_at)]))
        .map_err(map_err)?;
    Ok(())
}

pub(super) fn list_tenants(tx: &Transaction<'_>) -> Result<Vec<Tenant>, PortError> {
    let mut stmt = tx.prepare_cached("SELECT id, created_ns FROM tenants ORDER BY id").map_err(map_err)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(map_err)?;
    rows.map(|row| {
        let (id, created) = row.map_err(map_err)?;
        let id = TenantId::parse(&id).map_err(|e| PortError::new(tgdesk_core::ports::PortErrorKind::Internal, e.0))?;
        Ok(Tenant { id, created_at: codec::from_ns(created) })
    })
    .collect()
}

pub(super) fn get_tenant(tx: &Transaction<'_>, id: &TenantId) -> Result<Option<Tenant>, PortError> {
    let mut stmt = tx.prepare_cached("SELECT created_ns FROM tenants WHERE id = ?1").map_err(map_err)?;
    let created = stmt.query_row([id.as_str()], |r| r.get::<_, i64>(0)).optional().map_err(map_err)?;
    Ok(created.map(|c| Tenant { id: id.clone(), created_at: codec::from_ns(c) }))
}

/// Runs `sql` with a user's columns as ?1..?10 in table order.
fn exec_user(tx: &Transaction<'_>, sql: &str, user: &User) -> Result<usize, PortError> {
    tx.prepare_cached(sql)
        .and_then(|mut s| {
            s.execute(params![
                user.tenant.as_str(),
                user.id.as_str(),
                user.username.as_str(),
                user.display_name,
                user.role.as_str(),
                user.leader_id.as_ref().map(|l| l.as_str()),
                user.disabled,
                user.password_hash,
                user.token_version,
                ns(user.created_at),
            ])
        })
        .map_err(map_err)
}

pub(super) fn insert_user(tx: &Transaction<'_>, user: &User) -> Result<(), PortError> {
    exec_user(
        tx,
        "INSERT INTO users (tenant, id, username, display_name, role, leader_id, disabled, password_hash, \
         token_version, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        user,
    )?;
    Ok(())
}

pub(super) fn update_user(tx: &Transaction<'_>, user: &User) -> Result<(), PortError> {
    let n = exec_user(
        tx,
        "UPDATE users SET username = ?3, display_name = ?4, role = ?5, leader_id = ?6, disabled = ?7, \
         password_hash = ?8, token_version = ?9, created_ns = ?10 WHERE tenant = ?1 AND id = ?2",
        user,
    )?;
    if n == 0 {
        return Err(PortError::not_found(format!("user {} not found", user.id)));
    }
    Ok(())
}

pub(super) fn get_user(tx: &Transaction<'_>, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError> {
    let sql = format!("SELECT {} FROM users WHERE tenant = ?1 AND id = ?2", codec::USER_COLS);
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    stmt.query_row([tenant.as_str(), id.as_str()], |r| codec::user(tenant, r)).optional().map_err(map_err)
}

pub(super) fn find_user(tx: &Transaction<'_>, tenant: &TenantId, name: &Username) -> Result<Option<User>, PortError> {
    let sql = format!("SELECT {} FROM users WHERE tenant = ?1 AND username = ?2", codec::USER_COLS);
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    stmt.query_row([tenant.as_str(), name.as_str()], |r| codec::user(tenant, r)).optional().map_err(map_err)
}

/// The query of `list_users`: a statement per filter combination, so SQLite
/// range-scans the index that serves it (`users_leader`, `users_role`)
/// instead of every user of the tenant. Ingest and status reports look up
/// the admins all the time. Parameters: tenant, leader, role, after, limit.
fn list_users_sql(q: &UserQuery) -> String {
    let leader = if q.leader_id.is_some() { " AND leader_id = ?2" } else { "" };
    let role = if q.role.is_some() { " AND role = ?3" } else { "" };
    format!("SELECT {} FROM users WHERE tenant = ?1{leader}{role} AND id > ?4 ORDER BY id LIMIT ?5", codec::USER_COLS)
}

pub(super) fn list_users(tx: &Transaction<'_>, tenant: &TenantId, q: &UserQuery) -> Result<Vec<User>, PortError> {
    let mut stmt = tx.prepare_cached(&list_users_sql(q)).map_err(map_err)?;
    let rows = stmt
        .query_map(
            params![
                tenant.as_str(),
                q.leader_id.as_ref().map(|l| l.as_str()),
                q.role.map(|r| r.as_str()),
                q.after.as_ref().map_or("", |a| a.as_str()),
                limit(q.limit),
            ],
            |r| codec::user(tenant, r),
        )
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub(super) fn delete_user(tx: &Transaction<'_>, tenant: &TenantId, id: &UserId) -> Result<(), PortError> {
    let t = tenant.as_str();
    let n = tx
        .prepare_cached("DELETE FROM users WHERE tenant = ?1 AND id = ?2")
        .and_then(|mut s| s.execute([t, id.as_str()]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(PortError::not_found(format!("user {id} not found")));
    }
    tx.execute("DELETE FROM pins WHERE tenant = ?1 AND user_id = ?2", [t, id.as_str()]).map_err(map_err)?;
    tx.execute(
        "DELETE FROM group_members WHERE tenant = ?1 AND group_id IN \
         (SELECT id FROM groups WHERE tenant = ?1 AND owner_id = ?2)",
        [t, id.as_str()],
    )
    .map_err(map_err)?;
    tx.execute("DELETE FROM groups WHERE tenant = ?1 AND owner_id = ?2", [t, id.as_str()]).map_err(map_err)?;
    Ok(())
}

/// Clamps a page size to what SQLite's LIMIT takes.
pub(super) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::domain::Role;

    use crate::sqlite::query_plan as plan;

    #[test]
    fn each_user_filter_reads_its_index_instead_of_every_user() {
        let admins = UserQuery { role: Some(Role::Admin), ..Default::default() };
        let team = UserQuery { leader_id: Some(UserId::generate()), ..Default::default() };
        let all = UserQuery::default();

        assert!(plan(&list_users_sql(&admins)).contains("INDEX users_role"), "{}", plan(&list_users_sql(&admins)));
        assert!(plan(&list_users_sql(&team)).contains("INDEX users_leader"), "{}", plan(&list_users_sql(&team)));
        assert!(!plan(&list_users_sql(&all)).contains("TEMP B-TREE"), "paged by id without a sort");
    }
}
