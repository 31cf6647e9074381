//! Who is on the other side: the account's own Telegram profile, its
//! contacts, and the customer's profile shown beside a dialog. The fleet
//! syncs them when a session comes online and on demand ([`Desk::request_sync`]).

use super::commands::{photo_key, Call, FleetCommand};
use super::{cursor, page_size, Actor, AppError, Desk, MediaFile, Page};
use crate::domain::{AccountId, PeerKind, PeerProfile};
use crate::ports::PortErrorKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Most messages one history sync fetches.
pub const MAX_HISTORY_SYNC: u32 = 5_000;

/// The customer (or group) of a dialog, as shown beside it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProfileView {
    /// The dialog's marked peer id.
    pub peer: i64,
    /// Kind of chat.
    pub kind: PeerKind,
    /// The dialog's title (the customer's name, or the group's title).
    pub title: String,
    /// First name, once synced (users only).
    pub first_name: Option<String>,
    /// Last name, if set.
    pub last_name: Option<String>,
    /// Username without `@`, if set.
    pub username: Option<String>,
    /// Phone, when Telegram shows it.
    pub phone: Option<String>,
    /// True when the customer is in the account's contacts.
    pub is_contact: bool,
    /// Id of the customer's profile photo, if one is set; the image is at
    /// `GET /api/accounts/{id}/dialogs/{peer}/profile/photo`.
    pub photo_id: Option<i64>,
    /// When the profile was last synced from Telegram (none: only the dialog is known).
    pub synced_at: Option<DateTime<Utc>>,
}

impl Desk {
    /// Returns the profile of a dialog's peer, as far as the account knows it.
    pub async fn dialog_profile(&self, actor: &Actor, id: &AccountId, peer: i64) -> Result<ProfileView, AppError> {
        let account = self.visible_account(actor, id).await?;
        let dialog = self.get_dialog(&actor.tenant, &account.id, peer).await?;
        let profile = self.ports.reader.get_profile(&actor.tenant, &account.id, peer).await?;
        Ok(ProfileView {
            peer,
            kind: dialog.kind,
            title: dialog.title,
            first_name: profile.as_ref().map(|p| p.first_name.clone()),
            last_name: profile.as_ref().and_then(|p| p.last_name.clone()),
            username: profile.as_ref().and_then(|p| p.username.clone()),
            phone: profile.as_ref().and_then(|p| p.phone.clone()),
            is_contact: profile.as_ref().is_some_and(|p| p.is_contact),
            photo_id: profile.as_ref().and_then(|p| p.photo_id),
            synced_at: profile.map(|p| p.synced_at),
        })
    }

    /// Returns the account's own Telegram profile; `NotFound` before the first sync.
    pub async fn account_profile(&self, actor: &Actor, id: &AccountId) -> Result<PeerProfile, AppError> {
        let account = self.visible_account(actor, id).await?;
        self.ports
            .reader
            .get_self_profile(&actor.tenant, &account.id)
            .await?
            .ok_or_else(|| AppError::not_found("the account's profile is not synced yet"))
    }

    /// Returns the profile photo of a dialog's customer, fetching it from
    /// Telegram on first view; `NotFound` when they have none (as last synced),
    /// or it was replaced since (which syncs the account's profiles anew).
    pub async fn dialog_photo(&self, actor: &Actor, id: &AccountId, peer: i64) -> Result<MediaFile, AppError> {
        let account = self.visible_account(actor, id).await?;
        self.get_dialog(&actor.tenant, &account.id, peer).await?;
        let profile = self.ports.reader.get_profile(&actor.tenant, &account.id, peer).await?;
        self.profile_photo(actor, &account.id, profile).await
    }

    /// Returns the account's own profile photo, fetching it from Telegram on
    /// first view; `NotFound` when it has none (as last synced).
    pub async fn account_photo(&self, actor: &Actor, id: &AccountId) -> Result<MediaFile, AppError> {
        let account = self.visible_account(actor, id).await?;
        let profile = self.ports.reader.get_self_profile(&actor.tenant, &account.id).await?;
        self.profile_photo(actor, &account.id, profile).await
    }

