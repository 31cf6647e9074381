//! What agents do to messages already in a dialog: edit and delete the
//! account's own messages (carried out on Telegram by the fleet, then stored
//! through ingest like any update), mark a dialog read (at once in the store,
//! then on Telegram), and open the file a customer sent (fetched from Telegram
//! on first view, then served from the blob store).

use super::commands::{media_key, Call, FleetCommand};
use super::events::DeskEvent;
use super::sending::ensure_can_send;
use super::{Actor, AppError, Desk, DialogView};
use crate::domain::{parse_text, Account, AccountId, AuditAction, Dialog, Message, TenantId};
use crate::ports::{BlobReader, PinTarget, PortErrorKind};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Input of [`Desk::edit_message`].
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// The new text (up to 4096 characters; may be empty on a message with a file).
    pub text: String,
}

/// A message's file (or a profile photo), ready to serve piece by piece.
pub struct MediaFile {
    /// The bytes, read from the blob store a chunk at a time (its size is `reader.meta().size`).
    pub reader: Box<dyn BlobReader>,
    /// MIME type (`application/octet-stream` when Telegram gave none).
    pub content_type: String,
    /// File name, when Telegram gave one.
    pub name: Option<String>,
    /// A presigned download to send the client to instead of the bytes
    /// (files too large for a Lambda's answer).
    pub direct: Option<crate::ports::PresignedRequest>,
}

impl Desk {
    /// Replaces the text of a message the account sent, on Telegram and then
    /// in the desk; returns the message as edited.
    pub async fn edit_message(
        &self,
        actor: &Actor,
        id: &AccountId,
        peer: i64,
        message_id: i64,
        input: EditMessage,
    ) -> Result<Message, AppError> {
        let (account, mut message) = self.own_message(actor, id, peer, message_id).await?;
        let text = parse_text(&input.text, message.media.is_some())?;
        let call = Call::new(&actor.tenant, &account.id);
        let data = self.ask_fleet(FleetCommand::Edit { call, peer, id: message_id, text: text.clone() }).await?;
        let edited_at: DateTime<Utc> = serde_json::from_value(data["edited_at"].clone())
            .map_err(|e| AppError::Unavailable(format!("the fleet's reply has no edit time: {e}")))?;
        let details = serde_json::json!({"message_id": message_id, "chars": text.chars().count()});
        self.audit(actor, AuditAction::MessageEdit, Some(account.id.clone()), Some(peer.to_string()), details).await?;
        message.text = text;
        message.edited_at = Some(edited_at);
        Ok(message)
    }

    /// Deletes a message the account sent, for everyone.
    pub async fn delete_message(
        &self,
        actor: &Actor,
        id: &AccountId,
        peer: i64,
        message_id: i64,
    ) -> Result<(), AppError> {
        let (account, _) = self.own_message(actor, id, peer, message_id).await?;
        let call = Call::new(&actor.tenant, &account.id);
        self.ask_fleet(FleetCommand::Delete { call, peer, ids: vec![message_id] }).await?;
        let details = serde_json::json!({"message_id": message_id});
        self.audit(actor, AuditAction::MessageDelete, Some(account.id.clone()), Some(peer.to_string()), details).await
    }

    /// Marks a dialog read up to its newest message: at once in the desk
    /// (pushed as `dialog.update`), and on Telegram through the fleet.
    pub async fn mark_dialog_read(&self, actor: &Actor, id: &AccountId, peer: i64) -> Result<DialogView, AppError> {
        let account = self.visible_account(actor, id).await?;
        let dialog = self.get_dialog(&actor.tenant, &account.id, peer).await?;
        let up_to = dialog.last_message_id.unwrap_or(0);
        self.ports.writer.mark_read(&actor.tenant, &account.id, peer, up_to).await?;
        if ensure_can_send(&account).is_ok() {
            let command = FleetCommand::MarkRead { tenant: actor.tenant.clone(), account_id: account.id.clone(), peer };
            self.enqueue_commands(std::slice::from_ref(&command)).await?;
        }
        let dialog = self.get_dialog(&actor.tenant, &account.id, peer).await?;
        let audience = self.audience(&account).await?;
        let shared = DialogView::build(dialog, account.label(), false);
        self.ports.push.publish(&actor.tenant, &audience, DeskEvent::DialogUpdate(shared.clone()).into_push()?).await?;
        let pinned = self
            .ports
            .directory
            .list_pins(&actor.tenant, &actor.user_id)
            .await?
            .iter()
            .any(|p| p.target == PinTarget::Dialog(account.id.clone(), peer));
        Ok(DialogView { pinned, ..shared })
    }

    /// Returns the file of a message, fetching it from Telegram on first view.
    pub async fn message_media(
        &self,
        actor: &Actor,
        id: &AccountId,
        peer: i64,
        message_id: i64,
    ) -> Result<MediaFile, AppError> {
        let account = self.visible_account(actor, id).await?;
        let message = self
            .find_message(&actor.tenant, &account.id, peer, message_id)
            .await?
            .ok_or_else(|| AppError::not_found("no such message"))?;
        let media = message.media.ok_or_else(|| AppError::not_found("the message has no file"))?;
        let key = media_key(&actor.tenant, &account.id, peer, message_id);
        let reader = match self.ports.blobs.open(&key).await {
            Ok(found) => found,
            Err(e) if e.kind == PortErrorKind::NotFound => {
                let call = Call::new(&actor.tenant, &account.id);
                self.ask_fleet(FleetCommand::FetchMedia { call, peer, message_id }).await?;
                self.ports.blobs.open(&key).await?
            }
            Err(e) => return Err(e.into()),
        };
        let content_type = media.mime.filter(|m| !m.is_empty()).unwrap_or_else(|| reader.meta().content_type.clone());
        self.media_file(&key, reader, content_type, media.name).await
    }

    /// Returns one dialog; `NotFound` when the account has no such dialog.
    pub(crate) async fn get_dialog(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
    ) -> Result<Dialog, AppError> {
        let key = (account.clone(), peer);
        let found = self.ports.reader.get_dialogs(tenant, std::slice::from_ref(&key)).await?;
        found.into_iter().next().ok_or_else(|| AppError::not_found("no such dialog"))
    }

    /// Returns the account and a message it sent that is still there.
    async fn own_message(
        &self,
        actor: &Actor,
        id: &AccountId,
        peer: i64,
        message_id: i64,
    ) -> Result<(Account, Message), AppError> {
        let account = self.visible_account(actor, id).await?;
        ensure_can_send(&account)?;
        let message = self
            .find_message(&actor.tenant, &account.id, peer, message_id)
            .await?
            .ok_or_else(|| AppError::not_found("no such message"))?;
        if !message.outgoing {
            return Err(AppError::forbidden("only messages the account sent can be changed"));
        }
        if message.deleted {
            return Err(AppError::Conflict("the message is deleted".into()));
        }
        Ok((account, message))
    }
}
