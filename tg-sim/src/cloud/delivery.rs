//! Everything that creates an update: new messages (customer, account, group
//! and channel posts), edits, deletes and reads. Each one is logged with its
//! pts and queued as a push for the live sessions of every affected account.

use grammers_tl_types::{self as tl, Serializable};

use super::model::{AccEvent, AccEventKind, ChanEvent, ChanEventKind, DialogRec, MsgRec, PeerKey, SentItem};
use super::render::{msg_tl, Peers};
use super::{now, State};
use crate::error::SimError;

/// The content of a message about to be created.
#[derive(Debug, Clone)]
pub struct NewMsg {
    /// Author user id.
    pub from: i64,
    /// Text or caption.
    pub text: String,
    /// Attached file id.
    pub media: Option<i64>,
    /// Replied-to message id.
    pub reply_to: Option<i32>,
    /// Unix seconds.
    pub date: i32,
}

/// Where a new message landed for one account.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    /// Message id in that account's box or the channel.
    pub id: i32,
    /// pts after the message (common box or channel).
    pub pts: i32,
}

impl State {
    pub(super) fn account_phone_of_user(&self, user_id: i64) -> Option<String> {
        self.phone_of_user(user_id)
    }

    /// Logs an account event, inserting a skipped slot first when a gap was requested.
    pub(super) fn acc_event(&mut self, phone: &str, kind: AccEventKind, count: i32) -> i32 {
        let gap = self.rt.gaps.remove(phone);
        let Some(acc) = self.data.accounts.get_mut(phone) else {
            return 0;
        };
        let date = now();
        if gap {
            acc.pts += 1;
            acc.events.push(AccEvent { pts: acc.pts, count: 1, date, kind: AccEventKind::Skipped });
        }
        acc.pts += count;
        acc.events.push(AccEvent { pts: acc.pts, count, date, kind });
        self.dirty = true;
        acc.pts
    }

