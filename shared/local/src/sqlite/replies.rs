//! `Replies` for [`super::SqliteStore`]: a table keyed by (tenant, request);
//! taking a reply deletes it, and each put prunes replies nobody took within
//! an hour (their caller timed out).

use super::codec::ns;
use super::{map_err, SqliteStore};
use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{params, OptionalExtension};
use tgdesk_core::domain::{RequestId, TenantId};
use tgdesk_core::ports::{PortError, Replies};

/// Replies older than this are pruned.
const KEEP_NS: i64 = 3_600 * 1_000_000_000;

#[async_trait]
impl Replies for SqliteStore {
    async fn put_reply(&self, tenant: &TenantId, id: &RequestId, body: &[u8]) -> Result<(), PortError> {
        let (tenant, id, body) = (tenant.to_string(), id.to_string(), body.to_vec());
        self.db
            .write(move |tx| {
                let now = ns(Utc::now());
                tx.prepare_cached("DELETE FROM replies WHERE created_ns < ?1")
                    .and_then(|mut s| s.execute([now - KEEP_NS]))
                    .map_err(map_err)?;
                tx.prepare_cached(
                    "INSERT INTO replies (tenant, id, body, created_ns) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (tenant, id) DO UPDATE SET body = excluded.body, created_ns = excluded.created_ns",
                )
                .and_then(|mut s| s.execute(params![tenant, id, body, now]))
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn take_reply(&self, tenant: &TenantId, id: &RequestId) -> Result<Option<Vec<u8>>, PortError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        // Polled while a caller waits: look on a reader first, write only once there is something to take.
        let (t, i) = (tenant.clone(), id.clone());
        let present: Option<i64> = self
            .db
            .read(move |tx| {
                tx.prepare_cached("SELECT 1 FROM replies WHERE tenant = ?1 AND id = ?2")
                    .and_then(|mut s| s.query_row(params![t, i], |r| r.get(0)).optional())
                    .map_err(map_err)
            })
            .await?;
        if present.is_none() {
            return Ok(None);
        }
        self.db
            .write(move |tx| {
                tx.prepare_cached("DELETE FROM replies WHERE tenant = ?1 AND id = ?2 RETURNING body")
                    .and_then(|mut s| s.query_row(params![tenant, id], |r| r.get(0)).optional())
                    .map_err(map_err)
            })
            .await
    }
}
