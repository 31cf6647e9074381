//! The fleet's single-field writes: an account's status and its sealed
//! session. Whether the account is runnable (`g3`) depends on both, so each
//! write reads the other field and writes on condition that it is unchanged,
//! trying again when a concurrent write changed it; the rest of the account
//! (owner, tags, groups) is never written here.
//!
//! A fleet node's session write also raises the account's session fence (an
//! item of its own, `keys::session_fences`) to its lease's fencing number,
//! on condition that no higher one is there: a node whose lease was taken
//! over can no longer overwrite the new holder's session.

use super::accounts::status;
use super::io::{key, Expr};
use super::tx::Tx;
use crate::dynamo::attrs::{get_bool, get_n, get_s, n, s, time, Item};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use std::collections::{HashMap, HashSet};
use tgdesk_core::domain::{AccountId, AccountStatus, TenantId};
use tgdesk_core::ports::{PortError, PortErrorKind, SessionSave, SessionSaves};

/// Tries of a conditional write before giving up as contended.
const TRIES: usize = 5;
/// Accounts per transaction of `set_account_sessions` (three items each,
/// of the 100 a transaction takes).
const SESSIONS_PER_TX: usize = 33;

/// Adds to `expr` the `g3` part of an update expression: `(set, remove)` clauses.
fn runnable_clauses(tenant: &TenantId, id: &AccountId, runs: bool, expr: &mut Expr) -> (String, String) {
    let (pk, sk) = (expr.name("g3pk"), expr.name("g3sk"));
    if runs {
        let (vp, vs) = (expr.value(s(keys::runnable(tenant))), expr.value(s(id.as_str())));
        (format!(", {pk} = {vp}, {sk} = {vs}"), String::new())
    } else {
        (String::new(), format!(" REMOVE {pk}, {sk}"))
    }
}

/// The session item of an account, or its key when `sealed` is `None`.
fn session_item(tenant: &TenantId, id: &AccountId, sealed: Option<&[u8]>) -> Item {
    let mut item = key(keys::sessions(tenant), id.as_str());
    if let Some(sealed) = sealed {
        item.insert("sealed".into(), AttributeValue::B(sealed.to_vec().into()));
    }
    item
}

/// Adds to `tx` the update of the account item for a session write, on
/// condition that its status is still `seen`.
fn session_update(
    tx: &mut Tx,
    tenant: &TenantId,
    id: &AccountId,
    has: bool,
    seen: AccountStatus,
) -> Result<(), PortError> {
    let mut expr = Expr::default();
    let (st, seen_v) = (expr.name("st"), expr.value(s(seen.as_str())));
    let (hs, has_v) = (expr.name("has_session"), expr.value(AttributeValue::Bool(has)));
    let (up, now) = (expr.name("updated"), expr.value(time(Utc::now())));
    let (set, remove) = runnable_clauses(tenant, id, seen.runs(has), &mut expr);
    let update = format!("SET {hs} = {has_v}, {up} = {now}{set}{remove}");
    tx.update(key(keys::accounts(tenant), id.as_str()), &update, Some(&format!("{st} = {seen_v}")), expr)
}

/// Adds to `tx` the raise of the account's session fence to `fencing`, on
/// condition that no higher fence is stored.
fn fence_update(tx: &mut Tx, tenant: &TenantId, id: &AccountId, fencing: u64) -> Result<(), PortError> {
    let mut expr = Expr::default();
    let (f, v) = (expr.name("fence"), expr.value(n(fencing)));
    let condition = format!("attribute_not_exists({f}) OR {f} <= {v}");
    tx.update(key(keys::session_fences(tenant), id.as_str()), &format!("SET {f} = {v}"), Some(&condition), expr)
}

fn fenced(id: &AccountId) -> PortError {
    PortError::conflict(format!("account {id}: a later lease holder wrote its session"))
}

fn contended(id: &AccountId) -> PortError {
    PortError::new(PortErrorKind::Unavailable, format!("account {id} kept changing; try again"))
}

impl DynamoStore {
    /// Reads the account item, `NotFound` when there is none.
    async fn fleet_read(&self, tenant: &TenantId, id: &AccountId) -> Result<Item, PortError> {
        self.get(keys::accounts(tenant), id.as_str().to_owned())
            .await?
            .ok_or_else(|| PortError::not_found(format!("account {id} does not exist")))
    }