    /// Queues `update` for `phone`'s sessions, with the peers `peers` refers to.
    pub fn push_update(&mut self, phone: &str, update: tl::enums::Update, peers: &Peers, exclude: Option<u64>) {
        let Some(acc) = self.data.accounts.get(phone) else {
            return;
        };
        let (users, chats) = peers.build(&self.data, acc.user_id, &acc.contacts);
        let body = tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![update],
            users,
            chats,
            date: now(),
            seq: 0,
        })
        .to_bytes();
        self.rt.pushes.push((phone.to_string(), body, exclude));
    }

    /// Appends a message to `phone`'s box in chat `peer` and pushes it.
    pub fn box_message(
        &mut self,
        phone: &str,
        peer: PeerKey,
        m: &NewMsg,
        exclude: Option<u64>,
    ) -> Result<Placed, SimError> {
        let acc = self.data.accounts.get_mut(phone).ok_or_else(|| SimError::NotFound(format!("account {phone}")))?;
        let id = acc.msgs.len() as i32 + 1;
        let rec = MsgRec {
            id,
            peer,
            from: m.from,
            date: m.date,
            text: m.text.clone(),
            media: m.media,
            reply_to: m.reply_to,
            edit_date: None,
            deleted: false,
        };
        let incoming = m.from != acc.user_id;
        acc.msgs.push(rec.clone());
        let d = acc.dialogs.entry(peer.marked()).or_insert(DialogRec {
            peer,
            top_id: 0,
            top_date: 0,
            read_inbox_max_id: 0,
            unread_count: 0,
        });
        d.top_id = id;
        d.top_date = d.top_date.max(m.date);
        if incoming {
            d.unread_count += 1;
            acc.received += 1;
        }
        let viewer = acc.user_id;
        let pts = self.acc_event(phone, AccEventKind::NewMessage(id), 1);
        let mut peers = Peers::default();
        peers.add_msg(&rec);
        peers.add(PeerKey::User(viewer));
        let message = msg_tl(&rec, viewer, &self.data.files);
        self.push_update(phone, tl::types::UpdateNewMessage { message, pts, pts_count: 1 }.into(), &peers, exclude);
        Ok(Placed { id, pts })
    }

    /// Appends a message to channel `channel_id` and pushes it to member accounts.
    pub fn channel_message(&mut self, channel_id: i64, m: &NewMsg, exclude: Option<u64>) -> Result<Placed, SimError> {
        let ch = self
            .data
            .channels
            .get_mut(&channel_id)
            .ok_or_else(|| SimError::NotFound(format!("channel {channel_id}")))?;
        let id = ch.msgs.len() as i32 + 1;
        let peer = PeerKey::Channel(channel_id);
        let rec = MsgRec {
            id,
            peer,
            from: m.from,
            date: m.date,
            text: m.text.clone(),
            media: m.media,
            reply_to: m.reply_to,
            edit_date: None,
            deleted: false,
        };
        ch.msgs.push(rec.clone());
        ch.pts += 1;
        let pts = ch.pts;
        ch.events.push(ChanEvent { pts, count: 1, date: now(), kind: ChanEventKind::NewMessage(id) });
        let members = ch.members.clone();
        self.dirty = true;
        let phones: Vec<String> = members.iter().filter_map(|u| self.account_phone_of_user(*u)).collect();
        for phone in phones {
            let Some(acc) = self.data.accounts.get_mut(&phone) else {
                continue;
            };
            let viewer = acc.user_id;
            let d = acc.dialogs.entry(peer.marked()).or_insert(DialogRec {
                peer,
                top_id: 0,
                top_date: 0,
                read_inbox_max_id: 0,
                unread_count: 0,
            });
            d.top_id = id;
            d.top_date = d.top_date.max(m.date);
            if m.from != viewer {
                d.unread_count += 1;
                acc.received += 1;
            }
            let mut peers = Peers::default();
            peers.add_msg(&rec);
            let message = msg_tl(&rec, viewer, &self.data.files);
            self.push_update(
                &phone,
                tl::types::UpdateNewChannelMessage { message, pts, pts_count: 1 }.into(),
                &peers,
                exclude,
            );
        }
        Ok(Placed { id, pts })
    }

    /// Posts `m` in `chat` (user = private chat with `phone`, group, or channel) and
    /// returns where it landed for `phone`.
    pub fn post(&mut self, phone: &str, chat: PeerKey, m: &NewMsg, exclude: Option<u64>) -> Result<Placed, SimError> {
        match chat {
            PeerKey::User(_) => self.box_message(phone, chat, m, exclude),
            PeerKey::Chat(chat_id) => {
                let members = self
                    .data
                    .chats
                    .get(&chat_id)
                    .map(|c| c.members.clone())
                    .ok_or_else(|| SimError::NotFound(format!("chat {chat_id}")))?;
                let mut mine = None;
                let phones: Vec<String> = members.iter().filter_map(|u| self.account_phone_of_user(*u)).collect();
                for member_phone in phones {
                    let ex = if member_phone == phone { exclude } else { None };
                    let placed = self.box_message(&member_phone, chat, m, ex)?;
                    if member_phone == phone {
                        mine = Some(placed);
                    }
                }
                mine.ok_or_else(|| SimError::NotFound(format!("{phone} is not in chat {chat_id}")))
            }
            PeerKey::Channel(channel_id) => self.channel_message(channel_id, m, exclude),
        }
    }

    /// Records what an account sent, for `/control/sent`.
    pub fn record_sent(&mut self, phone: &str, chat: PeerKey, placed: Placed, m: &NewMsg) {
        if let Some(acc) = self.data.accounts.get_mut(phone) {
            acc.sent.push(SentItem {
                peer: chat.marked(),
                message_id: placed.id,
                text: m.text.clone(),
                date: m.date,
                reply_to: m.reply_to,
                media: m.media,
            });
        }
    }
}
