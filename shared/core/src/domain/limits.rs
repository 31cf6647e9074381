//! Bounds on what one record from Telegram may hold, so that every record
//! fits everywhere it goes: a queue body (190 KiB), a DynamoDB item
//! (400 KB), an API Gateway WebSocket frame (128 KB) for its push event.
//!
//! Telegram stays far below them: a text has at most 4,096 characters (12 KiB
//! of UTF-8), a name 64 characters, a title 128. Only a broken or hostile
//! peer reaches them, and its record is then cut to fit, never refused: a
//! message keeps the start of its text and the entities that fit, lists of
//! ids or profiles are split into several updates. Refusing would put the
//! whole batch that carries it on the dead-letter queue, or stall a
//! publisher retrying a body the queue can never take.
//!
//! Sizes are of UTF-8 bytes. JSON may escape a control character to six
//! bytes, so a message's text and entities share one budget of encoded
//! bytes ([`TEXT_AND_ENTITIES_JSON_BYTES`]): the entities get what the
//! text's JSON leaves. A test (`a_message_at_every_bound_fits_a_push_frame`)
//! keeps the worst message under the smallest limit.

use super::{Dialog, Message, PeerProfile};

/// Most bytes of a message's text (or caption, or edited text).
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Most bytes of a message's entities as JSON.
pub const MAX_ENTITIES_BYTES: usize = 64 * 1024;
/// Most bytes of a message's text and entities together, as JSON.
pub const TEXT_AND_ENTITIES_JSON_BYTES: usize = 104 * 1024;
/// Most bytes of a name, title, username, phone or file attribute.
pub const MAX_NAME_BYTES: usize = 256;
/// Most message ids one delete update carries.
pub const MAX_IDS_PER_UPDATE: usize = 4_000;
/// Most profiles one profiles update carries.
pub const MAX_PROFILES_PER_UPDATE: usize = 50;