    /// `set_account_status`: the status, `updated` and `g3`, on condition that
    /// the session flag is unchanged.
    pub(super) async fn set_status(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        to: AccountStatus,
    ) -> Result<(), PortError> {
        for _ in 0..TRIES {
            let item = self.fleet_read(tenant, id).await?;
            let has = get_bool(&item, "has_session");
            let mut expr = Expr::default();
            let (st, to_v, seen) = (expr.name("st"), expr.value(s(to.as_str())), expr.value(s(get_s(&item, "st")?)));
            let (hs, has_v) = (expr.name("has_session"), expr.value(AttributeValue::Bool(has)));
            let (up, now) = (expr.name("updated"), expr.value(time(Utc::now())));
            let (set, remove) = runnable_clauses(tenant, id, to.runs(has), &mut expr);
            let update = format!("SET {st} = {to_v}, {up} = {now}{set}{remove}");
            let condition = format!("{st} = {seen} AND {hs} = {has_v}");
            match self.update(key(keys::accounts(tenant), id.as_str()), &update, Some(&condition), expr).await {
                Err(e) if e.kind == PortErrorKind::Conflict => continue,
                done => return done,
            }
        }
        Err(contended(id))
    }

    /// `set_account_session`: the session item, the account's flag, `updated`
    /// and `g3`, and for a fenced write the fence, in one transaction, on
    /// condition that the status is unchanged and no higher fence is stored.
    pub(super) async fn set_session(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        sealed: Option<&[u8]>,
        fencing: Option<u64>,
    ) -> Result<(), PortError> {
        for _ in 0..TRIES {
            let seen = status(&self.fleet_read(tenant, id).await?)?;
            let mut tx = Tx::new(&self.tables().await?.main);
            match sealed {
                Some(_) => tx.put(session_item(tenant, id, sealed), None)?,
                None => tx.delete(session_item(tenant, id, None), None)?,
            }
            session_update(&mut tx, tenant, id, sealed.is_some(), seen)?;
            if let Some(fencing) = fencing {
                fence_update(&mut tx, tenant, id, fencing)?;
            }
            match self.transact("set account session", tx).await {
                Err(e) if e.kind == PortErrorKind::Conflict => match fencing {
                    Some(fencing) if self.fence(tenant, id).await? > fencing => return Err(fenced(id)),
                    // The status changed meanwhile: read it again.
                    _ => continue,
                },
                done => return done,
            }
        }
        Err(contended(id))
    }

    /// The account's session fence (0 when none was written).
    async fn fence(&self, tenant: &TenantId, id: &AccountId) -> Result<u64, PortError> {
        match self.get(keys::session_fences(tenant), id.as_str().to_owned()).await? {
            Some(item) => get_n(&item, "fence"),
            None => Ok(0),
        }
    }

    /// `set_account_sessions`: one read of every account's status, then
    /// transactions of 33 accounts; a transaction a concurrent status change
    /// or a higher fence cancelled is redone one account at a time.
    pub(super) async fn set_sessions(
        &self,
        tenant: &TenantId,
        sessions: &[SessionSave],
    ) -> Result<SessionSaves, PortError> {
        // The last save of an id wins (a transaction takes an item once).
        let mut latest: HashMap<&AccountId, &SessionSave> = HashMap::new();
        let mut order = Vec::new();
        for save in sessions {
            if latest.insert(&save.id, save).is_none() {
                order.push(&save.id);
            }
        }
        let keys = order.iter().map(|id| (keys::accounts(tenant), id.as_str().to_owned())).collect();
        let mut seen: HashMap<String, AccountStatus> = HashMap::new();
        for item in self.batch_get(keys, Some(&["st"])).await? {
            seen.insert(get_s(&item, "sk")?.to_owned(), status(&item)?);
        }
        let mut unknown: HashSet<&AccountId> =
            order.iter().copied().filter(|id| !seen.contains_key(id.as_str())).collect();
        let mut refused: HashSet<&AccountId> = HashSet::new();
        let known: Vec<&AccountId> = order.iter().copied().filter(|id| seen.contains_key(id.as_str())).collect();
        let table = &self.tables().await?.main;
        for chunk in known.chunks(SESSIONS_PER_TX) {
            let mut tx = Tx::new(table);
            for id in chunk {
                let save = latest[id];
                tx.put(session_item(tenant, id, Some(&save.sealed)), None)?;
                session_update(&mut tx, tenant, id, true, seen[id.as_str()])?;
                fence_update(&mut tx, tenant, id, save.fencing)?;
            }
            match self.transact("set account sessions", tx).await {
                Err(e) if e.kind == PortErrorKind::Conflict => {
                    for id in chunk {
                        let save = latest[id];
                        match self.set_session(tenant, id, Some(&save.sealed), Some(save.fencing)).await {
                            Err(e) if e.kind == PortErrorKind::NotFound => {
                                unknown.insert(id);
                            }
                            Err(e) if e.kind == PortErrorKind::Conflict => {
                                refused.insert(id);
                            }
                            other => other?,
                        }
                    }
                }
                other => other?,
            }
        }
        let named = |set: &HashSet<&AccountId>| {
            let mut ids: Vec<AccountId> = Vec::new();
            for save in sessions {
                if set.contains(&save.id) && !ids.contains(&save.id) {
                    ids.push(save.id.clone());
                }
            }
            ids
        };
        Ok(SessionSaves { unknown: named(&unknown), fenced: named(&refused) })
    }
}
