//! Sending: one message to one dialog, or the same message to many (a batch).
//! Each send is recorded as queued, audited, handed to the fleet through the
//! commands queue, and its status pushed as `send.status` (and the batch's
//! as `batch.progress`) until it is sent or failed.

use super::commands::FleetCommand;
use super::events::{BatchProgress, DeskEvent};
use super::{cursor, page_size, Actor, AppError, Desk, Page};
use crate::domain::{
    parse_text, Account, AccountId, AccountStatus, AuditAction, AuditEntry, AuditId, BatchId, BatchSend, FileId,
    FileRef, SendId, SendRecord, SendStatus, TenantId,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Most targets in one batch.
pub const MAX_BATCH_TARGETS: usize = 10_000;

/// Input of [`Desk::send_message`].
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// Text (up to 4096 characters; may be empty when files are attached).
    #[serde(default)]
    pub text: String,
    /// Id of the message replied to.
    pub reply_to: Option<i64>,
    /// Files uploaded with `POST /api/files` (at most 10).
    #[serde(default)]
    pub files: Vec<FileId>,
}

/// One dialog of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchTarget {
    /// The sending account.
    pub account_id: AccountId,
    /// The dialog.
    pub peer: i64,
}

/// Input of [`Desk::start_batch`].
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    /// Dialogs to send to (1 to 10,000, each once).
    pub targets: Vec<BatchTarget>,
    /// Text (up to 4096 characters; may be empty when files are attached).
    #[serde(default)]
    pub text: String,
    /// Files uploaded with `POST /api/files` (at most 10).
    #[serde(default)]
    pub files: Vec<FileId>,
}

/// A batch with its progress and a page of its sends.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    /// The batch.
    pub batch: BatchSend,
    /// Sends per status.
    pub counts: BTreeMap<String, u64>,
    /// True when no send is queued any more.
    pub done: bool,
    /// A page of its sends.
    pub sends: Page<SendRecord>,
}

/// What the fleet reports for a send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SendOutcome {
    /// Telegram accepted it as this message.
    Sent {
        /// Telegram's message id.
        message_id: i64,
    },
    /// It failed for good (retries are the fleet's business).
    Failed {
        /// Why, for the agent.
        reason: String,
    },
}

pub(crate) fn ensure_can_send(account: &Account) -> Result<(), AppError> {
    match account.status {
        AccountStatus::LoggedOut | AccountStatus::Banned => {
            Err(AppError::Conflict(format!("account {} is {}; it cannot send", account.phone, account.status.as_str())))
        }
        _ => Ok(()),
    }
}

impl Desk {
    /// Queues a message from an account the actor may work, and returns its record.
    pub async fn send_message(
        &self,
        actor: &Actor,
        account_id: &AccountId,
        peer: i64,
        input: NewMessage,
    ) -> Result<SendRecord, AppError> {
        let account = self.visible_account(actor, account_id).await?;
        ensure_can_send(&account)?;
        let files = self.attachable_files(actor, &input.files).await?;
        let text = parse_text(&input.text, !files.is_empty())?;
        let record = self.new_send(actor, &account, peer, text, input.reply_to, files, None);
        self.queue_sends(actor, std::slice::from_ref(&record)).await?;
        Ok(record)
    }

    /// Returns one send of an account the actor may see.
    pub async fn get_send(&self, actor: &Actor, id: &SendId) -> Result<SendRecord, AppError> {
        let send =
            self.ports.sends.get_send(&actor.tenant, id).await?.ok_or_else(|| AppError::not_found("no such send"))?;
        self.visible_account(actor, &send.account_id).await.map_err(|_| AppError::not_found("no such send"))?;
        Ok(send)
    }

