//! Ports: the traits adapters implement. Each file holds one port and its
//! error. Keys and cursors are domain values, never SQL or DynamoDB terms, so
//! the SQLite and the DynamoDB adapters implement the same contract.

mod archive;
mod blobs;
mod connections;
mod error;
mod expiry;
mod jobs;
mod leases;
mod push;
mod queue;
mod replies;
mod sealer;
mod search;
mod sends;
mod store;
mod telegram;
mod throttle;

pub use archive::{
    validate_month, Archive, ArchiveChange, ArchiveUsage, ArchiveWrite, MAX_ARCHIVE_BATCH, MAX_ARCHIVE_PAGE,
};
pub use blobs::{
    validate_blob_key, validate_content_type, validate_presign, BlobMeta, BlobReader, BlobStore, BlobVersion,
    BlobWriter, MemoryBlob, PresignedRequest, MAX_BLOB_CHUNK, MAX_BLOB_KEY, MAX_BLOB_LIST, MAX_CONTENT_TYPE,
    MAX_PRESIGN,
};
pub use connections::{
    validate_connection_id, Advance, Connection, ConnectionId, Connections, MAX_CONNECTIONS_PER_USER, MAX_CONNECTION_ID,
};
pub use error::{PortError, PortErrorKind};
pub use expiry::{ExpiredKey, ExpiryFinish, ExpirySlice, MessageExpiry, MAX_EXPIRED_BATCH};
pub use jobs::{Jobs, MAX_JOB_PAGE};
pub use leases::{Lease, Leases};
pub use push::{PushEvent, PushHub, EVENT_KINDS};
pub use queue::{
    dead_letter_queue, reason_within_limit, validate_queue_name, validate_receive, validate_send, Delivery, Queue,
    QueueDepth, MAX_BODY_BYTES, MAX_QUEUE_NAME, MAX_REASON_BYTES,
};
pub use replies::Replies;
pub use sealer::{SessionImporter, SessionSealer};
pub use search::{
    ChangeFeed, Clause, FeedBatch, Fragment, MessageChange, SearchHit, SearchIndex, SearchOrder, SearchPage,
    SearchQuery, SearchText, MAX_QUERY_ACCOUNTS, MAX_QUERY_CHARS, MAX_QUERY_CLAUSES, MAX_QUERY_TAGS,
};
pub use sends::SendLog;
pub use store::{
    AccountPut, AccountQuery, AuditQuery, DialogCursor, DialogFilter, DialogScope, Directory, IngestOutcome,
    MessageReader, MessageWriter, Pin, PinTarget, SessionSave, SessionSaves, UserQuery,
};
pub use telegram::{
    DialogList, LoginStep, OutgoingFile, OutgoingMessage, TelegramConnector, TelegramContact, TelegramDownload,
    TelegramError, TelegramProfile, TelegramSession, TelegramUpdate,
};
pub use throttle::{Admission, Throttle, ThrottleLimit, MAX_THROTTLE_KEY};