/// Cuts `text` to at most `max` bytes at a character boundary; true when it
/// was longer.
pub fn cut(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

fn cut_opt(text: &mut Option<String>, max: usize) -> bool {
    text.as_mut().is_some_and(|t| cut(t, max))
}

/// False for no entities (null or an empty list), as almost every message
/// has: nothing to measure.
fn has_entities(entities: &serde_json::Value) -> bool {
    !matches!(entities, serde_json::Value::Null) && !entities.as_array().is_some_and(Vec::is_empty)
}

/// Returns how many bytes `text` takes as a JSON string, at most (control
/// characters counted at six, quotes and backslashes at two).
pub fn json_string_len(text: &str) -> usize {
    2 + text.len()
        + text.bytes().map(|b| if b < 0x20 { 5 } else { usize::from(b == b'"' || b == b'\\') }).sum::<usize>()
}

/// Keeps the longest prefix of an entity list whose JSON fits `max` bytes
/// (anything else that does not fit becomes an empty list); true when
/// something was dropped.
pub fn fit_entities(entities: &mut serde_json::Value, max: usize) -> bool {
    let size = |v: &serde_json::Value| serde_json::to_vec(v).map_or(usize::MAX, |b| b.len());
    if !has_entities(entities) || size(entities) <= max {
        return false;
    }
    let Some(list) = entities.as_array_mut() else {
        *entities = serde_json::Value::Array(Vec::new());
        return true;
    };
    // Brackets, then each kept entity and its comma.
    let mut used = 2;
    let mut keep = 0;
    for entity in list.iter() {
        let n = size(entity) + 1;
        if used + n > max {
            break;
        }
        used += n;
        keep += 1;
    }
    list.truncate(keep);
    true
}

impl Message {
    /// Cuts the message to the bounds above; true when anything was cut.
    pub fn fit(&mut self) -> bool {
        let mut cut_any = cut(&mut self.text, MAX_TEXT_BYTES);
        // Only a message with entities pays for measuring its text.
        if has_entities(&self.entities) {
            let room = TEXT_AND_ENTITIES_JSON_BYTES.saturating_sub(json_string_len(&self.text));
            cut_any |= fit_entities(&mut self.entities, room.min(MAX_ENTITIES_BYTES));
        }
        cut_any |= cut_opt(&mut self.sender_name, MAX_NAME_BYTES);
        if let Some(media) = &mut self.media {
            cut_any |= cut(&mut media.kind, MAX_NAME_BYTES);
            cut_any |= cut_opt(&mut media.name, MAX_NAME_BYTES);
            cut_any |= cut_opt(&mut media.mime, MAX_NAME_BYTES);
            cut_any |= cut_opt(&mut media.blob_key, MAX_NAME_BYTES);
        }
        cut_any
    }
}

impl Dialog {
    /// Cuts the title and preview to the bounds above; true when either was cut.
    pub fn fit(&mut self) -> bool {
        cut(&mut self.title, MAX_NAME_BYTES) | cut(&mut self.preview, MAX_TEXT_BYTES)
    }
}

impl PeerProfile {
    /// Cuts the names, username and phone to [`MAX_NAME_BYTES`]; true when any was cut.
    pub fn fit(&mut self) -> bool {
        cut(&mut self.first_name, MAX_NAME_BYTES)
            | cut_opt(&mut self.last_name, MAX_NAME_BYTES)
            | cut_opt(&mut self.username, MAX_NAME_BYTES)
            | cut_opt(&mut self.phone, MAX_NAME_BYTES)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{AccountId, MediaRef, PeerKind};
    use chrono::Utc;
    use serde_json::json;

    /// A string of `bytes` bytes that JSON escapes to six bytes each.
    pub(crate) fn escaped(bytes: usize) -> String {
        "\u{1}".repeat(bytes)
    }

    /// An ordinary incoming message of `account`.
    pub(crate) fn plain_message(account: &AccountId) -> Message {
        Message {
            account_id: account.clone(),
            peer: 1,
            id: 1,
            sender_id: Some(2),
            sender_name: Some("Ann".into()),
            outgoing: false,
            date: Utc::now(),
            text: "hello".into(),
            entities: json!([]),
            media: None,
            reply_to: None,
            edited_at: None,
            deleted: false,
            tags: Default::default(),
        }
    }

    /// A message over every bound, in the characters JSON inflates most.
    pub(crate) fn hostile_message() -> Message {
        let long = || Some(escaped(10_000));
        Message {
            sender_name: long(),
            text: escaped(1_000_000),
            entities: json!((0..20_000)
                .map(|i| json!({"type": "text_url", "offset": i, "length": 1, "url": escaped(300)}))
                .collect::<Vec<_>>()),
            media: Some(MediaRef { kind: escaped(1_000), name: long(), mime: long(), size: Some(1), blob_key: long() }),
            ..plain_message(&AccountId::generate())
        }
    }

    #[test]
    fn cut_keeps_whole_characters() {
        let mut s = "héllo".to_owned();
        assert!(cut(&mut s, 2), "é spans bytes 1 and 2");
        assert_eq!(s, "h");
        let mut s = "short".to_owned();
        assert!(!cut(&mut s, 5));
        assert_eq!(s, "short");
    }

    #[test]
    fn entities_keep_the_prefix_that_fits() {
        let mut few = json!([{"type": "bold", "offset": 0, "length": 4}]);
        assert!(!fit_entities(&mut few, MAX_ENTITIES_BYTES));
        assert_eq!(few.as_array().unwrap().len(), 1);
        let mut many = json!((0..5_000).map(|i| json!({"type": "bold", "offset": i, "length": 1})).collect::<Vec<_>>());
        let all = many.clone();
        assert!(fit_entities(&mut many, MAX_ENTITIES_BYTES));
        let kept = many.as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < 5_000);
        assert_eq!(kept[..], all.as_array().unwrap()[..kept.len()], "a prefix, in order");
        assert!(serde_json::to_vec(&many).unwrap().len() <= MAX_ENTITIES_BYTES);
        let mut odd = json!({"not": escaped(MAX_ENTITIES_BYTES)});
        assert!(fit_entities(&mut odd, MAX_ENTITIES_BYTES));
        assert_eq!(odd, json!([]));
    }

    #[test]
    fn a_long_text_leaves_its_entities_less_room() {
        let entities = json!((0..1_000).map(|i| json!({"type": "bold", "offset": i, "length": 1})).collect::<Vec<_>>());
        let mut plain = hostile_message();
        (plain.text, plain.entities, plain.sender_name, plain.media) =
            ("a".repeat(4_000), entities.clone(), None, None);
        assert!(!plain.fit(), "a long plain text with many entities fits whole");
        let mut escaped_text = plain.clone();
        escaped_text.text = escaped(MAX_TEXT_BYTES);
        assert!(escaped_text.fit());
        let kept = escaped_text.entities.as_array().unwrap().len();
        assert!(kept > 0 && kept < 1_000, "{kept}");
        assert_eq!(json_string_len("a\"b\u{1}\n"), 2 + 5 + 1 + 5 + 5);
        assert_eq!(json_string_len("\u{1}\n\""), serde_json::to_string("\u{1}\n\"").unwrap().len() + 4);
    }

    #[test]
    fn a_message_within_the_bounds_is_left_alone() {
        let mut m = hostile_message();
        m.text = "hello".into();
        m.entities = json!([{"type": "bold", "offset": 0, "length": 5}]);
        m.sender_name = Some("Ann".into());
        m.media = None;
        let before = m.clone();
        assert!(!m.fit());
        assert_eq!(m, before);
    }

    #[test]
    fn a_message_at_every_bound_fits_a_push_frame() {
        let mut m = hostile_message();
        assert!(m.fit());
        assert!(m.text.len() == MAX_TEXT_BYTES && m.text.chars().all(|c| c == '\u{1}'), "the text's start is kept");
        assert!(!m.entities.as_array().unwrap().is_empty());
        assert!(!m.fit(), "fitting twice changes nothing");
        // API Gateway's WebSocket frame is the smallest place a message goes.
        let encoded = serde_json::to_vec(&m).unwrap().len();
        assert!(encoded < 120 * 1024, "{encoded} bytes");
    }

    #[test]
    fn titles_and_profiles_are_cut_to_names() {
        let mut dialog = Dialog {
            account_id: AccountId::generate(),
            peer: 1,
            kind: PeerKind::User,
            title: escaped(5_000),
            last_message_at: None,
            last_message_id: None,
            preview: String::new(),
            unread_count: 0,
        };
        assert!(dialog.fit());
        assert_eq!(dialog.title.len(), MAX_NAME_BYTES);
        let mut profile = PeerProfile {
            account_id: AccountId::generate(),
            peer: 1,
            first_name: "Ann".into(),
            last_name: Some(escaped(5_000)),
            username: None,
            phone: None,
            is_contact: false,
            is_self: false,
            photo_id: None,
            synced_at: Utc::now(),
        };
        assert!(profile.fit());
        assert_eq!((profile.first_name.as_str(), profile.last_name.unwrap().len()), ("Ann", MAX_NAME_BYTES));
    }
}
