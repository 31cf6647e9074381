//! `Jobs` for [`super::SqliteStore`]: one row per job, its record as JSON
//! beside the columns the reads filter on. Each insert prunes the jobs whose
//! week is over; reads skip them before that.

use super::codec::ns;
use super::{map_err, SqliteStore};
use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{params, OptionalExtension};
use tgdesk_core::domain::{Job, JobId, TenantId, UserId};
use tgdesk_core::ports::{Jobs, PortError, PortErrorKind, MAX_JOB_PAGE};

/// A starter's jobs, newest first, older than `?4`.
const JOBS_OF_STARTER: &str = "SELECT doc FROM jobs WHERE tenant = ?1 AND started_by = ?3 AND id < ?4 \
                               AND expires_ns >= ?2 ORDER BY id DESC LIMIT ?5";
/// A tenant's jobs, newest first, older than `?4` (`?3` unused).
const JOBS_OF_TENANT: &str =
    "SELECT doc FROM jobs WHERE tenant = ?1 AND id < ?4 AND expires_ns >= ?2 ORDER BY id DESC LIMIT ?5";

fn encode(job: &Job) -> Result<String, PortError> {
    serde_json::to_string(job).map_err(|e| PortError::with_source(PortErrorKind::Internal, "job not encodable", e))
}

fn decode(doc: &str) -> rusqlite::Result<Job> {
    serde_json::from_str(doc)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into()))
}

#[async_trait]
impl Jobs for SqliteStore {
    async fn insert_job(&self, job: &Job) -> Result<(), PortError> {
        let (doc, expires) = (encode(job)?, ns(job.expires_at()));
        let (tenant, id, by, version) =
            (job.tenant.to_string(), job.id.to_string(), job.started_by.to_string(), job.version as i64);
        self.db
            .write(move |tx| {
                tx.prepare_cached("DELETE FROM jobs WHERE expires_ns < ?1")
                    .and_then(|mut s| s.execute([ns(Utc::now())]))
                    .map_err(map_err)?;
                tx.prepare_cached(
                    "INSERT INTO jobs (tenant, id, started_by, version, expires_ns, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| s.execute(params![tenant, id, by, version, expires, doc]))
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn update_job(&self, job: &Job) -> Result<(), PortError> {
        let (doc, expires) = (encode(job)?, ns(job.expires_at()));
        let (tenant, id, version) = (job.tenant.to_string(), job.id.to_string(), job.version as i64);
        self.db
            .write(move |tx| {
                let stored: Option<i64> = tx
                    .prepare_cached("SELECT version FROM jobs WHERE tenant = ?1 AND id = ?2 AND expires_ns >= ?3")
                    .and_then(|mut s| s.query_row(params![tenant, id, ns(Utc::now())], |r| r.get(0)).optional())
                    .map_err(map_err)?;
                match stored {
                    None => return Err(PortError::not_found(format!("job {id} not found"))),
                    Some(v) if v != version - 1 => {
                        return Err(PortError::new(
                            PortErrorKind::Conflict,
                            format!("job {id} changed since it was read"),
                        ))
                    }
                    Some(_) => {}
                }
                tx.prepare_cached(
                    "UPDATE jobs SET version = ?3, expires_ns = ?4, doc = ?5 WHERE tenant = ?1 AND id = ?2",
                )
                .and_then(|mut s| s.execute(params![tenant, id, version, expires, doc]))
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<Job>, PortError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.db
            .read(move |tx| {
                tx.prepare_cached("SELECT doc FROM jobs WHERE tenant = ?1 AND id = ?2 AND expires_ns >= ?3")
                    .and_then(|mut s| {
                        s.query_row(params![tenant, id, ns(Utc::now())], |r| decode(&r.get::<_, String>(0)?)).optional()
                    })
                    .map_err(map_err)
            })
            .await
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        started_by: Option<&UserId>,
        before: Option<&JobId>,
        limit: usize,
    ) -> Result<Vec<Job>, PortError> {
        if limit == 0 || limit > MAX_JOB_PAGE {
            return Err(PortError::new(
                PortErrorKind::Invalid,
                format!("job page of {limit} outside 1..={MAX_JOB_PAGE}"),
            ));
        }
        let tenant = tenant.to_string();
        let by = started_by.map(|u| u.to_string());
        let before = before.map(|b| b.to_string());
        self.db
            .read(move |tx| {
                // Two statements, so each walks its index (the primary key, or
                // `jobs_by_starter`) backwards instead of filtering a tenant's jobs.
                let sql = if by.is_some() { JOBS_OF_STARTER } else { JOBS_OF_TENANT };
                // Ids are `job_` and lowercase base32: `~` sorts after every one of them.
                let before = before.unwrap_or_else(|| "~".to_owned());
                let mut stmt = tx.prepare_cached(sql).map_err(map_err)?;
                let rows = stmt
                    .query_map(params![tenant, ns(Utc::now()), by.unwrap_or_default(), before, limit as i64], |r| {
                        decode(&r.get::<_, String>(0)?)
                    })
                    .map_err(map_err)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::query_plan;

    #[test]
    fn job_lists_walk_an_index_backwards_without_sorting() {
        let plan = query_plan(JOBS_OF_STARTER);
        assert!(plan.contains("USING INDEX jobs_by_starter (tenant=? AND started_by=? AND id<?)"), "{plan}");
        let plan = query_plan(JOBS_OF_TENANT);
        assert!(
            plan.contains("USING PRIMARY KEY (tenant=? AND id<?)")
                || plan.contains("sqlite_autoindex_jobs_1 (tenant=? AND id<?)"),
            "{plan}"
        );
        for plan in [query_plan(JOBS_OF_STARTER), query_plan(JOBS_OF_TENANT)] {
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
