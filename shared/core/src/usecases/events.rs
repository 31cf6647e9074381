//! The events the desk pushes to agents' sockets, typed: one variant per
//! event with its payload, so each event's name and shape are written once
//! (here, and in the OpenAPI document as `DeskEvent`) instead of a string
//! and a `json!` at every place that pushes.
//!
//! On the socket an event is `{"type": …, "seq": …, "data": …}` (the hub
//! numbers it per user); `data` is the variant's payload.

use super::revocation::SESSION_REVOKED;
use super::{DialogView, JobView};
use crate::domain::{AccountId, AccountStatus, BatchId, Message, SendRecord, TagId};
use crate::ports::{PortError, PushEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// `message.edit`: a message's text changed.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MessageEdited {
    /// The account.
    pub account_id: AccountId,
    /// The dialog's peer.
    pub peer: i64,
    /// The message.
    pub id: i64,
    /// Its new text.
    pub text: String,
    /// When it was edited.
    pub edited_at: DateTime<Utc>,
}

/// `message.delete`: messages of one dialog were deleted on Telegram (they
/// are kept, marked deleted).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MessagesDeleted {
    /// The account.
    pub account_id: AccountId,
    /// The dialog's peer.
    pub peer: i64,
    /// The messages.
    pub ids: Vec<i64>,
}

/// `message.tags`: a message's tags were set.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MessageTagged {
    /// The account.
    pub account_id: AccountId,
    /// The dialog's peer.
    pub peer: i64,
    /// The message.
    pub id: i64,
    /// Its tags now.
    #[schema(value_type = Vec<String>)]
    pub tags: BTreeSet<TagId>,
}

/// `account.status`: an account's connection status changed.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AccountStatusChanged {
    /// The account.
    pub account_id: AccountId,
    /// Its status now.
    #[schema(value_type = String)]
    pub status: AccountStatus,
}

/// `batch.progress`: how far a batch send got (to the agent who started it).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BatchProgress {
    /// The batch.
    #[schema(value_type = String)]
    pub batch_id: BatchId,
    /// How many targets it has.
    pub targets: u32,
    /// Its sends by status (`queued`, `sent`, `failed`, …).
    pub counts: BTreeMap<String, u64>,
    /// True once no send is queued.
    pub done: bool,
}

/// `session.revoked`: tokens of the user older than `valid_from` no longer
/// count; sockets opened with them close.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SocketsRevoked {
    /// The token version from which tokens are valid.
    pub valid_from: u32,
}

/// Every event the desk pushes, with its payload.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "data")]
pub enum DeskEvent {
    /// A message was stored for the first time.
    #[serde(rename = "message.new")]
    MessageNew(Message),
    /// A message's text changed.
    #[serde(rename = "message.edit")]
    MessageEdit(MessageEdited),
    /// Messages were deleted.
    #[serde(rename = "message.delete")]
    MessageDelete(MessagesDeleted),
    /// A message's tags were set.
    #[serde(rename = "message.tags")]
    MessageTags(MessageTagged),
    /// A dialog changed as the inbox lists it.
    #[serde(rename = "dialog.update")]
    DialogUpdate(DialogView),
    /// An account's status changed.
    #[serde(rename = "account.status")]
    AccountStatus(AccountStatusChanged),
    /// A send changed status.
    #[serde(rename = "send.status")]
    SendStatus(SendRecord),
    /// A batch send progressed.
    #[serde(rename = "batch.progress")]
    BatchProgress(BatchProgress),
    /// Some of the user's tokens were revoked.
    #[serde(rename = "session.revoked")]
    SessionRevoked(SocketsRevoked),
    /// An import the user started progressed.
    #[serde(rename = "import.progress")]
    ImportProgress(JobView),
    /// A job the user started finished or failed.
    #[serde(rename = "job.finished")]
    JobFinished(JobView),
}

