//! Jobs: work a request starts and a worker finishes, because it may take
//! longer than a request may (API Gateway answers within 29 s): an account
//! import, and the deletes that cascade (a tag off every message, an
//! account with its history). A job is a record its starter can read and
//! watch (`GET /api/jobs/{id}`, `job.*` events); the worker moves it
//! through its states and writes its progress as it goes.

use super::{AccountId, FileId, GroupId, JobId, TagId, TenantId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How long a job is kept after its last change: its starter reads the
/// outcome within that time, then the store forgets it.
pub const JOB_KEEP_DAYS: i64 = 7;

/// The file formats an account import accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// Header `phone,name,tags,group,owner`; only `phone` is required; tags separated by `;`.
    Csv,
    /// One JSON object per line with the same fields; `tags` a list or a `;` string.
    JsonLines,
}

/// One refused line of an import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectedLine {
    /// 1-based line number in the file (the CSV header is line 1).
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
}

/// What an import did (so far, while it runs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Accounts created or changed.
    pub imported: usize,
    /// Lines that matched an account exactly.
    pub unchanged: usize,
    /// Lines refused, by line number: the first ones met, up to a bound.
    pub rejected: Vec<RejectedLine>,
    /// Every line refused, reported or not.
    pub rejected_count: usize,
}

/// What a job does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobKind {
    /// Imports the accounts of an uploaded file.
    ImportAccounts {
        /// The blob holding the file.
        upload: String,
        /// How the file is written.
        format: ImportFormat,
        /// The file's size in bytes, as announced before the upload.
        size: u64,
    },
    /// Deletes a tag and takes it off every account and message.
    DeleteTag {
        /// The tag.
        tag: TagId,
    },
    /// Deletes a group and takes every account out of it.
    DeleteGroup {
        /// The group.
        group: GroupId,
    },
    /// Deletes an agent with their pins and groups.
    DeleteAgent {
        /// The agent.
        agent: UserId,
    },
    /// Deletes an account with its dialogs, messages and pins.
    DeleteAccount {
        /// The account.
        account: AccountId,
    },
    /// A file to attach, announced and waiting to be uploaded and completed.
    UploadFile {
        /// The file.
        file: FileId,
    },
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// An import waiting for its file to be uploaded.
    AwaitingUpload,
    /// Waiting for a worker.
    Queued,
    /// A worker is on it (or was, and another takes over).
    Running,
    /// Finished.
    Done,
    /// Given up; `error` says why.
    Failed,
}

impl JobState {
    /// True once nothing more will happen to the job.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

/// A job and how far it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The tenant it works in.
    pub tenant: TenantId,
    /// Who started it: the worker acts with their rights as they are when it runs.
    pub started_by: UserId,
    /// What it does.
    pub kind: JobKind,
    /// Where it stands.
    pub state: JobState,
    /// Units done (lines of an import; 1 for a finished delete).
    pub processed: u64,
    /// Units in all, once known.
    pub total: Option<u64>,
    /// An import's report so far.
    pub report: Option<ImportReport>,
    /// Why it failed.
    pub error: Option<String>,
    /// Bumped by every write; a write names the version it read, so of two
    /// workers on one job only one goes on.
    pub version: u64,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Job {
    /// A new job in `state`.
    pub fn new(tenant: TenantId, started_by: UserId, kind: JobKind, state: JobState) -> Self {
        let now = Utc::now();
        Self {
            id: JobId::generate(),
            tenant,
            started_by,
            kind,
            state,
            processed: 0,
            total: None,
            report: None,
            error: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// When the store may forget the job.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.updated_at + chrono::Duration::days(JOB_KEEP_DAYS)
    }

    /// The job as its next write stores it: version bumped, `updated_at` now.
    pub fn next(&self) -> Self {
        Self { version: self.version + 1, updated_at: Utc::now(), ..self.clone() }
    }
}
