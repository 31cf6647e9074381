//! The persisted shape of the fake cloud: users, accounts with their message
//! boxes and update logs, basic groups, channels, files and auth keys.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::srp::PasswordRecord;

/// Offset Telegram adds to channel ids in marked peer ids (`-100…`).
pub const CHANNEL_MARK: i64 = 1_000_000_000_000;

/// A peer as the cloud stores it: the kind and the bare id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PeerKey {
    /// A user (customer or account).
    User(i64),
    /// A basic group.
    Chat(i64),
    /// A channel or supergroup.
    Channel(i64),
}

impl PeerKey {
    /// Returns Telegram's marked id: users positive, groups negative, channels -100….
    pub fn marked(self) -> i64 {
        match self {
            PeerKey::User(id) => id,
            PeerKey::Chat(id) => -id,
            PeerKey::Channel(id) => -(CHANNEL_MARK + id),
        }
    }

    /// Parses a marked id back into a peer; returns None for 0.
    pub fn from_marked(marked: i64) -> Option<Self> {
        match marked {
            0 => None,
            m if m > 0 => Some(PeerKey::User(m)),
            m if m <= -CHANNEL_MARK => Some(PeerKey::Channel(-m - CHANNEL_MARK)),
            m => Some(PeerKey::Chat(-m)),
        }
    }
}

/// A Telegram user: a customer or the self user of an account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRec {
    /// Bare user id.
    pub id: i64,
    /// The access hash clients must present in `InputUser`/`InputPeerUser`.
    pub access_hash: i64,
    /// Display first name.
    pub first_name: String,
    /// Display last name, if any.
    pub last_name: Option<String>,
    /// Phone in E.164 with `+` (accounts only).
    pub phone: Option<String>,
    /// File id of the current profile photo (in `files`), if one is set.
    #[serde(default)]
    pub photo: Option<i64>,
}

/// One message, in an account's box (private chats, basic groups) or a channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MsgRec {
    /// Message id inside its box or channel.
    pub id: i32,
    /// The chat it lives in (for private chats: the other party, as seen by the box owner).
    pub peer: PeerKey,
    /// The user who wrote it.
    pub from: i64,
    /// Unix seconds.
    pub date: i32,
    /// Text (caption for media).
    pub text: String,
    /// Attached file id, if any.
    pub media: Option<i64>,
    /// Id of the message it replies to.
    pub reply_to: Option<i32>,
    /// When it was last edited.
    pub edit_date: Option<i32>,
    /// Deleted messages stay as tombstones so ids remain indexes.
    pub deleted: bool,
}

/// What an account-level (common pts box) update did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AccEventKind {
    /// A new message in the account's box.
    NewMessage(i32),
    /// An edit of a box message.
    EditMessage(i32),
    /// Deletion of box messages.
    DeleteMessages(Vec<i32>),
    /// The account read a chat up to `max_id`.
    ReadInbox {
        /// The chat read.
        peer: PeerKey,
        /// Highest id read.
        max_id: i32,
    },
    /// A pts slot skipped on purpose by `/control/gap` (delivered only by getDifference).
    Skipped,
}

/// One entry of an account's update log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccEvent {
    /// pts after this event.
    pub pts: i32,
    /// pts consumed by this event.
    pub count: i32,
    /// Unix seconds.
    pub date: i32,
    /// What happened.
    pub kind: AccEventKind,
}

/// What a channel update did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ChanEventKind {
    /// A new channel message.
    NewMessage(i32),
    /// An edit of a channel message.
    EditMessage(i32),
    /// Deletion of channel messages.
    DeleteMessages(Vec<i32>),
}

/// One entry of a channel's update log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChanEvent {
    /// Channel pts after this event.
    pub pts: i32,
    /// pts consumed.
    pub count: i32,
    /// Unix seconds.
    pub date: i32,
    /// What happened.
    pub kind: ChanEventKind,
}

/// An account's view of one dialog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DialogRec {
    /// The chat.
    pub peer: PeerKey,
    /// Id of the newest message.
    pub top_id: i32,
    /// Date of the newest message.
    pub top_date: i32,
    /// Highest incoming id the account read.
    pub read_inbox_max_id: i32,
    /// Unread incoming messages.
    pub unread_count: i32,
}

/// Something an account sent to a customer, as `/control/sent` reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentItem {
    /// Marked peer id.
    pub peer: i64,
    /// Message id.
    pub message_id: i32,
    /// Text or caption.
    pub text: String,
    /// Unix seconds.
    pub date: i32,
    /// Replied-to message id.
    pub reply_to: Option<i32>,
    /// Attached file id.
    pub media: Option<i64>,
}

