//! Profiles for [`super::SqliteStore`]: one JSON record per (account, peer),
//! with the contact and self flags in columns so contacts page by index and
//! the account's own profile is one lookup.

use super::codec::to_json;
use super::map_err;
use super::users::limit;
use rusqlite::{params, OptionalExtension, Transaction};
use tgdesk_core::domain::{AccountId, PeerProfile, TenantId};
use tgdesk_core::ports::{PortError, PortErrorKind};

fn decode(raw: String) -> rusqlite::Result<PeerProfile> {
    serde_json::from_str(&raw)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

pub(super) fn upsert(tx: &Transaction<'_>, tenant: &TenantId, profiles: &[PeerProfile]) -> Result<(), PortError> {
    let mut known = tx.prepare_cached("SELECT 1 FROM accounts WHERE tenant = ?1 AND id = ?2").map_err(map_err)?;
    let mut unself = tx
        .prepare_cached(
            "UPDATE profiles SET is_self = 0 WHERE tenant = ?1 AND account_id = ?2 AND is_self = 1 AND peer <> ?3",
        )
        .map_err(map_err)?;
    let mut put = tx
        .prepare_cached(
            "INSERT INTO profiles (tenant, account_id, peer, is_contact, is_self, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (tenant, account_id, peer) DO UPDATE SET is_contact = excluded.is_contact, \
             is_self = excluded.is_self, body = excluded.body",
        )
        .map_err(map_err)?;
    for p in profiles {
        let (t, a) = (tenant.as_str(), p.account_id.as_str());
        if known.query_row(params![t, a], |_| Ok(())).optional().map_err(map_err)?.is_none() {
            return Err(PortError::new(PortErrorKind::NotFound, format!("account {} not found", p.account_id)));
        }
        if p.is_self {
            unself.execute(params![t, a, p.peer]).map_err(map_err)?;
        }
        put.execute(params![t, a, p.peer, p.is_contact, p.is_self, to_json(p)]).map_err(map_err)?;
    }
    Ok(())
}

pub(super) fn get(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    account: &AccountId,
    peer: i64,
) -> Result<Option<PeerProfile>, PortError> {
    tx.prepare_cached("SELECT body FROM profiles WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3")
        .and_then(|mut s| {
            s.query_row(params![tenant.as_str(), account.as_str(), peer], |r| decode(r.get(0)?)).optional()
        })
        .map_err(map_err)
}

pub(super) fn get_self(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    account: &AccountId,
) -> Result<Option<PeerProfile>, PortError> {
    tx.prepare_cached("SELECT body FROM profiles WHERE tenant = ?1 AND account_id = ?2 AND is_self = 1")
        .and_then(|mut s| s.query_row(params![tenant.as_str(), account.as_str()], |r| decode(r.get(0)?)).optional())
        .map_err(map_err)
}

pub(super) fn contacts(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    account: &AccountId,
    after: Option<i64>,
    n: usize,
) -> Result<Vec<PeerProfile>, PortError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT body FROM profiles WHERE tenant = ?1 AND account_id = ?2 AND is_contact = 1 AND peer > ?3 \
             ORDER BY peer LIMIT ?4",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params![tenant.as_str(), account.as_str(), after.unwrap_or(i64::MIN), limit(n)], |r| {
            decode(r.get(0)?)
        })
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}
