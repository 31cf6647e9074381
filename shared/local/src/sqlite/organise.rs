//! Groups, tags, pins and the audit log: blocking bodies of those
//! `Directory` methods.

use super::codec::{self, ns, tags_json, to_json};
use super::users::limit;
use super::{days, map_err};
use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};
use std::collections::BTreeSet;
use tgdesk_core::domain::{AuditEntry, Group, GroupId, Tag, TagId, TenantId, UserId};
use tgdesk_core::ports::{AuditQuery, Pin, PinTarget, PortError};

pub(super) fn put_group(tx: &Transaction<'_>, tenant: &TenantId, g: &Group) -> Result<(), PortError> {
    tx.prepare_cached(
        "INSERT INTO groups (tenant, id, owner_id, name, created_ns) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (tenant, id) DO UPDATE SET owner_id = excluded.owner_id, name = excluded.name, \
         created_ns = excluded.created_ns",
    )
    .and_then(|mut s| s.execute(params![tenant.as_str(), g.id.as_str(), g.owner_id.as_str(), g.name, ns(g.created_at)]))
    .map_err(map_err)?;
    Ok(())
}

pub(super) fn get_group(tx: &Transaction<'_>, tenant: &TenantId, id: &GroupId) -> Result<Option<Group>, PortError> {
    let sql = format!("SELECT {} FROM groups WHERE tenant = ?1 AND id = ?2", codec::GROUP_COLS);
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    stmt.query_row([tenant.as_str(), id.as_str()], codec::group).optional().map_err(map_err)
}

