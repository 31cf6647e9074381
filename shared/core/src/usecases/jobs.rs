//! Jobs: an account import and the deletes that cascade run on a worker,
//! not in the request that starts them (a request on API Gateway ends
//! within 29 s; a 300,000-line import or a tag on millions of messages
//! takes longer). The request checks what it can at once (rights, that
//! the thing exists), records the job and queues it on [`JOBS_QUEUE`]; it
//! may wait up to [`Desk::job_wait`] for the outcome, then answers with the
//! job, which its starter reads (`GET /api/jobs/{id}`) and watches
//! (`import.progress`, `job.finished` events).
//!
//! A worker (the local server's loop, [`Desk::run_jobs`], or the `jobs`
//! Lambda) runs a job for at most [`JOB_RUN`], then queues the rest as a
//! new delivery, so no run outlives a Lambda or a visibility timeout.
//! Every step is idempotent (an import re-reads its file and skips the
//! lines it handled; a delete finding its target gone is done), so a run
//! that dies is simply run again from the job's last write. Writes name the
//! version they read: of two workers on one job, one goes on.

use super::import_rows::{count_lines, Rows};
use super::{Actor, AppError, Desk, Page};
use crate::domain::{ImportFormat, ImportReport, Job, JobId, JobKind, JobState, Role, TenantId};
use crate::ports::{PortErrorKind, PresignedRequest, MAX_JOB_PAGE};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// The queue of jobs to run.
pub const JOBS_QUEUE: &str = "jobs";
/// How long one run works on a job before it queues the rest.
pub const JOB_RUN: Duration = Duration::from_secs(30);
/// How often a running import writes its progress (and pushes it).
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// How long a request waits for the job it started, unless the desk is set otherwise.
pub const JOB_WAIT: Duration = Duration::from_secs(20);
/// Deliveries of one job a worker makes before it gives the job up.
pub const MAX_JOB_ATTEMPTS: u32 = 10;
/// Largest import file: 300,000 accounts with sessions fit in about 120 MB
/// of CSV; this bound leaves room for long names.
pub const MAX_IMPORT_BYTES: u64 = 256 * 1024 * 1024;
/// How long a presigned upload URL works.
pub const UPLOAD_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long an import or a file to attach may wait for its upload and its
/// start (or completion): then it fails and what was uploaded is deleted (a
/// file uploaded and never used would otherwise stay in the blob store).
pub const START_WITHIN: Duration = Duration::from_secs(3600);
/// How often a worker looks whether an import waiting for its start is overdue.
const START_CHECK_EVERY: Duration = Duration::from_secs(600);
/// Jobs one user may have open at once (queued, running, or waiting for its
/// upload, at most [`START_WITHIN`]): each may hold a file of up to
/// [`MAX_IMPORT_BYTES`] and a worker's time.
pub const MAX_OPEN_JOBS: usize = 20;

/// A queued job: which one to run.
#[derive(Serialize, Deserialize)]
struct Ticket {
    tenant: TenantId,
    job: JobId,
}

/// A job as its starter sees it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Where it stands.
    pub state: JobState,
    /// Units done (lines of an import).
    pub processed: u64,
    /// Units in all, once known.
    pub total: Option<u64>,
    /// An import's report so far.
    pub report: Option<ImportReport>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id.clone(),
            kind: job.kind.clone(),
            state: job.state,
            processed: job.processed,
            total: job.total,
            report: job.report.clone(),
            error: job.error.clone(),
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

/// An import waiting for its file, and where to upload it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ImportUpload {
    /// The job (`awaiting_upload`).
    pub job: JobView,
    /// The request that uploads the file; then start the job.
    pub upload: PresignedRequest,
}

/// What became of one delivery of a job.
#[derive(Clone, Debug, PartialEq)]
pub enum JobRun {
    /// Nothing more to do for this delivery (the job finished, failed, was
    /// forgotten, or another worker wrote it meanwhile).
    Settled,
    /// The run used its time; the rest is queued as a new delivery.
    Continues,
    /// The job waits for its start: deliver this again after the delay.
    NotYet(Duration),
}

