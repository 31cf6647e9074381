//! The update pump: reads grammers' update batches (gaps filled, catch-up
//! through getDifference), caches their peers, converts them, and hands them
//! to the consumer with a checkpoint on each batch's last update, so the
//! saved state never runs ahead of what the consumer took.

use grammers_client::sender::UpdatesReceiver;
use grammers_client::session::types::{PeerId, PeerInfo, UpdatesState};
use grammers_client::session::Session;
use grammers_client::{tl, InvocationError};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{TelegramContact, TelegramError, TelegramUpdate};
use tokio::sync::mpsc;
use tracing::warn;

use crate::convert::{self, Names};
use crate::retry::map_error;
use crate::vault::Vault;

/// One item for the consumer: an update, the state after it, or both.
pub(crate) struct Delivery {
    /// The update (or the error that ended the stream).
    pub update: Option<Result<TelegramUpdate, TelegramError>>,
    /// Set on a batch's last item: consuming it makes this state safe to save.
    pub checkpoint: Option<UpdatesState>,
}

/// Runs until the consumer goes away, the client stops or the key is logged out.
pub(crate) async fn pump(
    mut receiver: UpdatesReceiver,
    vault: Arc<Vault>,
    account: AccountId,
    tx: mpsc::Sender<Delivery>,
) {
    let mut failures = 0u32;
    let mut seen = SeenUsers::default();
    loop {
        let batch = tokio::select! {
            batch = receiver.next() => batch,
            () = tx.closed() => return,
        };
        let (updates, users, chats) = match batch {
            Ok(batch) => {
                failures = 0;
                batch
            }
            Err(InvocationError::Dropped(_)) => return,
            Err(e) => match map_error(e) {
                TelegramError::Unauthorized => {
                    let _ =
                        tx.send(Delivery { update: Some(Err(TelegramError::Unauthorized)), checkpoint: None }).await;
                    return;
                }
                e => {
                    failures += 1;
                    let pause = Duration::from_secs(1 << failures.min(5));
                    warn!(account = %account, error = %e, ?pause, "update stream failed; retrying");
                    tokio::time::sleep(pause).await;
                    continue;
                }
            },
        };
        let peers: Vec<PeerInfo> = users
            .iter()
            .map(PeerInfo::from)
            .chain(chats.iter().map(PeerInfo::from))
            .filter(|p| p.auth().is_some())
            .collect();
        if let Err(e) = vault.cache_peers(peers).await {
            warn!(account = %account, error = %e, "peer cache update failed");
        }
        let names = Names::from_raw(&users, &chats);
        let mut converted: Vec<TelegramUpdate> = seen.changed(&users).map(TelegramUpdate::Users).into_iter().collect();
        converted.extend(updates.iter().filter_map(|(update, _)| convert_update(&account, update, &names)));
        let checkpoint = match receiver.sync_update_state().await {
            Ok(()) => vault.fetched_state(),
            Err(e) => {
                warn!(account = %account, error = %e, "update state sync failed");
                None
            }
        };
        if !deliver(&tx, converted, checkpoint).await {
            return;
        }
    }
}

/// Users a session remembers before it starts over (about 100 KiB); past
/// that, a user is reported once more, which costs one profile write.
const MAX_SEEN_USERS: usize = 4_096;

/// What the session last reported of each user it saw, so a customer's
/// profile is kept current from the users that come with updates without
/// reporting them again with every message.
#[derive(Default)]
struct SeenUsers(HashMap<i64, u64>);

impl SeenUsers {
    /// Returns the users of a batch that are new to the session or changed.
    /// `min` users carry only part of the profile and are left out.
    fn changed(&mut self, users: &[tl::enums::User]) -> Option<Vec<TelegramContact>> {
        if self.0.len() >= MAX_SEEN_USERS {
            self.0.clear();
        }
        let changed: Vec<TelegramContact> = users
            .iter()
            .filter_map(|u| match u {
                tl::enums::User::User(u) if !u.min => Some(u),
                _ => None,
            })
            .filter(|u| {
                let print = fingerprint(u);
                self.0.insert(u.id, print) != Some(print)
            })
            .map(convert::contact)
            .collect();
        (!changed.is_empty()).then_some(changed)
    }
}

