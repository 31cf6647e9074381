//! Translations from Telegram's TL objects to the domain, done once here so
//! history, sends and updates produce identical `Message`s.

use chrono::{DateTime, Utc};
use grammers_client::peer::Peer;
use grammers_client::tl;
use grammers_session::types::PeerId;
use std::collections::{BTreeSet, HashMap};
use tgdesk_core::domain::{AccountId, Dialog, MediaRef, Message, PeerKind};
use tgdesk_core::ports::TelegramContact;

/// Display names of the users and chats that came with a response, by marked id.
#[derive(Default, Debug)]
pub struct Names(HashMap<i64, String>);

impl Names {
    /// Collects names from a response's users and chats.
    pub fn from_raw(users: &[tl::enums::User], chats: &[tl::enums::Chat]) -> Self {
        let mut map = HashMap::new();
        for user in users {
            if let tl::enums::User::User(u) = user {
                map.insert(u.id, full_name(u.first_name.as_deref(), u.last_name.as_deref()));
            }
        }
        for chat in chats {
            let (id, title) = match chat {
                tl::enums::Chat::Chat(c) => (PeerId::chat_unchecked(c.id), c.title.clone()),
                tl::enums::Chat::Forbidden(c) => (PeerId::chat_unchecked(c.id), c.title.clone()),
                tl::enums::Chat::Channel(c) => (PeerId::channel_unchecked(c.id), c.title.clone()),
                tl::enums::Chat::ChannelForbidden(c) => (PeerId::channel_unchecked(c.id), c.title.clone()),
                _ => continue,
            };
            map.insert(id.bot_api_dialog_id_unchecked(), title);
        }
        Self(map)
    }

    /// Records the name of a marked peer id.
    pub fn insert(&mut self, marked: i64, name: String) {
        self.0.insert(marked, name);
    }

    /// Returns the name of a marked peer id.
    pub fn get(&self, marked: i64) -> Option<String> {
        self.0.get(&marked).cloned()
    }
}

/// Returns "first last" without stray spaces.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> String {
    match (first.unwrap_or("").trim(), last.unwrap_or("").trim()) {
        (f, "") => f.to_owned(),
        ("", l) => l.to_owned(),
        (f, l) => format!("{f} {l}"),
    }
}

/// Returns a friendly grammers peer's display name (users by full name).
pub fn peer_name(peer: &Peer) -> Option<String> {
    match peer {
        Peer::User(u) => Some(u.full_name()).filter(|n| !n.is_empty()),
        other => other.name().map(str::to_owned),
    }
}

/// Returns the id of a user's current profile photo.
pub fn photo_id(u: &tl::types::User) -> Option<i64> {
    match u.photo.as_ref()? {
        tl::enums::UserProfilePhoto::Photo(p) => Some(p.photo_id),
        tl::enums::UserProfilePhoto::Empty => None,
    }
}

/// Converts a TL user to a contact (also the profile's shape).
pub fn contact(u: &tl::types::User) -> TelegramContact {
    TelegramContact {
        user_id: u.id,
        photo_id: photo_id(u),
        is_contact: u.contact,
        is_self: u.is_self,
        first_name: u.first_name.clone().unwrap_or_default(),
        last_name: u.last_name.clone().filter(|l| !l.is_empty()),
        username: u.username.clone(),
        phone: u.phone.as_deref().filter(|p| !p.is_empty()).map(|p| {
            if p.starts_with('+') {
                p.to_owned()
            } else {
                format!("+{p}")
            }
        }),
    }
}

/// Converts a grammers dialog whose newest message is `last`.
pub fn dialog(account: &AccountId, d: &grammers_client::peer::Dialog, last: Option<Message>) -> Dialog {
    let peer = d.peer_id().bot_api_dialog_id_unchecked();
    let unread = match &d.raw {
        tl::enums::Dialog::Dialog(raw) => u32::try_from(raw.unread_count).unwrap_or(0),
        _ => 0,
    };
    Dialog {
        account_id: account.clone(),
        peer,
        kind: PeerKind::of_peer(peer),
        title: peer_name(d.peer()).unwrap_or_default(),
        last_message_at: last.as_ref().map(|m| m.date),
        last_message_id: last.as_ref().map(|m| m.id),
        preview: last.as_ref().map(preview).unwrap_or_default(),
        unread_count: unread,
    }
}

/// Returns the first 100 characters of a message, or `[kind]` for a bare file.
fn preview(m: &Message) -> String {
    let text: String = m.text.chars().take(100).collect();
    match (&m.media, text.is_empty()) {
        (Some(media), true) => format!("[{}]", media.kind),
        _ => text,
    }
}