/// The blob an import's file is uploaded to.
fn upload_key(tenant: &TenantId, job: &JobId) -> String {
    format!("{tenant}/imports/{job}")
}

/// The content type an import file is stored with.
pub fn import_content_type(format: ImportFormat) -> &'static str {
    match format {
        ImportFormat::Csv => "text/csv",
        ImportFormat::JsonLines => "application/x-ndjson",
    }
}

/// True for failures a later run may not meet (a backend down or busy).
fn is_transient(e: &AppError) -> bool {
    matches!(e, AppError::Unavailable(_) | AppError::Internal(_) | AppError::Timeout(_) | AppError::Busy { .. })
}

impl Desk {
    /// Records a queued job and queues it.
    pub(crate) async fn start_job(&self, actor: &Actor, kind: JobKind) -> Result<Job, AppError> {
        self.ensure_room_for_a_job(actor).await?;
        let job = Job::new(actor.tenant.clone(), actor.user_id.clone(), kind, JobState::Queued);
        self.ports.jobs.insert_job(&job).await?;
        self.queue_job(&job).await?;
        Ok(job)
    }

    /// `TooManyRequests` while the actor has [`MAX_OPEN_JOBS`] jobs open.
    pub(crate) async fn ensure_room_for_a_job(&self, actor: &Actor) -> Result<(), AppError> {
        let recent = self.ports.jobs.list_jobs(&actor.tenant, Some(&actor.user_id), None, MAX_JOB_PAGE).await?;
        // A waiting job is open until it starts or fails as overdue; the age
        // bound keeps one counted no longer should no worker fail it.
        let upload_open =
            |j: &Job| Utc::now().signed_duration_since(j.created_at).to_std().is_ok_and(|age| age < START_WITHIN);
        let open = recent
            .iter()
            .filter(|j| match j.state {
                JobState::Queued | JobState::Running => true,
                JobState::AwaitingUpload => upload_open(j),
                JobState::Done | JobState::Failed => false,
            })
            .count();
        if open >= MAX_OPEN_JOBS {
            return Err(AppError::TooManyRequests { retry_after_s: 10 });
        }
        Ok(())
    }

    async fn queue_job(&self, job: &Job) -> Result<(), AppError> {
        let ticket = serde_json::to_vec(&Ticket { tenant: job.tenant.clone(), job: job.id.clone() }).map_err(|e| {
            AppError::Internal(crate::ports::PortError::with_source(PortErrorKind::Internal, "ticket", e))
        })?;
        Ok(self.ports.queue.send_batch(JOBS_QUEUE, vec![ticket]).await?)
    }

    /// Returns a job its starter (or an admin of the tenant) reads; `NotFound` for others.
    pub async fn job(&self, actor: &Actor, id: &JobId) -> Result<JobView, AppError> {
        self.own_job(actor, id).await.map(|j| JobView::from(&j))
    }

    async fn own_job(&self, actor: &Actor, id: &JobId) -> Result<Job, AppError> {
        self.ports
            .jobs
            .get_job(&actor.tenant, id)
            .await?
            .filter(|j| j.started_by == actor.user_id || actor.role == Role::Admin)
            .ok_or_else(|| AppError::not_found("no such job"))
    }

    /// Lists the actor's jobs (an admin's: the tenant's), newest first, a
    /// page at a time (`cursor`: the last id of the page before).
    pub async fn list_jobs(
        &self,
        actor: &Actor,
        cursor: Option<&JobId>,
        limit: Option<usize>,
    ) -> Result<Page<JobView>, AppError> {
        let limit = limit.unwrap_or(20).clamp(1, MAX_JOB_PAGE);
        let by = (actor.role != Role::Admin).then_some(&actor.user_id);
        let jobs = self.ports.jobs.list_jobs(&actor.tenant, by, cursor, limit).await?;
        let next_cursor = (jobs.len() == limit).then(|| jobs.last().map(|j| j.id.to_string())).flatten();
        Ok(Page { items: jobs.iter().map(JobView::from).collect(), next_cursor })
    }

