//! The jobs port: the records of imports and cascading deletes, written by
//! the request that starts one and by the worker that runs it. Adapters: a
//! SQLite table locally, DynamoDB items with TTL on AWS.

use super::PortError;
use crate::domain::{Job, JobId, TenantId, UserId};
use async_trait::async_trait;

/// Most jobs one [`Jobs::list_jobs`] returns.
pub const MAX_JOB_PAGE: usize = 100;

/// Job records. A job is forgotten [`crate::domain::JOB_KEEP_DAYS`] after
/// its last change ([`Job::expires_at`]): reads never return it after that,
/// whenever the adapter actually removes it.
#[async_trait]
pub trait Jobs: Send + Sync {
    /// Stores a new job; `Conflict` when its id is taken.
    async fn insert_job(&self, job: &Job) -> Result<(), PortError>;
    /// Replaces a stored job by one whose `version` is one above the stored
    /// one's; `Conflict` when the stored version is another (someone else
    /// wrote since it was read), `NotFound` when the job is unknown.
    async fn update_job(&self, job: &Job) -> Result<(), PortError>;
    /// Returns the job, or `None`.
    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<Job>, PortError>;
    /// Returns up to `limit` (1 to [`MAX_JOB_PAGE`]) of the tenant's jobs,
    /// of one starter or of all, newest first, older than `before` when given.
    async fn list_jobs(
        &self,
        tenant: &TenantId,
        started_by: Option<&UserId>,
        before: Option<&JobId>,
        limit: usize,
    ) -> Result<Vec<Job>, PortError>;
}
