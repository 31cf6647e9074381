//! Ingest: Telegram updates of one account, batched into envelopes by the
//! fleet, are stored idempotently and pushed to exactly the users allowed to
//! see the account (its owner, its team's leader, the tenant's admins).
//! Redelivered updates change nothing and push nothing.

use super::{AppError, Desk, DialogView};
use crate::domain::{Account, AccountId, Dialog, Message, PeerProfile, Role, TenantId, UserId};
use crate::ports::{PortErrorKind, PushEvent, UserQuery};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One change Telegram reported for an account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountUpdate {
    /// A message arrived or was sent from another device.
    Message {
        /// The message.
        message: Message,
    },
    /// A message's text changed.
    Edit {
        /// Its dialog.
        peer: i64,
        /// Its id.
        id: i64,
        /// The new text.
        text: String,
        /// When it was edited.
        edited_at: DateTime<Utc>,
    },
    /// Messages were deleted.
    Delete {
        /// Their dialog.
        peer: i64,
        /// Their ids.
        ids: Vec<i64>,
    },
    /// Messages of private chats or basic groups were deleted; Telegram does
    /// not say which dialog (their ids are unique per account).
    DeleteUnplaced {
        /// Their ids.
        ids: Vec<i64>,
    },
    /// A dialog's title or kind is known or changed.
    Dialog {
        /// The dialog (its message fields are ignored).
        dialog: Dialog,
    },
    /// Profiles synced from Telegram: the account's own, its contacts', its customers'.
    Profiles {
        /// The profiles.
        profiles: Vec<PeerProfile>,
    },
}

/// Updates of one account, the unit the fleet publishes and ingest consumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateEnvelope {
    /// The account's tenant.
    pub tenant: TenantId,
    /// The account.
    pub account_id: AccountId,
    /// Its updates, oldest first.
    pub updates: Vec<AccountUpdate>,
}

/// What an ingest call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Messages stored for the first time.
    pub new_messages: usize,
    /// Messages already stored (redelivery).
    pub duplicates: usize,
    /// Edits and deletes applied.
    pub changes: usize,
    /// Events handed to the push hub (one per event, whatever the audience size).
    pub pushed: usize,
}