    /// Waits up to `wait` for `job` to finish; returns it as it then stands.
    pub async fn await_job(&self, actor: &Actor, job: Job, wait: Duration) -> Result<Job, AppError> {
        let until = Instant::now() + wait;
        let mut pause = Duration::from_millis(20);
        let mut job = job;
        while !job.state.is_final() && Instant::now() < until {
            tokio::time::sleep(pause.min(until.saturating_duration_since(Instant::now()))).await;
            pause = (pause * 2).min(Duration::from_millis(500));
            job = self.own_job(actor, &job.id).await?;
        }
        Ok(job)
    }

    /// Starts importing `body` (admins and leaders): the file is stored and
    /// a job queued. A file over [`super::MAX_IMPORT_LINES`] lines or
    /// [`MAX_IMPORT_BYTES`] is refused here (`TooLarge`).
    pub async fn import_file(&self, actor: &Actor, format: ImportFormat, body: Vec<u8>) -> Result<Job, AppError> {
        actor.ensure_supervisor()?;
        self.ensure_room_for_a_job(actor).await?;
        if body.len() as u64 > MAX_IMPORT_BYTES {
            return Err(AppError::TooLarge(format!("import files are limited to {MAX_IMPORT_BYTES} bytes")));
        }
        count_lines(&body)?;
        // A file whose header or format is wrong is refused now, whole.
        Rows::open(format, &body)?;
        let id = JobId::generate();
        let upload = upload_key(&actor.tenant, &id);
        let size = body.len() as u64;
        self.ports.blobs.put(&upload, body, import_content_type(format)).await?;
        let mut job = Job::new(
            actor.tenant.clone(),
            actor.user_id.clone(),
            JobKind::ImportAccounts { upload, format, size },
            JobState::Queued,
        );
        job.id = id;
        self.ports.jobs.insert_job(&job).await?;
        self.queue_job(&job).await?;
        Ok(job)
    }

    /// Prepares an import of a file of `size` bytes (admins and leaders):
    /// a job waiting for its upload, and the request that uploads the file
    /// straight to the blob store (on AWS, to S3: a large file never passes
    /// through the API). Start it with [`Desk::start_import`] once uploaded.
    pub async fn import_upload(
        &self,
        actor: &Actor,
        format: ImportFormat,
        size: u64,
    ) -> Result<ImportUpload, AppError> {
        actor.ensure_supervisor()?;
        self.ensure_room_for_a_job(actor).await?;
        if size == 0 {
            return Err(AppError::invalid("the file is empty"));
        }
        if size > MAX_IMPORT_BYTES {
            return Err(AppError::TooLarge(format!("import files are limited to {MAX_IMPORT_BYTES} bytes")));
        }
        let id = JobId::generate();
        let upload = upload_key(&actor.tenant, &id);
        let request =
            self.ports.blobs.presign_upload(&upload, import_content_type(format), size, UPLOAD_LIFETIME).await?;
        let mut job = Job::new(
            actor.tenant.clone(),
            actor.user_id.clone(),
            JobKind::ImportAccounts { upload, format, size },
            JobState::AwaitingUpload,
        );
        job.id = id;
        self.await_upload(&job).await?;
        Ok(ImportUpload { job: JobView::from(&job), upload: request })
    }