    /// Starts a batch: validates every target first (all must be dialogs of
    /// accounts the actor may work, each once), then queues one send per target.
    pub async fn start_batch(&self, actor: &Actor, input: NewBatch) -> Result<BatchView, AppError> {
        let files = self.attachable_files(actor, &input.files).await?;
        let text = parse_text(&input.text, !files.is_empty())?;
        if input.targets.is_empty() || input.targets.len() > MAX_BATCH_TARGETS {
            return Err(AppError::invalid(format!("targets must hold 1 to {MAX_BATCH_TARGETS} dialogs")));
        }
        let mut ids: Vec<AccountId> = input.targets.iter().map(|t| t.account_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let accounts: HashMap<AccountId, Account> = self
            .ports
            .directory
            .get_accounts(&actor.tenant, &ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut problems = Vec::new();
        for (i, t) in input.targets.iter().enumerate() {
            match accounts.get(&t.account_id).filter(|a| actor.can_see(a)) {
                None => problems.push(format!("targets[{i}]: no such account {}", t.account_id)),
                Some(a) => {
                    if let Err(e) = ensure_can_send(a) {
                        problems.push(format!("targets[{i}]: {e}"));
                    }
                }
            }
            if !seen.insert(t) {
                problems.push(format!("targets[{i}]: dialog {}/{} is listed twice", t.account_id, t.peer));
            }
        }
        if !problems.is_empty() {
            problems.truncate(20);
            return Err(AppError::invalid(problems.join("; ")));
        }
        let batch = BatchSend {
            id: BatchId::generate(),
            created_by: actor.user_id.clone(),
            text: text.clone(),
            files: files.clone(),
            targets: input.targets.len() as u32,
            cancelled: false,
            created_at: Utc::now(),
        };
        self.ports.sends.put_batch(&actor.tenant, &batch).await?;
        let records: Vec<SendRecord> = input
            .targets
            .iter()
            .map(|t| {
                let account = &accounts[&t.account_id];
                self.new_send(actor, account, t.peer, text.clone(), None, files.clone(), Some(batch.id.clone()))
            })
            .collect();
        for chunk in records.chunks(500) {
            self.queue_sends(actor, chunk).await?;
        }
        self.get_batch(actor, &batch.id, None, None).await
    }

    /// Returns a batch the actor started (admins: any) with its progress.
    pub async fn get_batch(
        &self,
        actor: &Actor,
        id: &BatchId,
        raw_cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<BatchView, AppError> {
        let batch = self.own_batch(actor, id).await?;
        let limit = page_size(limit);
        let after = raw_cursor.map(|c| cursor::decode::<SendId>(&actor.tenant, c)).transpose()?;
        let items = self.ports.sends.list_batch_sends(&actor.tenant, id, after.as_ref(), limit).await?;
        let next_cursor = (items.len() == limit).then(|| cursor::encode(&actor.tenant, &items[limit - 1].id));
        let counts = self.ports.sends.count_batch_sends(&actor.tenant, id).await?;
        let done = !counts.contains_key(&SendStatus::Queued);
        let counts = counts.into_iter().map(|(s, n)| (s.as_str().to_owned(), n)).collect();
        Ok(BatchView { batch, counts, done, sends: Page { items, next_cursor } })
    }

    /// Cancels a batch: its queued sends become cancelled; sent ones stay sent.
    pub async fn cancel_batch(&self, actor: &Actor, id: &BatchId) -> Result<BatchView, AppError> {
        let mut batch = self.own_batch(actor, id).await?;
        batch.cancelled = true;
        self.ports.sends.put_batch(&actor.tenant, &batch).await?;
        let mut after: Option<SendId> = None;
        loop {
            let page = self.ports.sends.list_batch_sends(&actor.tenant, id, after.as_ref(), 1000).await?;
            let full = page.len() == 1000;
            after = page.last().map(|s| s.id.clone());
            let now = Utc::now();
            let cancelled: Vec<SendRecord> = page
                .into_iter()
                .filter(|s| s.status == SendStatus::Queued)
                .map(|mut s| {
                    s.status = SendStatus::Cancelled;
                    s.updated_at = now;
                    s
                })
                .collect();
            self.ports.sends.put_sends(&actor.tenant, &cancelled).await?;
            if !full {
                break;
            }
        }
        self.push_batch_progress(&actor.tenant, &batch).await?;
        self.get_batch(actor, id, None, None).await
    }

    /// Records what the fleet reports for a send and pushes the change.
    /// Idempotent: a send already final keeps its first outcome, except that
    /// a cancelled send which Telegram did send becomes sent.
    pub async fn record_send_outcome(
        &self,
        tenant: &TenantId,
        id: &SendId,
        outcome: SendOutcome,
    ) -> Result<(), AppError> {
        let mut send =
            self.ports.sends.get_send(tenant, id).await?.ok_or_else(|| AppError::not_found("no such send"))?;
        let applies = matches!(
            (&outcome, send.status),
            (_, SendStatus::Queued) | (SendOutcome::Sent { .. }, SendStatus::Cancelled)
        );
        if !applies {
            return Ok(());
        }
        match outcome {
            SendOutcome::Sent { message_id } => {
                send.status = SendStatus::Sent;
                send.message_id = Some(message_id);
            }
            SendOutcome::Failed { reason } => {
                send.status = SendStatus::Failed;
                send.error = Some(reason);
            }
        }
        send.updated_at = Utc::now();
        self.ports.sends.put_sends(tenant, std::slice::from_ref(&send)).await?;
        self.push_send_status(tenant, &send).await?;
        if let Some(batch_id) = &send.batch_id {
            if let Some(batch) = self.ports.sends.get_batch(tenant, batch_id).await? {
                self.push_batch_progress(tenant, &batch).await?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn new_send(
        &self,
        actor: &Actor,
        account: &Account,
        peer: i64,
        text: String,
        reply_to: Option<i64>,
        files: Vec<FileRef>,
        batch_id: Option<BatchId>,
    ) -> SendRecord {
        let now = Utc::now();
        SendRecord {
            id: SendId::generate(),
            account_id: account.id.clone(),
            peer,
            text,
            reply_to,
            files,
            status: SendStatus::Queued,
            error: None,
            message_id: None,
            batch_id,
            created_by: actor.user_id.clone(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Records, audits, enqueues and announces sends (in that order, so a
    /// command never names a send that is not recorded).
    async fn queue_sends(&self, actor: &Actor, records: &[SendRecord]) -> Result<(), AppError> {
        self.ports.sends.put_sends(&actor.tenant, records).await?;
        let entries: Vec<AuditEntry> = records
            .iter()
            .map(|r| AuditEntry {
                id: AuditId::generate(),
                at: r.created_at,
                actor_id: Some(actor.user_id.clone()),
                action: AuditAction::MessageSend,
                account_id: Some(r.account_id.clone()),
                target: Some(r.peer.to_string()),
                details: serde_json::json!({"send_id": r.id, "batch_id": r.batch_id, "chars": r.text.chars().count()}),
            })
            .collect();
        self.ports.directory.append_audit(&actor.tenant, &entries).await?;
        let commands: Vec<FleetCommand> = records
            .iter()
            .map(|r| FleetCommand::Send {
                tenant: actor.tenant.clone(),
                account_id: r.account_id.clone(),
                send_id: r.id.clone(),
                peer: r.peer,
                text: r.text.clone(),
                reply_to: r.reply_to,
                files: r.files.clone(),
            })
            .collect();
        self.enqueue_commands(&commands).await?;
        for r in records.iter().filter(|r| r.batch_id.is_none()) {
            self.push_send_status(&actor.tenant, r).await?;
        }
        Ok(())
    }

    async fn push_send_status(&self, tenant: &TenantId, send: &SendRecord) -> Result<(), AppError> {
        let Some(account) = self.ports.directory.get_account(tenant, &send.account_id).await? else { return Ok(()) };
        let audience = self.audience(&account).await?;
        Ok(self.ports.push.publish(tenant, &audience, DeskEvent::SendStatus(send.clone()).into_push()?).await?)
    }

    async fn push_batch_progress(&self, tenant: &TenantId, batch: &BatchSend) -> Result<(), AppError> {
        let counts = self.ports.sends.count_batch_sends(tenant, &batch.id).await?;
        let done = !counts.contains_key(&SendStatus::Queued);
        let counts = counts.into_iter().map(|(s, n)| (s.as_str().to_owned(), n)).collect();
        let event = DeskEvent::BatchProgress(BatchProgress {
            batch_id: batch.id.clone(),
            targets: batch.targets,
            counts,
            done,
        });
        let audience = [batch.created_by.clone()];
        Ok(self.ports.push.publish(tenant, &audience, event.into_push()?).await?)
    }

    async fn own_batch(&self, actor: &Actor, id: &BatchId) -> Result<BatchSend, AppError> {
        self.ports
            .sends
            .get_batch(&actor.tenant, id)
            .await?
            .filter(|b| b.created_by == actor.user_id || actor.role == crate::domain::Role::Admin)
            .ok_or_else(|| AppError::not_found("no such batch"))
    }
}