pub(super) fn list_groups(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    owner: Option<&UserId>,
) -> Result<Vec<Group>, PortError> {
    let sql = format!(
        "SELECT {} FROM groups WHERE tenant = ?1 AND (?2 IS NULL OR owner_id = ?2) ORDER BY name, id",
        codec::GROUP_COLS
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt.query_map(params![tenant.as_str(), owner.map(UserId::as_str)], codec::group).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub(super) fn delete_group(tx: &Transaction<'_>, tenant: &TenantId, id: &GroupId) -> Result<(), PortError> {
    let key = [tenant.as_str(), id.as_str()];
    if tx.execute("DELETE FROM groups WHERE tenant = ?1 AND id = ?2", key).map_err(map_err)? == 0 {
        return Err(PortError::not_found(format!("group {id} not found")));
    }
    tx.execute("DELETE FROM group_members WHERE tenant = ?1 AND group_id = ?2", key).map_err(map_err)?;
    Ok(())
}

pub(super) fn put_tag(tx: &Transaction<'_>, tenant: &TenantId, tag: &Tag) -> Result<(), PortError> {
    tx.prepare_cached(
        "INSERT INTO tags (tenant, id, name, color, created_ns) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name, color = excluded.color, \
         created_ns = excluded.created_ns",
    )
    .and_then(|mut s| s.execute(params![tenant.as_str(), tag.id.as_str(), tag.name, tag.color, ns(tag.created_at)]))
    .map_err(map_err)?;
    Ok(())
}

pub(super) fn list_tags(tx: &Transaction<'_>, tenant: &TenantId) -> Result<Vec<Tag>, PortError> {
    let sql = format!("SELECT {} FROM tags WHERE tenant = ?1 ORDER BY name, id", codec::TAG_COLS);
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt.query_map([tenant.as_str()], codec::tag).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub(super) fn delete_tag(tx: &Transaction<'_>, tenant: &TenantId, id: &TagId) -> Result<(), PortError> {
    let key = [tenant.as_str(), id.as_str()];
    if tx.execute("DELETE FROM tags WHERE tenant = ?1 AND id = ?2", key).map_err(map_err)? == 0 {
        return Err(PortError::not_found(format!("tag {id} not found")));
    }
    tx.execute("DELETE FROM account_tags WHERE tenant = ?1 AND tag_id = ?2", key).map_err(map_err)?;
    let tagged: Vec<(String, i64, i64)> = {
        let mut stmt = tx
            .prepare_cached("SELECT account_id, peer, message_id FROM message_tags WHERE tenant = ?1 AND tag_id = ?2")
            .map_err(map_err)?;
        let rows = stmt.query_map(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(map_err)?;
        rows.collect::<Result<_, _>>().map_err(map_err)?
    };
    let mut read = tx
        .prepare_cached("SELECT tags FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND id = ?4")
        .map_err(map_err)?;
    for (account, peer, msg) in &tagged {
        let args = params![tenant.as_str(), account, peer, msg];
        // Archived since: the archive's overlay keeps its tags.
        let Some(raw) = read.query_row(args, |r| r.get::<_, String>(0)).optional().map_err(map_err)? else {
            continue;
        };
        let mut tags: BTreeSet<String> = serde_json::from_str(&raw).unwrap_or_default();
        tags.remove(id.as_str());
        let kept: BTreeSet<TagId> = tags.iter().filter_map(|t| TagId::parse(t).ok()).collect();
        days::update(tx, (tenant.as_str(), account, *peer, *msg), "tags = ?2", &[&tags_json(&kept)])?;
    }
    super::feed::changed(tx, tenant, tagged.iter().map(|(account, peer, msg)| (account.as_str(), *peer, *msg)))?;
    tx.execute("DELETE FROM message_tags WHERE tenant = ?1 AND tag_id = ?2", key).map_err(map_err)?;
    Ok(())
}

pub(super) fn set_pin(tx: &Transaction<'_>, tenant: &TenantId, pin: &Pin) -> Result<(), PortError> {
    let (account, peer, target) = codec::pin_key(&pin.target);
    tx.prepare_cached(
        "INSERT INTO pins (tenant, user_id, account_id, peer, target, pinned_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (tenant, user_id, account_id, target) DO UPDATE SET pinned_ns = excluded.pinned_ns",
    )
    .and_then(|mut s| {
        s.execute(params![tenant.as_str(), pin.user_id.as_str(), account.as_str(), peer, target, ns(pin.pinned_at)])
    })
    .map_err(map_err)?;
    Ok(())
}

pub(super) fn remove_pin(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    user: &UserId,
    target: &PinTarget,
) -> Result<(), PortError> {
    let (account, _, key) = codec::pin_key(target);
    tx.prepare_cached("DELETE FROM pins WHERE tenant = ?1 AND user_id = ?2 AND account_id = ?3 AND target = ?4")
        .and_then(|mut s| s.execute(params![tenant.as_str(), user.as_str(), account.as_str(), key]))
        .map_err(map_err)?;
    Ok(())
}

pub(super) fn list_pins(tx: &Transaction<'_>, tenant: &TenantId, user: &UserId) -> Result<Vec<Pin>, PortError> {
    let sql = format!(
        "SELECT {} FROM pins WHERE tenant = ?1 AND user_id = ?2 ORDER BY pinned_ns DESC, account_id DESC, target DESC",
        codec::PIN_COLS
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt.query_map([tenant.as_str(), user.as_str()], codec::pin).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub(super) fn append_audit(tx: &Transaction<'_>, tenant: &TenantId, entries: &[AuditEntry]) -> Result<(), PortError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO audit (tenant, id, at_ns, actor_id, action, account_id, target, details) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(map_err)?;
    for e in entries {
        stmt.execute(params![
            tenant.as_str(),
            e.id.as_str(),
            ns(e.at),
            e.actor_id.as_ref().map(UserId::as_str),
            e.action.as_str(),
            e.account_id.as_ref().map(|a| a.as_str()),
            e.target,
            to_json(&e.details),
        ])
        .map_err(map_err)?;
    }
    Ok(())
}

pub(super) fn list_audit(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    q: &AuditQuery,
) -> Result<Vec<AuditEntry>, PortError> {
    let mut sql = format!("SELECT {} FROM audit WHERE tenant = ?", codec::AUDIT_COLS);
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(tenant.as_str().to_owned())];
    if let Some(actors) = &q.actors {
        if actors.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(&format!(" AND actor_id IN ({})", vec!["?"; actors.len()].join(",")));
        args.extend(actors.iter().map(|a| Box::new(a.to_string()) as Box<dyn ToSql>));
    }
    if let Some(account) = &q.account {
        sql.push_str(" AND account_id = ?");
        args.push(Box::new(account.to_string()));
    }
    if let Some(action) = q.action {
        sql.push_str(" AND action = ?");
        args.push(Box::new(action.as_str()));
    }
    if let Some(from) = q.from {
        sql.push_str(" AND at_ns >= ?");
        args.push(Box::new(ns(from)));
    }
    if let Some(to) = q.to {
        sql.push_str(" AND at_ns < ?");
        args.push(Box::new(ns(to)));
    }
    if let Some(before) = &q.before {
        sql.push_str(" AND id < ?");
        args.push(Box::new(before.to_string()));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(Box::new(limit(q.limit)));
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), codec::audit).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}