/// A Telegram account living in the fake cloud.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRec {
    /// E.164 phone with `+`.
    pub phone: String,
    /// The self user id.
    pub user_id: i64,
    /// 2FA verifier, if a password is set.
    pub password: Option<PasswordRecord>,
    /// Current common-box pts.
    pub pts: i32,
    /// Messages of private chats and basic groups; `msgs[i].id == i + 1`.
    pub msgs: Vec<MsgRec>,
    /// Update log of the common box.
    pub events: Vec<AccEvent>,
    /// Dialogs keyed by marked peer id.
    pub dialogs: HashMap<i64, DialogRec>,
    /// What the account sent to customers.
    pub sent: Vec<SentItem>,
    /// Messages customers sent to this account.
    pub received: u64,
    /// Users in the account's contact list.
    pub contacts: BTreeSet<i64>,
    /// Key id of the session `/control/accounts` handed out, returned again on re-create.
    pub control_key: i64,
    /// The random_ids of the account's latest sends: a repeat is refused
    /// with RANDOM_ID_DUPLICATE, as Telegram does.
    #[serde(default)]
    pub random_ids: RecentIds,
}

/// Most random_ids an account remembers.
pub const MAX_RECENT_RANDOM_IDS: usize = 10_000;

/// A bounded set of the latest random_ids, oldest forgotten first. Stored
/// as the list; the set is rebuilt from it when loaded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "VecDeque<i64>", into = "VecDeque<i64>")]
pub struct RecentIds {
    order: VecDeque<i64>,
    set: HashSet<i64>,
}

impl From<VecDeque<i64>> for RecentIds {
    fn from(order: VecDeque<i64>) -> Self {
        let set = order.iter().copied().collect();
        Self { order, set }
    }
}

impl From<RecentIds> for VecDeque<i64> {
    fn from(ids: RecentIds) -> Self {
        ids.order
    }
}

impl RecentIds {
    /// Returns true when `id` is among the latest ones.
    pub fn contains(&self, id: i64) -> bool {
        self.set.contains(&id)
    }

    /// Remembers `id`, forgetting the oldest beyond the bound.
    pub fn insert(&mut self, id: i64) {
        if !self.set.insert(id) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > MAX_RECENT_RANDOM_IDS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }
}

/// A basic group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatRec {
    /// Bare chat id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Member user ids.
    pub members: Vec<i64>,
    /// Creation date.
    pub date: i32,
}

/// A channel (modelled as a supergroup so posts carry their author).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelRec {
    /// Bare channel id.
    pub id: i64,
    /// Access hash for `InputChannel`.
    pub access_hash: i64,
    /// Title.
    pub title: String,
    /// Member user ids.
    pub members: Vec<i64>,
    /// Creation date.
    pub date: i32,
    /// Channel pts.
    pub pts: i32,
    /// Messages; `msgs[i].id == i + 1`.
    pub msgs: Vec<MsgRec>,
    /// Update log.
    pub events: Vec<ChanEvent>,
}

/// A stored file (photo or document).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRec {
    /// File id (also the photo/document id).
    pub id: i64,
    /// Access hash of the photo/document.
    pub access_hash: i64,
    /// `photo` or `document`.
    pub kind: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Upload date.
    pub date: i32,
    /// Content.
    #[serde(with = "b64")]
    pub bytes: Vec<u8>,
}

/// An auth key the simulator issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthKeyRec {
    /// The 256-byte key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// Account the key is logged into, if any.
    pub account: Option<String>,
}

/// Everything that survives a restart.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CloudData {
    /// All users by id.
    pub users: BTreeMap<i64, UserRec>,
    /// Accounts by phone.
    pub accounts: BTreeMap<String, AccountRec>,
    /// Basic groups by id.
    pub chats: BTreeMap<i64, ChatRec>,
    /// Channels by id.
    pub channels: BTreeMap<i64, ChannelRec>,
    /// Files by id.
    pub files: BTreeMap<i64, FileRec>,
    /// Auth keys by key id.
    pub keys: HashMap<i64, AuthKeyRec>,
    /// Last id handed out to accounts, chats, channels and files.
    pub last_id: i64,
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_ids_round_trip_for_every_peer_kind() {
        for p in [PeerKey::User(5), PeerKey::Chat(7), PeerKey::Channel(9)] {
            assert_eq!(PeerKey::from_marked(p.marked()), Some(p));
        }
        assert_eq!(PeerKey::Channel(9).marked(), -1_000_000_000_009);
    }
}