    /// Queues an import whose file was uploaded; `Invalid` while the file
    /// is missing or not the size announced, `Conflict` once started.
    pub async fn start_import(&self, actor: &Actor, id: &JobId) -> Result<Job, AppError> {
        let job = self.own_job(actor, id).await?;
        let JobKind::ImportAccounts { upload, size, .. } = &job.kind else {
            return Err(AppError::not_found("no such import"));
        };
        if job.state != JobState::AwaitingUpload {
            return Err(AppError::Conflict("the import has started".into()));
        }
        let stored = match self.ports.blobs.open(upload).await {
            Ok(reader) => reader.meta().size,
            Err(e) if e.kind == PortErrorKind::NotFound => return Err(AppError::invalid("upload the file first")),
            Err(e) => return Err(e.into()),
        };
        if stored != *size {
            return Err(AppError::invalid(format!("the upload holds {stored} bytes, not the {size} announced")));
        }
        let mut queued = job.next();
        queued.state = JobState::Queued;
        self.ports.jobs.update_job(&queued).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => AppError::Conflict("the import has started".into()),
            _ => e.into(),
        })?;
        self.queue_job(&queued).await?;
        Ok(queued)
    }

    /// Runs one delivery of [`JOBS_QUEUE`] for at most [`JOB_RUN`]. `Err`
    /// is a failure another delivery may get past (a backend down): the
    /// caller gives the delivery back; [`Desk::give_up_job`] after
    /// [`MAX_JOB_ATTEMPTS`]. A body that is no ticket is `Invalid` (poison).
    pub async fn run_job(&self, body: &[u8]) -> Result<JobRun, AppError> {
        let ticket: Ticket =
            serde_json::from_slice(body).map_err(|e| AppError::invalid(format!("not a job ticket: {e}")))?;
        let Some(job) = self.ports.jobs.get_job(&ticket.tenant, &ticket.job).await? else { return Ok(JobRun::Settled) };
        if job.state.is_final() {
            return Ok(JobRun::Settled);
        }
        if job.state == JobState::AwaitingUpload {
            let waited = Utc::now().signed_duration_since(job.created_at).to_std().unwrap_or_default();
            if waited < START_WITHIN {
                return Ok(JobRun::NotYet(START_CHECK_EVERY.min(START_WITHIN - waited)));
            }
            let reason = match job.kind {
                JobKind::ImportAccounts { .. } => "the import was not started within an hour of its announcement",
                _ => "the file was not completed within an hour of its announcement",
            };
            return self.end_job(job, Err(reason.into())).await;
        }
        let starter = self.ports.directory.get_user(&job.tenant, &job.started_by).await?;
        let Some(actor) = starter.filter(|u| !u.disabled).map(|u| Actor::of(&u)) else {
            return self.end_job(job, Err("the user who started the job is disabled or gone".into())).await;
        };
        let mut running = job.next();
        running.state = JobState::Running;
        if !self.write_job(&running).await? {
            return Ok(JobRun::Settled);
        }
        let until = Instant::now() + JOB_RUN;
        let outcome = match running.kind.clone() {
            JobKind::ImportAccounts { upload, format, .. } => {
                return self.run_import(&actor, running, &upload, format, until).await
            }
            JobKind::DeleteTag { tag } => self.delete_tag_now(&actor, &tag).await,
            JobKind::DeleteGroup { group } => self.delete_group_now(&actor, &group).await,
            JobKind::DeleteAgent { agent } => self.delete_agent_now(&actor, &agent).await,
            JobKind::DeleteAccount { account } => self.delete_account_now(&actor, &account).await,
            // Never queued: an upload goes from waiting straight to done when completed.
            JobKind::UploadFile { .. } => return Ok(JobRun::Settled),
        };
        match outcome {
            Ok(()) => {
                running.processed = 1;
                running.total = Some(1);
                self.end_job(running, Ok(())).await
            }
            Err(e) if is_transient(&e) => Err(e),
            Err(e) => self.end_job(running, Err(e.to_string())).await,
        }
    }

    /// Marks the job of a delivery that failed [`MAX_JOB_ATTEMPTS`] times
    /// (or cannot be read) failed with `reason`, and tells its starter.
    pub async fn give_up_job(&self, body: &[u8], reason: &str) -> Result<(), AppError> {
        let Ok(ticket) = serde_json::from_slice::<Ticket>(body) else { return Ok(()) };
        let Some(job) = self.ports.jobs.get_job(&ticket.tenant, &ticket.job).await? else { return Ok(()) };
        if !job.state.is_final() {
            self.end_job(job, Err(reason.to_owned())).await?;
        }
        Ok(())
    }

    /// Runs an import from the line its last run stopped at, writing and
    /// pushing its progress every [`PROGRESS_EVERY`].
    async fn run_import(
        &self,
        actor: &Actor,
        mut job: Job,
        upload: &str,
        format: ImportFormat,
        until: Instant,
    ) -> Result<JobRun, AppError> {
        let body = match self.ports.blobs.get(upload).await {
            Ok((body, _)) => body,
            Err(e) if e.kind == PortErrorKind::NotFound => {
                return self.end_job(job, Err("the uploaded file is gone".into())).await
            }
            Err(e) => return Err(e.into()),
        };
        loop {
            let mut report = job.report.clone().unwrap_or_default();
            let step_until = (Instant::now() + PROGRESS_EVERY).min(until);
            let skip = usize::try_from(job.processed).unwrap_or(usize::MAX);
            let step = match self.import_lines(actor, format, &body, skip, Some(step_until), &mut report, &|_| {}).await
            {
                Ok(step) => step,
                Err(e) if is_transient(&e) => return Err(e),
                Err(e) => return self.end_job(job, Err(e.to_string())).await,
            };
            let progressed = Job {
                // Lines handled; once done, every line of the file (a CSV
                // header, blank lines) is.
                processed: if step.done { step.total as u64 } else { step.processed as u64 },
                total: Some(step.total as u64),
                report: Some(report),
                ..job.clone()
            };
            if step.done {
                return self.end_job(progressed, Ok(())).await;
            }
            let next = progressed.next();
            if !self.write_job(&next).await? {
                return Ok(JobRun::Settled);
            }
            self.push_job(&next, super::DeskEvent::ImportProgress).await;
            job = next;
            if Instant::now() >= until {
                self.queue_job(&job).await?;
                return Ok(JobRun::Continues);
            }
        }
    }

    /// Marks a job waiting for its upload done (a file completed); true when
    /// it is done (now or by an earlier call), false when it failed as
    /// overdue (what was uploaded is deleted).
    pub(crate) async fn finish_waiting_job(&self, tenant: &TenantId, id: &JobId) -> Result<bool, AppError> {
        let Some(job) = self.ports.jobs.get_job(tenant, id).await? else { return Ok(false) };
        if job.state != JobState::AwaitingUpload {
            return Ok(job.state == JobState::Done);
        }
        let mut done = job.next();
        done.state = JobState::Done;
        done.processed = 1;
        done.total = Some(1);
        self.write_job(&done).await
    }

    /// Records a job waiting for its upload, and queues its ticket, which
    /// comes back every [`START_CHECK_EVERY`] until the job starts or is overdue.
    pub(crate) async fn await_upload(&self, job: &Job) -> Result<(), AppError> {
        self.ports.jobs.insert_job(job).await?;
        self.queue_job(job).await
    }

    /// Writes a run's change to its job; false when another worker wrote
    /// the job since this run read it (or it was forgotten): this run stops.
    async fn write_job(&self, job: &Job) -> Result<bool, AppError> {
        match self.ports.jobs.update_job(job).await {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.kind, PortErrorKind::Conflict | PortErrorKind::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the end of `job` (its stored version, with the fields a run
    /// changed): done, or failed with the reason; removes an import's file,
    /// and tells its starter.
    async fn end_job(&self, job: Job, outcome: Result<(), String>) -> Result<JobRun, AppError> {
        let mut end = job.next();
        match outcome {
            Ok(()) => end.state = JobState::Done,
            Err(reason) => {
                end.state = JobState::Failed;
                end.error = Some(reason);
            }
        }
        if !self.write_job(&end).await? {
            return Ok(JobRun::Settled);
        }
        let leftovers = match &end.kind {
            // The file holds phones and sessions: it goes once the job is over.
            JobKind::ImportAccounts { upload, .. } => vec![upload.clone()],
            // A file never completed is never attached: its bytes go.
            JobKind::UploadFile { file } if end.state == JobState::Failed => {
                super::files::upload_keys(&end.tenant, file)
            }
            _ => Vec::new(),
        };
        for key in leftovers {
            if let Err(e) = self.ports.blobs.delete(&key).await {
                tracing::warn!(error = %e, job = %end.id, "cannot delete a job's file");
            }
        }
        self.push_job(&end, super::DeskEvent::JobFinished).await;
        Ok(JobRun::Settled)
    }

    /// Pushes a job's state to its starter; a push that fails is logged (the
    /// job's record is what counts; a client polls it).
    async fn push_job(&self, job: &Job, event: fn(JobView) -> super::DeskEvent) {
        let push = async {
            let event = event(JobView::from(job)).into_push()?;
            self.ports.push.publish(&job.tenant, std::slice::from_ref(&job.started_by), event).await
        };
        if let Err(e) = push.await {
            tracing::warn!(error = %e, job = %job.id, "cannot push a job's progress");
        }
    }

    /// The local worker: runs jobs from [`JOBS_QUEUE`], two at a time, until `shutdown`.
    pub async fn run_jobs(&self, shutdown: tokio::sync::watch::Receiver<bool>) {
        const VISIBILITY: Duration = Duration::from_secs(120);
        let mut running = tokio::task::JoinSet::new();
        while !*shutdown.borrow() {
            while running.len() >= 2 {
                running.join_next().await;
            }
            // Not raced against the shutdown: a receive dropped midway may
            // have claimed tickets, which would wait out their visibility.
            let received =
                self.ports.queue.receive(JOBS_QUEUE, 2 - running.len(), Duration::from_secs(1), VISIBILITY).await;
            match received {
                Ok(deliveries) => {
                    for delivery in deliveries {
                        let desk = self.clone();
                        running.spawn(async move { desk.settle_job_delivery(delivery).await });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "jobs queue unavailable; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        // A run cut short is run again from its last write (every step is idempotent).
        running.shutdown().await;
    }

    async fn settle_job_delivery(&self, delivery: crate::ports::Delivery) {
        let settled = match self.run_delivery(&delivery).await {
            JobVerdict::Settled => self.ports.queue.ack(JOBS_QUEUE, std::slice::from_ref(&delivery.receipt)).await,
            JobVerdict::DeadLetter(reason) => self.ports.queue.dead_letter(JOBS_QUEUE, &delivery, &reason).await,
            JobVerdict::Retry(delay) | JobVerdict::Wait(delay) => {
                self.ports.queue.nack(JOBS_QUEUE, &delivery.receipt, delay).await
            }
        };
        if let Err(e) = settled {
            tracing::warn!(error = %e, "cannot settle a job delivery; it comes back after its timeout");
        }
    }

    /// Runs one delivery of [`JOBS_QUEUE`] and says what becomes of it, for
    /// the local worker and the `jobs` Lambda alike: a body that is no
    /// ticket is dead-lettered; a run that failed for now comes back after
    /// [`job_retry_delay`], and after [`MAX_JOB_ATTEMPTS`] its job is failed
    /// and the body dead-lettered.
    pub async fn run_delivery(&self, delivery: &crate::ports::Delivery) -> JobVerdict {
        match self.run_job(&delivery.body).await {
            Ok(JobRun::NotYet(delay)) => JobVerdict::Wait(delay),
            Ok(_) => JobVerdict::Settled,
            Err(AppError::Invalid(reason)) => JobVerdict::DeadLetter(reason),
            Err(e) if delivery.attempts >= MAX_JOB_ATTEMPTS => {
                let reason = format!("failed {} times; last: {e}", delivery.attempts);
                match self.give_up_job(&delivery.body, &reason).await {
                    Ok(()) => JobVerdict::DeadLetter(reason),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot mark a job failed; retried");
                        JobVerdict::Retry(job_retry_delay(delivery.attempts))
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, attempts = delivery.attempts, "job run failed; retried");
                JobVerdict::Retry(job_retry_delay(delivery.attempts))
            }
        }
    }
}

/// What becomes of a delivery of [`JOBS_QUEUE`].
#[derive(Clone, Debug, PartialEq)]
pub enum JobVerdict {
    /// Handled: ack it.
    Settled,
    /// Never runnable: to the dead-letter queue with this reason.
    DeadLetter(String),
    /// Deliver it again after this delay (a run failed for now).
    Retry(Duration),
    /// Deliver it again after this delay (the job waits for its start).
    Wait(Duration),
}

/// The wait before delivery `attempts + 1` of a job whose run failed for
/// now: doubling from a second, at most five minutes.
fn job_retry_delay(attempts: u32) -> Duration {
    super::doubling_delay(attempts, Duration::from_secs(1), Duration::from_secs(300))
}
