//! `SendLog` for [`SqliteStore`]: sends and batches as JSON records with their
//! keys and status in columns, so a batch's page and counts are index scans.

use super::{map_err, SqliteStore};
use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use std::collections::BTreeMap;
use tgdesk_core::domain::{BatchId, BatchSend, SendId, SendRecord, SendStatus, TenantId};
use tgdesk_core::ports::{PortError, PortErrorKind, SendLog};

fn encode<T: serde::Serialize>(v: &T) -> Result<String, PortError> {
    serde_json::to_string(v).map_err(|e| PortError::with_source(PortErrorKind::Internal, "cannot encode record", e))
}

fn decode<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, PortError> {
    serde_json::from_str(raw)
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "stored record is corrupt", e))
}

fn status(raw: &str) -> Result<SendStatus, PortError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "stored status is unknown", e))
}

#[async_trait]
impl SendLog for SqliteStore {
    async fn put_sends(&self, tenant: &TenantId, sends: &[SendRecord]) -> Result<(), PortError> {
        if sends.is_empty() {
            return Ok(());
        }
        let rows = sends
            .iter()
            .map(|s| Ok((s.id.to_string(), s.batch_id.as_ref().map(|b| b.to_string()), s.status.as_str(), encode(s)?)))
            .collect::<Result<Vec<_>, PortError>>()?;
        let tenant = tenant.to_string();
        self.db
            .write(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO sends (tenant, id, batch_id, status, body) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (tenant, id) DO UPDATE SET batch_id = excluded.batch_id, status = excluded.status, \
                     body = excluded.body",
                    )
                    .map_err(map_err)?;
                for (id, batch, status, body) in &rows {
                    stmt.execute(params![tenant, id, batch, status, body]).map_err(map_err)?;
                }
                Ok(())
            })
            .await
    }

    async fn get_send(&self, tenant: &TenantId, id: &SendId) -> Result<Option<SendRecord>, PortError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let body: Option<String> = self
            .db
            .read(move |tx| {
                tx.query_row("SELECT body FROM sends WHERE tenant = ?1 AND id = ?2", params![tenant, id], |r| r.get(0))
                    .optional()
                    .map_err(map_err)
            })
            .await?;
        body.as_deref().map(decode).transpose()
    }

    async fn put_batch(&self, tenant: &TenantId, batch: &BatchSend) -> Result<(), PortError> {
        let (tenant, id, body) = (tenant.to_string(), batch.id.to_string(), encode(batch)?);
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO batches (tenant, id, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (tenant, id) DO UPDATE SET body = excluded.body",
                    params![tenant, id, body],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn get_batch(&self, tenant: &TenantId, id: &BatchId) -> Result<Option<BatchSend>, PortError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let body: Option<String> = self
            .db
            .read(move |tx| {
                tx.query_row("SELECT body FROM batches WHERE tenant = ?1 AND id = ?2", params![tenant, id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(map_err)
            })
            .await?;
        body.as_deref().map(decode).transpose()
    }

    async fn list_batch_sends(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
        after: Option<&SendId>,
        limit: usize,
    ) -> Result<Vec<SendRecord>, PortError> {
        let (tenant, batch) = (tenant.to_string(), batch.to_string());
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let limit = limit.min(i64::MAX as usize) as i64;
        let bodies: Vec<String> = self
            .db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT body FROM sends WHERE tenant = ?1 AND batch_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
                    )
                    .map_err(map_err)?;
                let rows = stmt.query_map(params![tenant, batch, after, limit], |r| r.get(0)).map_err(map_err)?;
                rows.collect::<Result<_, _>>().map_err(map_err)
            })
            .await?;
        bodies.iter().map(|b| decode(b)).collect()
    }

    async fn count_batch_sends(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
    ) -> Result<BTreeMap<SendStatus, u64>, PortError> {
        let (tenant, batch) = (tenant.to_string(), batch.to_string());
        let rows: Vec<(String, i64)> = self
            .db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT status, count(*) FROM sends WHERE tenant = ?1 AND batch_id = ?2 GROUP BY status",
                    )
                    .map_err(map_err)?;
                let rows = stmt.query_map(params![tenant, batch], |r| Ok((r.get(0)?, r.get(1)?))).map_err(map_err)?;
                rows.collect::<Result<_, _>>().map_err(map_err)
            })
            .await?;
        rows.into_iter().map(|(s, n)| Ok((status(&s)?, n as u64))).collect()
    }
}
