//! Changes to existing messages: edits, deletes and reads, each logged with its
//! pts (common box or channel) and pushed to the affected accounts' sessions.

use grammers_tl_types as tl;

use super::model::{AccEventKind, ChanEvent, ChanEventKind, PeerKey};
use super::render::{msg_tl, Peers};
use super::{now, State};
use crate::error::SimError;

impl State {
    /// Edits message `id` in `chat` as seen by `phone` and pushes the edit.
    pub fn edit(
        &mut self,
        phone: &str,
        chat: PeerKey,
        id: i32,
        text: &str,
        exclude: Option<u64>,
    ) -> Result<i32, SimError> {
        let date = now();
        if let PeerKey::Channel(channel_id) = chat {
            let ch = self.data.channels.get_mut(&channel_id).ok_or_else(|| SimError::NotFound("channel".into()))?;
            let rec = ch
                .msgs
                .get_mut((id as usize).wrapping_sub(1))
                .filter(|m| !m.deleted)
                .ok_or_else(|| SimError::NotFound("message".into()))?;
            rec.text = text.to_string();
            rec.edit_date = Some(date);
            let rec = rec.clone();
            ch.pts += 1;
            let pts = ch.pts;
            ch.events.push(ChanEvent { pts, count: 1, date, kind: ChanEventKind::EditMessage(id) });
            let members = ch.members.clone();
            self.dirty = true;
            let phones: Vec<String> = members.iter().filter_map(|u| self.account_phone_of_user(*u)).collect();
            for p in phones {
                let viewer = self.data.accounts.get(&p).map(|a| a.user_id).unwrap_or(0);
                let mut peers = Peers::default();
                peers.add_msg(&rec);
                let message = msg_tl(&rec, viewer, &self.data.files);
                self.push_update(
                    &p,
                    tl::types::UpdateEditChannelMessage { message, pts, pts_count: 1 }.into(),
                    &peers,
                    exclude,
                );
            }
            return Ok(pts);
        }
        let acc = self.data.accounts.get_mut(phone).ok_or_else(|| SimError::NotFound(format!("account {phone}")))?;
        let viewer = acc.user_id;
        let idx = usize::try_from(id - 1).map_err(|_| SimError::NotFound("message".into()))?;
        let rec = acc
            .msgs
            .get_mut(idx)
            .filter(|m| !m.deleted && m.peer == chat)
            .ok_or_else(|| SimError::NotFound("message".into()))?;
        rec.text = text.to_string();
        rec.edit_date = Some(date);
        let rec = rec.clone();
        let pts = self.acc_event(phone, AccEventKind::EditMessage(id), 1);
        let mut peers = Peers::default();
        peers.add_msg(&rec);
        let message = msg_tl(&rec, viewer, &self.data.files);
        self.push_update(phone, tl::types::UpdateEditMessage { message, pts, pts_count: 1 }.into(), &peers, exclude);
        Ok(pts)
    }

    /// Deletes messages `ids` (of `phone`'s box, or of `channel`), pushes the
    /// deletion and returns (pts, pts_count).
    pub fn delete(
        &mut self,
        phone: &str,
        channel: Option<i64>,
        ids: &[i32],
        exclude: Option<u64>,
    ) -> Result<(i32, i32), SimError> {
        if let Some(channel_id) = channel {
            let ch = self.data.channels.get_mut(&channel_id).ok_or_else(|| SimError::NotFound("channel".into()))?;
            let mut hit = Vec::new();
            for id in ids {
                if let Some(m) = ch.msgs.get_mut((*id as usize).wrapping_sub(1)).filter(|m| !m.deleted) {
                    m.deleted = true;
                    hit.push(*id);
                }
            }
            if hit.is_empty() {
                return Ok((ch.pts, 0));
            }
            let count = hit.len() as i32;
            ch.pts += count;
            let pts = ch.pts;
            ch.events.push(ChanEvent { pts, count, date: now(), kind: ChanEventKind::DeleteMessages(hit.clone()) });
            let members = ch.members.clone();
            self.dirty = true;
            let phones: Vec<String> = members.iter().filter_map(|u| self.account_phone_of_user(*u)).collect();
            for p in phones {
                let update =
                    tl::types::UpdateDeleteChannelMessages { channel_id, messages: hit.clone(), pts, pts_count: count };
                let mut peers = Peers::default();
                peers.add(PeerKey::Channel(channel_id));
                self.push_update(&p, update.into(), &peers, exclude);
            }
            return Ok((pts, count));
        }
        let acc = self.data.accounts.get_mut(phone).ok_or_else(|| SimError::NotFound(format!("account {phone}")))?;
        let mut hit = Vec::new();
        for id in ids {
            if let Some(m) = acc.msgs.get_mut((*id as usize).wrapping_sub(1)).filter(|m| !m.deleted) {
                m.deleted = true;
                hit.push(*id);
            }
        }
        if hit.is_empty() {
            return Ok((acc.pts, 0));
        }
        let count = hit.len() as i32;
        let pts = self.acc_event(phone, AccEventKind::DeleteMessages(hit.clone()), count);
        let update = tl::types::UpdateDeleteMessages { messages: hit, pts, pts_count: count };
        self.push_update(phone, update.into(), &Peers::default(), exclude);
        Ok((pts, count))
    }

    /// Marks `chat` read up to `max_id` for `phone`; returns (pts, pts_count).
    pub fn read(
        &mut self,
        phone: &str,
        chat: PeerKey,
        max_id: i32,
        exclude: Option<u64>,
    ) -> Result<(i32, i32), SimError> {
        let acc = self.data.accounts.get_mut(phone).ok_or_else(|| SimError::NotFound(format!("account {phone}")))?;
        let viewer = acc.user_id;
        let top = acc.dialogs.get(&chat.marked()).map(|d| d.top_id).unwrap_or(0);
        let max_id = if max_id <= 0 { top } else { max_id.min(top) };
        let unread =
            acc.msgs.iter().filter(|m| m.peer == chat && !m.deleted && m.from != viewer && m.id > max_id).count()
                as i32;
        if let Some(d) = acc.dialogs.get_mut(&chat.marked()) {
            d.read_inbox_max_id = d.read_inbox_max_id.max(max_id);
            d.unread_count = unread;
        }
        if let PeerKey::Channel(_) = chat {
            self.dirty = true;
            return Ok((0, 0));
        }
        let pts = self.acc_event(phone, AccEventKind::ReadInbox { peer: chat, max_id }, 1);
        let update = tl::types::UpdateReadHistoryInbox {
            folder_id: None,
            peer: super::render::peer_tl(chat),
            top_msg_id: None,
            max_id,
            still_unread_count: unread,
            pts,
            pts_count: 1,
        };
        let mut peers = Peers::default();
        peers.add(chat);
        self.push_update(phone, update.into(), &peers, exclude);
        Ok((pts, 1))
    }
}
