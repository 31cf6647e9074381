//! Retention beyond the archive: archived messages older than the retention
//! period are deleted, tenant by tenant, a whole month at a time (a message
//! is kept at least the period and at most a month longer). What the admin
//! sees of the archive: its size and counts, and both windows.

use super::{Actor, AppError, Desk};
use crate::archive::format::month_of;
use crate::ports::{validate_month, Archive, ArchiveUsage, Directory, PortError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// How long messages stay where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ArchivePolicy {
    /// Days a message stays in the store after its date before it moves to
    /// the archive.
    pub hot_days: u32,
    /// Days after its date a message is deleted from the archive (`None`:
    /// kept for ever). Always more than `hot_days`.
    pub retention_days: Option<u32>,
}

impl Default for ArchivePolicy {
    fn default() -> Self {
        Self { hot_days: 30, retention_days: None }
    }
}

/// The archive of the admin's tenant (`GET /api/admin/archive`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ArchiveView {
    /// Messages archived.
    pub messages: u64,
    /// Objects (files or S3 objects) holding them.
    pub objects: u64,
    /// Their compressed size in bytes.
    pub bytes: u64,
    /// The windows in force.
    pub policy: ArchivePolicy,
}

/// Returns the first month retention keeps at `now` (`YYYY-MM`): earlier
/// months are older than `keep` in every message.
pub fn first_kept_month(now: DateTime<Utc>, keep: Duration) -> String {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    month_of(now.checked_sub_signed(keep).unwrap_or(DateTime::<Utc>::MIN_UTC))
}

/// Deletes, in every tenant, the archived months older than `keep` at
/// `now`; returns what went. A tenant that fails is logged and the others
/// go on; the first failure is returned after all were tried.
pub async fn purge_archive(
    directory: &dyn Directory,
    archive: &dyn Archive,
    keep: Duration,
    now: DateTime<Utc>,
) -> Result<ArchiveUsage, PortError> {
    let month = first_kept_month(now, keep);
    if validate_month(&month).is_err() {
        // A period reaching back before year 0 keeps everything.
        return Ok(ArchiveUsage::default());
    }
    let mut purged = ArchiveUsage::default();
    let mut failed = None;
    for tenant in directory.list_tenants().await? {
        match archive.purge_before(&tenant.id, &month).await {
            Ok(gone) => {
                purged.messages += gone.messages;
                purged.objects += gone.objects;
                purged.bytes += gone.bytes;
            }
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, error = %e, "archive retention failed for a tenant");
                failed.get_or_insert(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(purged),
    }
}

impl Desk {
    /// Returns the size of the caller's tenant's archive and the windows in
    /// force (admins only).
    pub async fn archive_view(&self, actor: &Actor) -> Result<ArchiveView, AppError> {
        actor.ensure_admin()?;
        let usage = match &self.ports.archive {
            Some(archive) => archive.usage(&actor.tenant).await?,
            None => ArchiveUsage::default(),
        };
        Ok(ArchiveView {
            messages: usage.messages,
            objects: usage.objects,
            bytes: usage.bytes,
            policy: self.archive_policy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_month_the_period_reaches_into() {
        let now = "2026-12-06T10:00:00Z".parse().unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(first_kept_month(now, day * 5), "2026-12");
        assert_eq!(first_kept_month(now, day * 6), "2026-11");
        assert_eq!(first_kept_month(now, day * 365 * 2), "2024-12");
    }
}