/// Returns the marked (Bot API) id of a TL peer.
pub fn marked(peer: &tl::enums::Peer) -> i64 {
    PeerId::from(peer).bot_api_dialog_id_unchecked()
}

fn date(unix: i32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(unix), 0).unwrap_or_default()
}

/// Converts a TL message; service messages and empty ones give `None`.
pub fn message(account: &AccountId, raw: &tl::enums::Message, names: &Names) -> Option<Message> {
    let tl::enums::Message::Message(m) = raw else { return None };
    let peer = marked(&m.peer_id);
    let sender_id = match (&m.from_id, m.out) {
        (Some(from), _) => Some(marked(from)),
        // Private chats omit from_id: the sender is the peer itself unless outgoing.
        (None, false) if peer > 0 => Some(peer),
        _ => None,
    };
    let reply_to = match &m.reply_to {
        Some(tl::enums::MessageReplyHeader::Header(h)) => h.reply_to_msg_id.map(i64::from),
        _ => None,
    };
    Some(Message {
        account_id: account.clone(),
        peer,
        id: i64::from(m.id),
        sender_id,
        sender_name: sender_id.and_then(|s| names.get(s)),
        outgoing: m.out,
        date: date(m.date),
        text: m.message.clone(),
        entities: entities(m.entities.as_deref()),
        media: m.media.as_ref().and_then(media),
        reply_to,
        edited_at: m.edit_date.map(date),
        deleted: false,
        tags: BTreeSet::new(),
    })
}

/// Describes a message's attachment, when it has a file.
fn media(media: &tl::enums::MessageMedia) -> Option<MediaRef> {
    match media {
        tl::enums::MessageMedia::Photo(p) => {
            let size = match &p.photo {
                Some(tl::enums::Photo::Photo(photo)) => photo.sizes.iter().filter_map(photo_size_bytes).max(),
                _ => None,
            };
            Some(MediaRef { kind: "photo".into(), name: None, mime: Some("image/jpeg".into()), size, blob_key: None })
        }
        tl::enums::MessageMedia::Document(d) => {
            let Some(tl::enums::Document::Document(doc)) = &d.document else { return None };
            let name = doc.attributes.iter().find_map(|a| match a {
                tl::enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
                _ => None,
            });
            let kind = if d.voice {
                "voice"
            } else if d.video || d.round {
                "video"
            } else if doc.attributes.iter().any(|a| matches!(a, tl::enums::DocumentAttribute::Sticker(_))) {
                "sticker"
            } else {
                "document"
            };
            Some(MediaRef {
                kind: kind.into(),
                name,
                mime: Some(doc.mime_type.clone()).filter(|m| !m.is_empty()),
                size: u64::try_from(doc.size).ok(),
                blob_key: None,
            })
        }
        _ => None,
    }
}

fn photo_size_bytes(size: &tl::enums::PhotoSize) -> Option<u64> {
    match size {
        tl::enums::PhotoSize::Size(s) => u64::try_from(s.size).ok(),
        tl::enums::PhotoSize::Progressive(s) => s.sizes.iter().max().and_then(|n| u64::try_from(*n).ok()),
        _ => None,
    }
}

/// Formatting entities as `[{"type","offset","length"}]`.
fn entities(entities: Option<&[tl::enums::MessageEntity]>) -> serde_json::Value {
    let Some(entities) = entities else { return serde_json::Value::Array(Vec::new()) };
    entities
        .iter()
        .map(|e| {
            let debug = format!("{e:?}");
            let kind = debug.split('(').next().unwrap_or("Unknown").to_owned();
            let (offset, length) = entity_span(&debug);
            serde_json::json!({ "type": kind, "offset": offset, "length": length })
        })
        .collect()
}

/// Reads `offset` and `length` out of an entity's debug form (every
/// constructor has both); avoids matching 20-odd constructors by hand.
fn entity_span(debug: &str) -> (i64, i64) {
    let field = |name: &str| {
        debug
            .split(&format!("{name}: "))
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit() && c != '-').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("offset"), field("length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_first_and_last() {
        assert_eq!(full_name(Some("Ann"), Some("Lee")), "Ann Lee");
        assert_eq!(full_name(Some("Ann"), None), "Ann");
        assert_eq!(full_name(None, Some("Lee")), "Lee");
    }

    #[test]
    fn entities_keep_type_offset_and_length() {
        let bold = tl::enums::MessageEntity::Bold(tl::types::MessageEntityBold { offset: 3, length: 4 });

        let json = entities(Some(&[bold]));

        assert_eq!(json, serde_json::json!([{ "type": "Bold", "offset": 3, "length": 4 }]));
    }
}
