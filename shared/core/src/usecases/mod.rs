//! Use cases: every business rule and every permission check lives here, so
//! the REST router, the Lambda handlers and the CLI stay thin translations.

mod account_login;
mod accounts;
mod actor;
mod agents;
mod archiver;
mod audit;
mod commands;
mod cursor;
mod error;
mod events;
mod files;
mod fleet;
mod history;
mod import;
mod import_rows;
mod inbox;
mod indexer;
mod ingest;
mod jobs;
mod message_actions;
mod organise;
mod profiles;
mod retention;
mod retry;
mod revocation;
mod search;
mod sending;
mod session;
mod tenants;
mod views;

pub use account_login::{open_password, seal_password, LoginState};
pub use accounts::{AccountFilter, AssignOutcome, NewAccount, UpdateAccount};
pub use actor::Actor;
pub use agents::{NewAgent, UpdateAgent};
pub use archiver::{archive_messages, ArchiveRun, Archiver, ARCHIVE_WRITES_IN_FLIGHT};
pub use audit::AuditFilter;
pub use commands::{
    media_key, node_commands_queue, photo_key, Call, CommandFailure, CommandReply, FleetCommand, LoginInput,
    COMMANDS_QUEUE, FLEET_TIMEOUT,
};
pub use error::AppError;
pub use events::{
    AccountStatusChanged, BatchProgress, DeskEvent, MessageEdited, MessageTagged, MessagesDeleted, SocketsRevoked,
};
pub use files::{FileUpload, UploadBody, DIRECT_DOWNLOAD_BYTES, MAX_FILE_BYTES};
pub use import::{ImportFormat, ImportProgress, ImportReport, RejectedLine, MAX_IMPORT_LINES, MAX_REPORTED_REJECTIONS};
pub use inbox::{InboxQuery, MAX_FILTER_ACCOUNTS};
pub use indexer::{index_changes, Indexer, IndexerStats, COMMIT_EVERY, COMMIT_INTERVAL, FEED_BATCH};
pub use ingest::{
    decode_batch, encode_batch, AccountUpdate, Announcements, BatchIngest, FailedBatch, IngestReport, UpdateEnvelope,
    MAX_INGEST_ATTEMPTS, UPDATES_QUEUE,
};
pub use jobs::{
    import_content_type, ImportUpload, JobRun, JobVerdict, JobView, JOBS_QUEUE, JOB_RUN, JOB_WAIT, MAX_IMPORT_BYTES,
    MAX_JOB_ATTEMPTS, MAX_OPEN_JOBS, UPLOAD_LIFETIME,
};
pub use message_actions::{EditMessage, MediaFile};
pub use profiles::{ProfileView, MAX_HISTORY_SYNC};
pub use retention::{first_kept_month, purge_archive, ArchivePolicy, ArchiveView};
pub use retry::doubling_delay;
pub use revocation::{ROSTER_TTL, SESSION_REVOKED};
pub use search::{SearchHitView, SearchRequest, SearchResults, DEFAULT_SEARCH_PAGE, MAX_SEARCH_PAGE};
pub use sending::{BatchTarget, BatchView, NewBatch, NewMessage, SendOutcome, MAX_BATCH_TARGETS};
pub use session::LoginOutcome;
pub use views::{AccountView, AgentView, DialogView, Page, TagRef};

use crate::auth::{LoginThrottle, PasswordPool, TokenService};
use crate::ports::{
    Archive, BlobStore, Directory, Jobs, Leases, MessageReader, MessageWriter, PushHub, Queue, Replies, SearchIndex,
    SendLog, SessionImporter, SessionSealer,
};
use std::sync::Arc;

/// Largest page any list returns.
pub const MAX_PAGE: usize = 500;
/// Page size when the client names none.
pub const DEFAULT_PAGE: usize = 50;

/// The ports the use cases run on, chosen once per binary.
#[derive(Clone)]
pub struct Ports {
    /// Tenants, users, accounts, groups, tags, pins, audit.
    pub directory: Arc<dyn Directory>,
    /// Ingest side of dialogs and messages.
    pub writer: Arc<dyn MessageWriter>,
    /// Read side of dialogs and messages.
    pub reader: Arc<dyn MessageReader>,
    /// Delivers events to the agents allowed to see them.
    pub push: Arc<dyn PushHub>,
    /// Records of sends and batches.
    pub sends: Arc<dyn SendLog>,
    /// Carries commands to the session fleet.
    pub queue: Arc<dyn Queue>,
    /// Uploaded files and media.
    pub blobs: Arc<dyn BlobStore>,
    /// Messages older than the hot window: history pages continue there,
    /// and changes to such messages land there (`None`: no archive, as in
    /// a process that serves no history, like the fleet).
    pub archive: Option<Arc<dyn Archive>>,
    /// The full-text index of messages (fed by an [`Indexer`], read by
    /// `search`; `None` in a process that serves no search, like the fleet).
    pub search: Option<Arc<dyn SearchIndex>>,
    /// The fleet's replies to commands a caller waits on.
    pub replies: Arc<dyn Replies>,
    /// Imports and cascading deletes, as the workers run them.
    pub jobs: Arc<dyn Jobs>,
    /// Turns imported session strings into sealed sessions (`None`: the
    /// import's `session` column is refused).
    pub sessions: Option<Arc<dyn SessionImporter>>,
    /// Seals credentials that cross the commands queue (2FA passwords) for
    /// their account; the fleet opens them with the same key (`None`: they
    /// cross in clear; only tests without a key file run so).
    pub sealer: Option<Arc<dyn SessionSealer>>,
    /// Which fleet node holds each account, so a command goes straight to
    /// its queue (`None`: every command goes to the shared queue, and the
    /// node that takes one it cannot carry out passes it on).
    pub leases: Option<Arc<dyn Leases>>,
}

/// The desk's use cases over its ports. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    /// The ports the use cases run on.
    ports: Ports,
    /// Issues and checks access tokens.
    pub tokens: TokenService,
    /// Counts login attempts (in memory unless the composition root gives it a shared store).
    pub throttle: Arc<LoginThrottle>,
    /// Runs argon2 off the async runtime, bounded.
    pub passwords: PasswordPool,
    /// Who of each tenant is in push audiences.
    roster: Arc<revocation::RosterCache>,
    /// How long a caller waits for the fleet's reply ([`FLEET_TIMEOUT`] unless changed).
    pub fleet_timeout: std::time::Duration,
    /// The hot window and retention, as the composition root configured them.
    pub archive_policy: ArchivePolicy,
    /// How long a request waits for the job it started before answering
    /// with the job ([`JOB_WAIT`] unless changed).
    pub job_wait: std::time::Duration,
}

impl Desk {
    /// Wires the use cases to their ports.
    pub fn new(ports: Ports, tokens: TokenService) -> Self {
        Self {
            ports,
            tokens,
            throttle: Arc::new(LoginThrottle::default()),
            passwords: PasswordPool::default(),
            roster: Arc::default(),
            fleet_timeout: FLEET_TIMEOUT,
            archive_policy: ArchivePolicy::default(),
            job_wait: JOB_WAIT,
        }
    }
}

impl Desk {
    /// The ports the desk runs on, for the composition roots and workers
    /// that drive a port themselves (the ingest pump's queue, a test's store).
    pub fn ports(&self) -> &Ports {
        &self.ports
    }
}

/// Clamps a client's page size to `1..=MAX_PAGE`.
pub(crate) fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}
