//! The rules that turn an ingest batch into a dialog's new state, kept once
//! for every store adapter: the newest message never moves back, incoming
//! messages above the dialog's newest id count as unread (older ones are
//! history), a private chat is titled by its customer's name, and the
//! preview is the start of the newest message.

use super::{AccountId, Dialog, Message, PeerKind};

/// Characters of a message kept as its dialog's preview.
pub const PREVIEW_CHARS: usize = 100;

/// Returns the preview shown in the inbox for a message of `text` (and `media`, when there is no text).
pub fn preview(m: &Message) -> String {
    if m.text.is_empty() {
        return m.media.as_ref().map(|media| format!("[{}]", media.kind)).unwrap_or_default();
    }
    text_preview(&m.text)
}

/// Returns the preview of a text (an edited newest message's, say).
pub fn text_preview(text: &str) -> String {
    text.chars().take(PREVIEW_CHARS).collect()
}

/// What one batch says about one dialog.
#[derive(Default)]
pub struct DialogDelta<'a> {
    /// The batch's newest message for the dialog, by (date, id).
    pub newest: Option<&'a Message>,
    /// Ids of the batch's incoming messages.
    pub incoming: Vec<i64>,
    /// The first incoming sender's name in a private chat.
    pub title: Option<&'a str>,
}

impl<'a> DialogDelta<'a> {
    /// Takes one more message of the batch into account.
    pub fn add(&mut self, m: &'a Message) {
        if self.newest.is_none_or(|n| (m.date, m.id) > (n.date, n.id)) {
            self.newest = Some(m);
        }
        if !m.outgoing {
            self.incoming.push(m.id);
            if self.title.is_none() && PeerKind::of_peer(m.peer) == PeerKind::User {
                self.title = m.sender_name.as_deref();
            }
        }
    }

    /// Counts the incoming messages above `head` (the dialog's newest id
    /// before this batch): older ones are history fetched later, not news.
    pub fn unread_above(&self, head: Option<i64>) -> u32 {
        let head = head.unwrap_or(i64::MIN);
        self.incoming.iter().filter(|&&id| id > head).count() as u32
    }

    /// Returns the dialog after this batch (`current` as stored before it,
    /// `None` when there is none yet), or `None` when the batch changes nothing.
    pub fn apply(&self, current: Option<&Dialog>, account: &AccountId, peer: i64) -> Option<Dialog> {
        let newest = self.newest?;
        let Some(current) = current else {
            return Some(Dialog {
                account_id: account.clone(),
                peer,
                kind: PeerKind::of_peer(peer),
                title: self.title.unwrap_or_default().to_owned(),
                last_message_at: Some(newest.date),
                last_message_id: Some(newest.id),
                preview: preview(newest),
                unread_count: self.unread_above(None),
            });
        };
        let head = (current.last_message_at, current.last_message_id.unwrap_or(i64::MIN));
        let newer = (Some(newest.date), newest.id) > head;
        let unread = self.unread_above(current.last_message_id);
        if !newer && unread == 0 {
            return None;
        }
        let mut next = current.clone();
        next.unread_count += unread;
        if newer {
            next.last_message_at = Some(newest.date);
            next.last_message_id = Some(newest.id);
            next.preview = preview(newest);
            if next.title.is_empty() {
                if let Some(title) = self.title {
                    next.title = title.to_owned();
                }
            }
        }
        Some(next)
    }
}
