//! [`SqliteLeases`]: the `Leases` port on a SQLite table. Each
//! acquisition, renewal and release is one conditional statement on the
//! lease's row, so SQLite's single writer makes them atomic, the way a
//! DynamoDB conditional write does.

use crate::db::{millis, now_ms, Db};
use crate::sqlite::map_err;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};
use std::path::Path;
use std::time::Duration;
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::ports::{Lease, Leases, PortError, PortErrorKind};

/// Reader connections: only `list` reads without writing.
const READERS: u32 = 2;

/// A released lease keeps its row (with no node) so its fencing number keeps
/// growing across holders.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS leases (
        tenant TEXT NOT NULL,
        account TEXT NOT NULL,
        node TEXT,
        fencing INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, account)
    ) WITHOUT ROWID;";

/// The SQLite adapter of `Leases`. Cloning is cheap and shares the file.
///
/// It lives in its own file (say `leases.db` next to the store's), not in
/// the store's: heartbeats are small writes that must never wait behind the
/// store's large ingest transactions (a late renewal loses the lease), and
/// the table stays out of the store's migrations. Several instances on one
/// file (two fleet nodes in a test) share the leases.
#[derive(Clone)]
pub struct SqliteLeases {
    db: Db,
}

impl SqliteLeases {
    /// Opens (creating when missing) the leases file at `path`. `Unavailable`
    /// when the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PortError> {
        let db = Db::open(path.as_ref(), SCHEMA, READERS)?;
        tracing::debug!(path = %path.as_ref().display(), "sqlite leases opened");
        Ok(Self { db })
    }
}

fn time(ms: i64) -> Result<DateTime<Utc>, PortError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| PortError::new(PortErrorKind::Internal, format!("lease time {ms} out of range")))
}

fn fencing(raw: i64) -> Result<u64, PortError> {
    u64::try_from(raw).map_err(|e| PortError::with_source(PortErrorKind::Internal, "negative fencing", e))
}

fn taken_over(lease: &Lease) -> PortError {
    PortError::conflict(format!("lease of {} no longer held by {}", lease.account_id.as_str(), lease.node))
}

