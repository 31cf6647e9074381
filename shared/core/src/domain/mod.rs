//! Domain types. Constructors validate, so a value of these types is always
//! well formed once it exists.

mod account;
mod audit;
mod dialog;
mod dialog_delta;
mod error;
mod ids;
mod job;
mod limits;
#[cfg(test)]
pub(crate) use limits::tests as limits_tests;
mod message;
mod phone;
mod send;
mod tenant;
mod user;

pub use account::{parse_label, Account, AccountHead, AccountStatus, Group, Tag};
pub use audit::{AuditAction, AuditEntry};
pub use dialog::{Dialog, PeerKind, PeerProfile};
pub use dialog_delta::{preview, text_preview, DialogDelta, PREVIEW_CHARS};
pub use error::DomainError;
pub use ids::{AccountId, AuditId, BatchId, FileId, GroupId, JobId, RequestId, SendId, TagId, UserId};
pub use job::{ImportFormat, ImportReport, Job, JobKind, JobState, RejectedLine, JOB_KEEP_DAYS};
pub use limits::{
    cut, MAX_ENTITIES_BYTES, MAX_IDS_PER_UPDATE, MAX_NAME_BYTES, MAX_PROFILES_PER_UPDATE, MAX_TEXT_BYTES,
    TEXT_AND_ENTITIES_JSON_BYTES,
};
pub use message::{MediaRef, Message};
pub use phone::Phone;
pub use send::{
    parse_text, plan_messages, telegram_random_id, BatchSend, FileRef, PlannedMessage, SendRecord, SendStatus,
    MAX_TEXT_CHARS,
};
pub use tenant::{Tenant, TenantId};
pub use user::{Role, User, Username};