impl DeskEvent {
    /// The event's type, as sockets see it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MessageNew(_) => "message.new",
            Self::MessageEdit(_) => "message.edit",
            Self::MessageDelete(_) => "message.delete",
            Self::MessageTags(_) => "message.tags",
            Self::DialogUpdate(_) => "dialog.update",
            Self::AccountStatus(_) => "account.status",
            Self::SendStatus(_) => "send.status",
            Self::BatchProgress(_) => "batch.progress",
            Self::SessionRevoked(_) => SESSION_REVOKED,
            Self::ImportProgress(_) => "import.progress",
            Self::JobFinished(_) => "job.finished",
        }
    }

    /// The event as the push port carries it: its type and its payload,
    /// serialised once however many sockets get it.
    pub fn into_push(self) -> Result<PushEvent, PortError> {
        let kind = self.kind();
        match &self {
            Self::MessageNew(m) => PushEvent::new(kind, m),
            Self::MessageEdit(e) => PushEvent::new(kind, e),
            Self::MessageDelete(d) => PushEvent::new(kind, d),
            Self::MessageTags(t) => PushEvent::new(kind, t),
            Self::DialogUpdate(d) => PushEvent::new(kind, d),
            Self::AccountStatus(s) => PushEvent::new(kind, s),
            Self::SendStatus(s) => PushEvent::new(kind, s),
            Self::BatchProgress(b) => PushEvent::new(kind, b),
            Self::SessionRevoked(r) => PushEvent::new(kind, r),
            Self::ImportProgress(j) | Self::JobFinished(j) => PushEvent::new(kind, j),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Dialog, PeerKind, SendId, SendStatus, UserId};
    use crate::ports::EVENT_KINDS;

    fn samples() -> Vec<DeskEvent> {
        let (account, at) = (AccountId::generate(), Utc::now());
        let message = Message { peer: 5, id: 9, ..crate::domain::limits_tests::plain_message(&account) };
        let dialog = Dialog {
            account_id: account.clone(),
            peer: 5,
            kind: PeerKind::User,
            title: "Ann".into(),
            last_message_at: Some(at),
            last_message_id: Some(9),
            preview: "hello".into(),
            unread_count: 1,
        };
        let send = SendRecord {
            id: SendId::generate(),
            account_id: account.clone(),
            peer: 5,
            text: "hi".into(),
            reply_to: None,
            files: vec![],
            status: SendStatus::Sent,
            error: None,
            message_id: Some(10),
            batch_id: None,
            created_by: UserId::generate(),
            created_at: at,
            updated_at: at,
        };
        let (a, peer) = (account.clone(), 5);
        let job = JobView::from(&crate::domain::Job::new(
            crate::domain::TenantId::parse("acme").unwrap(),
            UserId::generate(),
            crate::domain::JobKind::DeleteTag { tag: TagId::generate() },
            crate::domain::JobState::Done,
        ));
        vec![
            DeskEvent::MessageNew(message),
            DeskEvent::MessageEdit(MessageEdited {
                account_id: a.clone(),
                peer,
                id: 9,
                text: "fixed".into(),
                edited_at: at,
            }),
            DeskEvent::MessageDelete(MessagesDeleted { account_id: a.clone(), peer, ids: vec![9] }),
            DeskEvent::MessageTags(MessageTagged { account_id: a.clone(), peer, id: 9, tags: BTreeSet::new() }),
            DeskEvent::DialogUpdate(DialogView::build(dialog, "+1 555".into(), false)),
            DeskEvent::AccountStatus(AccountStatusChanged { account_id: a, status: AccountStatus::Online }),
            DeskEvent::SendStatus(send),
            DeskEvent::BatchProgress(BatchProgress {
                batch_id: BatchId::generate(),
                targets: 3,
                counts: BTreeMap::from([("sent".to_owned(), 3)]),
                done: true,
            }),
            DeskEvent::SessionRevoked(SocketsRevoked { valid_from: 2 }),
            DeskEvent::ImportProgress(job.clone()),
            DeskEvent::JobFinished(job),
        ]
    }

    #[test]
    fn every_event_kind_is_known_and_its_payload_is_the_tagged_data() {
        let events = samples();
        let kinds: BTreeSet<&str> = events.iter().map(DeskEvent::kind).collect();
        assert_eq!(kinds, EVENT_KINDS.into_iter().collect(), "one sample per kind, and every kind known");
        for event in events {
            let tagged = serde_json::to_value(&event).unwrap();
            let push = event.into_push().unwrap();
            assert_eq!(tagged["type"], push.kind);
            let data: serde_json::Value = serde_json::from_str(push.data.get()).unwrap();
            assert_eq!(tagged["data"], data, "{}", push.kind);
        }
    }
}
