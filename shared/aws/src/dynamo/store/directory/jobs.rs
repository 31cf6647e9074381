//! `Jobs` for [`DynamoStore`]: one item per job under the tenant's `JOB`
//! partition, sorted by id (ULIDs: by age), with the record as a document,
//! its version for conditional writes, and `expires` for TTL. TTL deletes
//! within days of the time, so reads leave out what has expired. Index `g2`
//! lists one starter's jobs (`JOBBY#user`, by id), so a user's list and the
//! open-jobs check before every start read that user's jobs only, never the
//! tenant's (eventually consistent: a job started a moment ago may be
//! missing from it for that moment).

use super::io::{key, Expr, Filter, Query};
use crate::dynamo::attrs::{doc, get_doc, n, s, Item};
use crate::dynamo::keys::{part, part_of};
use crate::dynamo::store::DynamoStore;
use tgdesk_core::domain::{Job, JobId, TenantId, UserId};
use tgdesk_core::ports::{PortError, PortErrorKind, MAX_JOB_PAGE};

fn job_item(job: &Job) -> Result<Item, PortError> {
    let mut item = key(part(&job.tenant, "JOB"), job.id.as_str());
    item.insert("doc".into(), doc(job)?);
    item.insert("ver".into(), n(job.version));
    item.insert("g2pk".into(), s(part_of(&job.tenant, "JOBBY", job.started_by.as_str())));
    item.insert("g2sk".into(), s(job.id.as_str()));
    item.insert("expires".into(), n(job.expires_at().timestamp()));
    Ok(item)
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

impl DynamoStore {
    /// `insert_job`: a put that fails when the id is taken.
    pub(super) async fn insert_job_item(&self, job: &Job) -> Result<(), PortError> {
        let taken = || PortError::new(PortErrorKind::Conflict, format!("job {} exists", job.id));
        self.put_if(job_item(job)?, "attribute_not_exists(pk)", Expr::default()).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => taken(),
            _ => e,
        })
    }

    /// `update_job`: a put conditioned on the version read; a failed
    /// condition is read again to tell a lost race from a missing job.
    pub(super) async fn update_job_item(&self, job: &Job) -> Result<(), PortError> {
        let mut expr = Expr::default();
        let condition = format!(
            "{ver} = {prev} AND {expires} >= {now}",
            ver = expr.name("ver"),
            prev = expr.value(n(job.version.saturating_sub(1))),
            expires = expr.name("expires"),
            now = expr.value(n(now_s())),
        );
        match self.put_if(job_item(job)?, &condition, expr).await {
            Err(e) if e.kind == PortErrorKind::Conflict => match self.job_item(&job.tenant, &job.id).await? {
                None => Err(PortError::not_found(format!("job {} not found", job.id))),
                Some(_) => {
                    Err(PortError::new(PortErrorKind::Conflict, format!("job {} changed since it was read", job.id)))
                }
            },
            other => other,
        }
    }

    /// `get_job`.
    pub(super) async fn job_item(&self, tenant: &TenantId, id: &JobId) -> Result<Option<Job>, PortError> {
        let Some(item) = self.get(part(tenant, "JOB"), id.as_str().to_owned()).await? else { return Ok(None) };
        let expires: i64 = crate::dynamo::attrs::get_n(&item, "expires")?;
        if expires < now_s() {
            return Ok(None);
        }
        get_doc(&item, "doc").map(Some)
    }

    /// `list_jobs`: the tenant's partition, or the starter's on `g2`,
    /// backwards from `before`, filtered by expiry (the query fills the page
    /// through the filter).
    pub(super) async fn job_items(
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
        let mut query = match started_by {
            Some(by) => Query::index("g2", part_of(tenant, "JOBBY", by.as_str())),
            None => Query::table(part(tenant, "JOB")),
        };
        query.forward = false;
        query.from = before.map(|b| b.as_str().to_owned());
        let mut filter = Filter::default();
        let (name, value) = (filter.expr.name("expires"), filter.expr.value(n(now_s())));
        filter.clause(format!("{name} >= {value}"));
        query.filter = filter;
        let items = self.query(&query, limit).await?;
        items.iter().map(|i| get_doc(i, "doc")).collect()
    }
}
