//! Cases for the `Jobs` port.

use crate::domain::{ImportReport, Job, JobKind, JobState, RejectedLine, TagId, TenantId, UserId};
use crate::ports::PortErrorKind;
use crate::testkit::fixtures::{assert_kind, tenant};
use crate::testkit::StoreHandles;
use chrono::{Duration, DurationRound, Utc};

fn job(tenant: &TenantId, by: &UserId) -> Job {
    let mut job = Job::new(tenant.clone(), by.clone(), JobKind::DeleteTag { tag: TagId::generate() }, JobState::Queued);
    // Times as the stores keep them (to the nanosecond at most).
    job.created_at = job.created_at.duration_trunc(Duration::microseconds(1)).unwrap();
    job.updated_at = job.created_at;
    job
}

/// `insert_job` stores a job once (`Conflict` for its id again); `get_job`
/// reads it back whole; `list_jobs` is newest first, by starter, before an
/// id, and per tenant.
pub async fn jobs_are_inserted_once_read_back_and_listed_newest_first(h: &StoreHandles) {
    let t = tenant();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let mut import = job(&t, &alice);
    import.kind = JobKind::ImportAccounts {
        upload: format!("t/{t}/imports/x"),
        format: crate::domain::ImportFormat::Csv,
        size: 42,
    };
    import.report = Some(ImportReport {
        imported: 1,
        unchanged: 2,
        rejected: vec![RejectedLine { line: 3, reason: "bad phone".into() }],
        rejected_count: 1,
    });
    import.total = Some(4);
    h.jobs.insert_job(&import).await.unwrap();
    assert_kind(h.jobs.insert_job(&import).await, PortErrorKind::Conflict);
    assert_eq!(h.jobs.get_job(&t, &import.id).await.unwrap(), Some(import.clone()));
    let mut later = Vec::new();
    for by in [&bob, &alice, &bob] {
        std::thread::sleep(std::time::Duration::from_millis(2));
        let j = job(&t, by);
        h.jobs.insert_job(&j).await.unwrap();
        later.push(j);
    }
    let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let all = h.jobs.list_jobs(&t, None, None, 10).await.unwrap();
    assert_eq!(ids(all), [&later[2].id, &later[1].id, &later[0].id, &import.id].map(Clone::clone));
    let of_alice = h.jobs.list_jobs(&t, Some(&alice), None, 10).await.unwrap();
    assert_eq!(ids(of_alice), [later[1].id.clone(), import.id.clone()]);
    let page = h.jobs.list_jobs(&t, None, Some(&later[1].id), 1).await.unwrap();
    assert_eq!(ids(page), [later[0].id.clone()]);
    assert_kind(h.jobs.list_jobs(&t, None, None, 0).await, PortErrorKind::Invalid);
    let other = tenant();
    assert_eq!(h.jobs.get_job(&other, &import.id).await.unwrap(), None);
    assert!(h.jobs.list_jobs(&other, None, None, 10).await.unwrap().is_empty());
}

/// `update_job` takes the version one above the stored one: a write based
/// on an older read is a `Conflict`, an unknown job `NotFound`.
pub async fn job_updates_need_the_version_they_read(h: &StoreHandles) {
    let t = tenant();
    let first = job(&t, &UserId::generate());
    h.jobs.insert_job(&first).await.unwrap();
    let mut running = first.next();
    running.state = JobState::Running;
    running.processed = 10;
    h.jobs.update_job(&running).await.unwrap();
    let mut stale = first.next();
    stale.state = JobState::Failed;
    assert_kind(h.jobs.update_job(&stale).await, PortErrorKind::Conflict);
    let mut same_again = running.clone();
    same_again.processed = 11;
    assert_kind(h.jobs.update_job(&same_again).await, PortErrorKind::Conflict);
    let stored = h.jobs.get_job(&t, &first.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.processed, stored.version), (JobState::Running, 10, 2));
    assert_kind(h.jobs.update_job(&job(&t, &UserId::generate()).next()).await, PortErrorKind::NotFound);
}

/// A job untouched for longer than it is kept is no longer read, listed or updated.
pub async fn jobs_past_their_keep_are_gone(h: &StoreHandles) {
    let t = tenant();
    let mut old = job(&t, &UserId::generate());
    old.updated_at = Utc::now() - Duration::days(crate::domain::JOB_KEEP_DAYS) - Duration::hours(1);
    h.jobs.insert_job(&old).await.unwrap();
    let fresh = job(&t, &old.started_by);
    h.jobs.insert_job(&fresh).await.unwrap();
    assert_eq!(h.jobs.get_job(&t, &old.id).await.unwrap(), None);
    let listed: Vec<_> = h.jobs.list_jobs(&t, None, None, 10).await.unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(listed, std::slice::from_ref(&fresh.id));
    assert_kind(h.jobs.update_job(&old.next()).await, PortErrorKind::NotFound);
}