#[async_trait]
impl Leases for SqliteLeases {
    async fn acquire(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        node: &str,
        ttl: Duration,
    ) -> Result<Lease, PortError> {
        if node.is_empty() {
            return Err(PortError::new(PortErrorKind::Invalid, "empty node name"));
        }
        let (t, a, n) = (tenant.as_str().to_owned(), account.as_str().to_owned(), node.to_owned());
        let ttl_ms = millis(ttl);
        let won: Option<(i64, i64)> = self
            .db
            .write(move |tx| {
                let now = now_ms();
                tx.query_row(
                    "INSERT INTO leases (tenant, account, node, fencing, expires_at) VALUES (?1, ?2, ?3, 1, ?4)
                     ON CONFLICT (tenant, account) DO UPDATE
                     SET node = excluded.node, fencing = leases.fencing + 1, expires_at = excluded.expires_at
                     WHERE leases.node IS NULL OR leases.node = excluded.node OR leases.expires_at <= ?5
                     RETURNING fencing, expires_at",
                    params![t, a, n, now.saturating_add(ttl_ms), now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(map_err)
            })
            .await?;
        let (f, expires) =
            won.ok_or_else(|| PortError::conflict(format!("lease of {} held by another node", account.as_str())))?;
        Ok(Lease {
            tenant: tenant.clone(),
            account_id: account.clone(),
            node: node.to_owned(),
            fencing: fencing(f)?,
            expires_at: time(expires)?,
        })
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, PortError> {
        let (t, a, n) = (lease.tenant.as_str().to_owned(), lease.account_id.as_str().to_owned(), lease.node.clone());
        let f = i64::try_from(lease.fencing).map_err(|_| taken_over(lease))?;
        let ttl_ms = millis(ttl);
        let renewed: Option<i64> = self
            .db
            .write(move |tx| {
                tx.query_row(
                    "UPDATE leases SET expires_at = ?1 WHERE tenant = ?2 AND account = ?3 AND node = ?4 AND fencing = ?5
                     RETURNING expires_at",
                    params![now_ms().saturating_add(ttl_ms), t, a, n, f],
                    |r| r.get(0),
                )
                .optional()
                .map_err(map_err)
            })
            .await?;
        let expires = renewed.ok_or_else(|| taken_over(lease))?;
        Ok(Lease { expires_at: time(expires)?, ..lease.clone() })
    }

    /// One transaction for the lot.
    async fn renew_many(&self, leases: &[Lease], ttl: Duration) -> Result<Vec<Option<Lease>>, PortError> {
        let keys: Vec<(String, String, String, i64)> = leases
            .iter()
            .map(|l| {
                // A fencing number past i64 was never issued here: it matches no row.
                let f = i64::try_from(l.fencing).unwrap_or(-1);
                (l.tenant.as_str().to_owned(), l.account_id.as_str().to_owned(), l.node.clone(), f)
            })
            .collect();
        let ttl_ms = millis(ttl);
        let expiries: Vec<Option<i64>> = self
            .db
            .write(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE leases SET expires_at = ?1
                         WHERE tenant = ?2 AND account = ?3 AND node = ?4 AND fencing = ?5 RETURNING expires_at",
                    )
                    .map_err(map_err)?;
                let expires_at = now_ms().saturating_add(ttl_ms);
                keys.iter()
                    .map(|(t, a, n, f)| {
                        stmt.query_row(params![expires_at, t, a, n, f], |r| r.get(0)).optional().map_err(map_err)
                    })
                    .collect()
            })
            .await?;
        leases
            .iter()
            .zip(expiries)
            .map(|(lease, expires)| expires.map(|ms| Ok(Lease { expires_at: time(ms)?, ..lease.clone() })).transpose())
            .collect()
    }

    async fn release(&self, lease: &Lease) -> Result<(), PortError> {
        let (t, a, n) = (lease.tenant.as_str().to_owned(), lease.account_id.as_str().to_owned(), lease.node.clone());
        let Ok(f) = i64::try_from(lease.fencing) else { return Ok(()) };
        self.db
            .write(move |tx| {
                tx.execute(
                    "UPDATE leases SET node = NULL, expires_at = 0
                     WHERE tenant = ?1 AND account = ?2 AND node = ?3 AND fencing = ?4",
                    params![t, a, n, f],
                )
                .map_err(map_err)
            })
            .await?;
        Ok(())
    }

    async fn holder(&self, tenant: &TenantId, account: &AccountId) -> Result<Option<Lease>, PortError> {
        let (t, a) = (tenant.as_str().to_owned(), account.as_str().to_owned());
        let row: Option<(String, i64, i64)> = self
            .db
            .read(move |tx| {
                tx.query_row(
                    "SELECT node, fencing, expires_at FROM leases
                     WHERE tenant = ?1 AND account = ?2 AND node IS NOT NULL AND expires_at > ?3",
                    params![t, a, now_ms()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(map_err)
            })
            .await?;
        row.map(|(node, f, expires)| {
            Ok(Lease {
                tenant: tenant.clone(),
                account_id: account.clone(),
                node,
                fencing: fencing(f)?,
                expires_at: time(expires)?,
            })
        })
        .transpose()
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Lease>, PortError> {
        let t = tenant.as_str().to_owned();
        let rows: Vec<(String, String, i64, i64)> = self
            .db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT account, node, fencing, expires_at FROM leases
                         WHERE tenant = ?1 AND node IS NOT NULL ORDER BY account",
                    )
                    .map_err(map_err)?;
                let rows = stmt.query_map([&t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)));
                let rows = rows.map_err(map_err)?.collect::<Result<Vec<_>, _>>().map_err(map_err)?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(account, node, f, expires)| {
                Ok(Lease {
                    tenant: tenant.clone(),
                    account_id: AccountId::parse(&account)
                        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "stored account id", e))?,
                    node,
                    fencing: fencing(f)?,
                    expires_at: time(expires)?,
                })
            })
            .collect()
    }
}