    /// Serves a synced profile's photo from the blob store, asking the fleet for it once.
    async fn profile_photo(
        &self,
        actor: &Actor,
        account: &AccountId,
        profile: Option<PeerProfile>,
    ) -> Result<MediaFile, AppError> {
        let (peer, photo_id) =
            profile.and_then(|p| Some((p.peer, p.photo_id?))).ok_or_else(|| AppError::not_found("no profile photo"))?;
        let key = photo_key(&actor.tenant, account, peer, photo_id);
        let reader = match self.ports.blobs.open(&key).await {
            Ok(found) => found,
            Err(e) if e.kind == PortErrorKind::NotFound => {
                let call = Call::new(&actor.tenant, account);
                match self.ask_fleet(FleetCommand::FetchPhoto { call, peer, photo_id }).await {
                    Ok(_) => self.ports.blobs.open(&key).await?,
                    // Telegram no longer has that photo: the user changed it
                    // without writing since. The account's profiles are synced
                    // anew, so the next look finds the current one.
                    Err(AppError::Refused { code: "telegram_refused", .. }) => {
                        let command = FleetCommand::Sync { tenant: actor.tenant.clone(), account_id: account.clone() };
                        self.enqueue_commands(std::slice::from_ref(&command)).await?;
                        return Err(AppError::not_found("the profile photo changed; the profile is being synced"));
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let content_type = reader.meta().content_type.clone();
        Ok(MediaFile { reader, content_type, name: Some(format!("{peer}-{photo_id}.jpg")), direct: None })
    }

    /// Returns a page of the account's contacts, by user id.
    pub async fn account_contacts(
        &self,
        actor: &Actor,
        id: &AccountId,
        raw_cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PeerProfile>, AppError> {
        let account = self.visible_account(actor, id).await?;
        let limit = page_size(limit);
        let after = raw_cursor.map(|c| cursor::decode::<i64>(&actor.tenant, c)).transpose()?;
        let items = self.ports.reader.list_contacts(&actor.tenant, &account.id, after, limit).await?;
        let next_cursor = (items.len() == limit).then(|| cursor::encode(&actor.tenant, &items[limit - 1].peer));
        Ok(Page { items, next_cursor })
    }

    /// Asks the fleet to fetch up to `limit` (1 to [`MAX_HISTORY_SYNC`])
    /// messages of a dialog from Telegram, older than `before` (the oldest id
    /// the caller has; none: from the newest); they arrive through ingest,
    /// which skips what is stored already.
    pub async fn request_history(
        &self,
        actor: &Actor,
        id: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(), AppError> {
        let account = self.visible_account(actor, id).await?;
        super::sending::ensure_can_send(&account)?;
        self.get_dialog(&actor.tenant, &account.id, peer).await?;
        if limit == 0 || limit > MAX_HISTORY_SYNC {
            return Err(AppError::invalid(format!("limit must be 1 to {MAX_HISTORY_SYNC}")));
        }
        let command = FleetCommand::SyncHistory {
            tenant: actor.tenant.clone(),
            account_id: account.id.clone(),
            peer,
            before,
            limit,
        };
        self.enqueue_commands(std::slice::from_ref(&command)).await
    }

    /// Asks the fleet to sync the account's profile, contacts, dialogs and
    /// recent history now; the results arrive through ingest.
    pub async fn request_sync(&self, actor: &Actor, id: &AccountId) -> Result<(), AppError> {
        let account = self.visible_account(actor, id).await?;
        super::sending::ensure_can_send(&account)?;
        let command = FleetCommand::Sync { tenant: actor.tenant.clone(), account_id: account.id.clone() };
        self.enqueue_commands(std::slice::from_ref(&command)).await
    }
}