impl Desk {
    /// Stores one envelope and pushes what was new. `NotFound` when the
    /// account does not exist and `Invalid` when an update names another
    /// account (the caller dead-letters the envelope);
    /// `Unavailable` when the store is down (the caller retries).
    pub async fn ingest(&self, envelope: &UpdateEnvelope) -> Result<IngestReport, AppError> {
        let tenant = &envelope.tenant;
        let account = self
            .directory
            .get_account(tenant, &envelope.account_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("account {} does not exist", envelope.account_id)))?;
        let foreign = envelope.updates.iter().any(|u| match u {
            AccountUpdate::Message { message } => message.account_id != account.id,
            AccountUpdate::Dialog { dialog } => dialog.account_id != account.id,
            AccountUpdate::Profiles { profiles } => profiles.iter().any(|p| p.account_id != account.id),
            _ => false,
        });
        if foreign {
            return Err(AppError::invalid(format!(
                "envelope of account {} holds another account's update",
                account.id
            )));
        }
        let audience = self.audience(&account).await?;
        let mut report = IngestReport::default();
        let mut messages = Vec::new();
        let mut touched = BTreeSet::new();
        let dialogs: Vec<Dialog> = envelope
            .updates
            .iter()
            .filter_map(|u| match u {
                AccountUpdate::Dialog { dialog } => Some(dialog.clone()),
                _ => None,
            })
            .collect();
        if !dialogs.is_empty() {
            self.writer.upsert_dialogs(tenant, &dialogs).await?;
            touched.extend(dialogs.iter().map(|d| d.peer));
        }
        for update in &envelope.updates {
            match update {
                AccountUpdate::Message { message } => messages.push(message.clone()),
                AccountUpdate::Edit { peer, id, text, edited_at } => {
                    match self.writer.edit_message(tenant, &account.id, *peer, *id, text, *edited_at).await {
                        Ok(()) => {}
                        // An edit of a message never stored (older than the synced history) has nothing to change.
                        Err(e) if e.kind == PortErrorKind::NotFound => continue,
                        Err(e) => return Err(e.into()),
                    }
                    let data = serde_json::json!({"account_id": account.id, "peer": peer, "id": id, "text": text, "edited_at": edited_at});
                    self.push.publish(tenant, &audience, PushEvent { kind: "message.edit", data }).await?;
                    report.changes += 1;
                    report.pushed += 1;
                }
                AccountUpdate::Delete { peer, ids } => {
                    self.writer.delete_messages(tenant, &account.id, *peer, ids).await?;
                    let data = serde_json::json!({"account_id": account.id, "peer": peer, "ids": ids});
                    self.push.publish(tenant, &audience, PushEvent { kind: "message.delete", data }).await?;
                    report.changes += 1;
                    report.pushed += 1;
                }
                AccountUpdate::DeleteUnplaced { ids } => {
                    let deleted = self.writer.delete_unplaced_messages(tenant, &account.id, ids).await?;
                    let mut by_peer: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
                    for (peer, id) in deleted {
                        by_peer.entry(peer).or_default().push(id);
                    }
                    for (peer, ids) in by_peer {
                        let data = serde_json::json!({"account_id": account.id, "peer": peer, "ids": ids});
                        self.push.publish(tenant, &audience, PushEvent { kind: "message.delete", data }).await?;
                        report.changes += 1;
                        report.pushed += 1;
                    }
                }
                AccountUpdate::Profiles { profiles } => {
                    self.writer.upsert_profiles(tenant, profiles).await?;
                    report.changes += 1;
                }
                _ => {}
            }
        }
        let outcome = self.writer.ingest_messages(tenant, &messages).await?;
        report.new_messages = outcome.inserted();
        report.duplicates = outcome.duplicates;
        for &i in &outcome.fresh {
            let data = serde_json::to_value(&messages[i]).map_err(|e| AppError::invalid(e.to_string()))?;
            self.push.publish(tenant, &audience, PushEvent { kind: "message.new", data }).await?;
            touched.insert(messages[i].peer);
            report.pushed += 1;
        }
        report.pushed += self.push_dialogs(&account, &audience, touched).await?;
        Ok(report)
    }

    /// Pushes `dialog.update` for each touched dialog, as the inbox lists it.
    async fn push_dialogs(
        &self,
        account: &Account,
        audience: &[UserId],
        peers: BTreeSet<i64>,
    ) -> Result<usize, AppError> {
        if peers.is_empty() {
            return Ok(0);
        }
        let keys: Vec<(AccountId, i64)> = peers.into_iter().map(|p| (account.id.clone(), p)).collect();
        let label = account.display_name.clone().unwrap_or_else(|| account.phone.to_string());
        let dialogs = self.reader.get_dialogs(&account.tenant, &keys).await?;
        let count = dialogs.len();
        for dialog in dialogs {
            // `pinned` is per viewer; clients keep their own pins.
            let view = DialogView::build(dialog, label.clone(), false);
            let data = serde_json::to_value(&view).map_err(|e| AppError::invalid(e.to_string()))?;
            self.push.publish(&account.tenant, audience, PushEvent { kind: "dialog.update", data }).await?;
        }
        Ok(count)
    }

    /// Returns who may see `account`: its owner, its team's leader and every
    /// enabled admin of the tenant (DESIGN §3).
    pub async fn audience(&self, account: &Account) -> Result<Vec<UserId>, AppError> {
        let mut audience: BTreeSet<UserId> = account.owner_id.iter().chain(account.team_id.iter()).cloned().collect();
        let mut query = UserQuery { leader_id: None, role: Some(Role::Admin), after: None, limit: 500 };
        loop {
            let admins = self.directory.list_users(&account.tenant, &query).await?;
            let full = admins.len() == query.limit;
            query.after = admins.last().map(|a| a.id.clone());
            audience.extend(admins.into_iter().filter(|a| !a.disabled).map(|a| a.id));
            if !full {
                return Ok(audience.into_iter().collect());
            }
        }
    }
}

/// Name of the queue the fleet publishes update batches to.
pub const UPDATES_QUEUE: &str = "updates";

/// Encodes envelopes as one queue body: gzip-compressed JSON (many updates
/// per queue message keep queue cost and overhead per update low).
pub fn encode_batch(envelopes: &[UpdateEnvelope]) -> Vec<u8> {
    use std::io::Write;
    let json = serde_json::to_vec(envelopes).unwrap_or_else(|e| unreachable!("envelopes always serialise: {e}"));
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(json.len() / 4), flate2::Compression::fast());
    gz.write_all(&json).and_then(|()| gz.finish()).unwrap_or_else(|e| unreachable!("gzip into a Vec cannot fail: {e}"))
}

/// Decodes a queue body made by [`encode_batch`]; `Invalid` (poison) when it is not one.
pub fn decode_batch(body: &[u8]) -> Result<Vec<UpdateEnvelope>, AppError> {
    let reader = flate2::read::GzDecoder::new(body);
    serde_json::from_reader(reader).map_err(|e| AppError::invalid(format!("not an update batch: {e}")))
}