/// Hashes what a profile shows of a user (no copies: this runs for every batch).
fn fingerprint(u: &tl::types::User) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&u.first_name, &u.last_name, &u.username, &u.phone, convert::photo_id(u), u.contact, u.is_self).hash(&mut hasher);
    hasher.finish()
}

/// Sends a batch; returns false once the consumer is gone.
async fn deliver(tx: &mpsc::Sender<Delivery>, updates: Vec<TelegramUpdate>, checkpoint: Option<UpdatesState>) -> bool {
    if updates.is_empty() {
        return tx.send(Delivery { update: None, checkpoint }).await.is_ok();
    }
    let last = updates.len() - 1;
    let mut checkpoint = checkpoint;
    for (i, update) in updates.into_iter().enumerate() {
        let delivery =
            Delivery { update: Some(Ok(update)), checkpoint: if i == last { checkpoint.take() } else { None } };
        if tx.send(delivery).await.is_err() {
            return false;
        }
    }
    true
}

/// Converts the updates the product cares about; others give `None`.
fn convert_update(account: &AccountId, update: &tl::enums::Update, names: &Names) -> Option<TelegramUpdate> {
    use tl::enums::Update as U;
    match update {
        U::NewMessage(u) => convert::message(account, &u.message, names).map(TelegramUpdate::NewMessage),
        U::NewChannelMessage(u) => convert::message(account, &u.message, names).map(TelegramUpdate::NewMessage),
        U::EditMessage(u) => convert::message(account, &u.message, names).map(TelegramUpdate::Edited),
        U::EditChannelMessage(u) => convert::message(account, &u.message, names).map(TelegramUpdate::Edited),
        U::DeleteMessages(u) => {
            Some(TelegramUpdate::Deleted { peer: None, ids: u.messages.iter().map(|id| i64::from(*id)).collect() })
        }
        U::DeleteChannelMessages(u) => Some(TelegramUpdate::Deleted {
            peer: Some(PeerId::channel_unchecked(u.channel_id).bot_api_dialog_id_unchecked()),
            ids: u.messages.iter().map(|id| i64::from(*id)).collect(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tg_sim::cloud::model::UserRec;
    use tg_sim::cloud::render::user_tl;

    fn user(id: i64, name: &str, photo: Option<i64>) -> tl::enums::User {
        let rec = UserRec { id, access_hash: 7, first_name: name.into(), last_name: None, phone: None, photo };
        user_tl(&rec, 1, false)
    }

    fn ids(reported: Option<Vec<TelegramContact>>) -> Vec<(i64, Option<i64>)> {
        reported.unwrap_or_default().into_iter().map(|u| (u.user_id, u.photo_id)).collect()
    }

    #[test]
    fn users_are_reported_when_new_or_changed_and_memory_stays_bounded() {
        let mut seen = SeenUsers::default();

        assert_eq!(ids(seen.changed(&[user(5, "Ann", None), user(6, "Bo", None)])), vec![(5, None), (6, None)]);
        assert_eq!(ids(seen.changed(&[user(5, "Ann", None), user(6, "Bo", None)])), vec![]);
        assert_eq!(ids(seen.changed(&[user(5, "Ann", Some(9)), user(6, "Bo", None)])), vec![(5, Some(9))]);
        assert_eq!(ids(seen.changed(&[user(6, "Bob", None)])), vec![(6, None)]);

        let many: Vec<tl::enums::User> = (100..100 + MAX_SEEN_USERS as i64).map(|id| user(id, "C", None)).collect();
        assert_eq!(ids(seen.changed(&many)).len(), MAX_SEEN_USERS);
        assert!(seen.0.len() <= MAX_SEEN_USERS + 2);
        assert_eq!(ids(seen.changed(&[user(5, "Ann", Some(9))])), vec![(5, Some(9))], "forgotten: reported once more");
        assert!(seen.0.len() <= 1);
    }
}
