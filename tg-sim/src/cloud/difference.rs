//! updates.getState / getDifference / getChannelDifference over the update logs,
//! so a client that missed pushes (offline, or a forced gap) catches up exactly.

use grammers_tl_types as tl;

use super::model::{AccEventKind, ChanEventKind, PeerKey};
use super::render::{msg_tl, peer_tl, Peers};
use super::{now, State};

/// Most account events one getDifference answer carries before slicing.
const DIFF_LIMIT: usize = 100;
/// Most updates one getDifference answer carries inline before channels get
/// channelTooLong instead (keeps answers far below the 1 MiB message limit).
const CHANNEL_INLINE_LIMIT: usize = 200;
/// Default page of getChannelDifference.
const CHANNEL_DIFF_LIMIT: usize = 100;

/// Why a channel difference cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub enum ChannelDiffError {
    /// No such channel.
    Invalid,
    /// The account is not a member.
    Private,
}

impl State {
    /// Returns the account's current update state.
    pub fn updates_state(&self, phone: &str) -> tl::types::updates::State {
        let acc = self.data.accounts.get(phone);
        tl::types::updates::State {
            pts: acc.map(|a| a.pts).unwrap_or(1),
            qts: 0,
            date: now(),
            seq: 0,
            unread_count: acc.map(|a| a.dialogs.values().map(|d| d.unread_count).sum()).unwrap_or(0),
        }
    }

    /// Answers updates.getDifference for `phone` from (`pts`, `date`).
    pub fn difference(&self, phone: &str, pts: i32, date: i32) -> tl::enums::updates::Difference {
        let Some(acc) = self.data.accounts.get(phone) else {
            return tl::types::updates::DifferenceEmpty { date: now(), seq: 0 }.into();
        };
        let viewer = acc.user_id;
        if pts > acc.pts {
            // The client is ahead of the cloud (e.g. state lost): tell it to resync.
            return tl::types::updates::DifferenceTooLong { pts: acc.pts }.into();
        }
        let start = acc.events.partition_point(|e| e.pts <= pts);
        let end = (start + DIFF_LIMIT).min(acc.events.len());
        let mut peers = Peers::default();
        peers.add(PeerKey::User(viewer));
        let mut new_messages = Vec::new();
        let mut other_updates: Vec<tl::enums::Update> = Vec::new();
        for ev in &acc.events[start..end] {
            match &ev.kind {
                AccEventKind::NewMessage(id) => {
                    if let Some(m) = acc.msgs.get((*id as usize).wrapping_sub(1)).filter(|m| !m.deleted) {
                        peers.add_msg(m);
                        new_messages.push(msg_tl(m, viewer, &self.data.files));
                    }
                }
                AccEventKind::EditMessage(id) => {
                    if let Some(m) = acc.msgs.get((*id as usize).wrapping_sub(1)).filter(|m| !m.deleted) {
                        peers.add_msg(m);
                        let message = msg_tl(m, viewer, &self.data.files);
                        other_updates
                            .push(tl::types::UpdateEditMessage { message, pts: ev.pts, pts_count: ev.count }.into());
                    }
                }
                AccEventKind::DeleteMessages(ids) => other_updates.push(
                    tl::types::UpdateDeleteMessages { messages: ids.clone(), pts: ev.pts, pts_count: ev.count }.into(),
                ),
                AccEventKind::ReadInbox { peer, max_id } => {
                    peers.add(*peer);
                    other_updates.push(
                        tl::types::UpdateReadHistoryInbox {
                            folder_id: None,
                            peer: peer_tl(*peer),
                            top_msg_id: None,
                            max_id: *max_id,
                            still_unread_count: 0,
                            pts: ev.pts,
                            pts_count: ev.count,
                        }
                        .into(),
                    );
                }
                // The skipped slot only moves pts; the final state covers it.
                AccEventKind::Skipped => {}
            }
        }
        let sliced = end < acc.events.len();
        if !sliced {
            self.channel_updates_since(viewer, date, &mut peers, &mut other_updates);
        }
        if start == end && other_updates.is_empty() {
            return tl::types::updates::DifferenceEmpty { date: now(), seq: 0 }.into();
        }
        let (users, chats) = peers.build(&self.data, viewer, &acc.contacts);
        if sliced {
            let state_pts = acc.events[end - 1].pts;
            let intermediate_state =
                tl::types::updates::State { pts: state_pts, qts: 0, date, seq: 0, unread_count: 0 }.into();
            return tl::types::updates::DifferenceSlice {
                new_messages,
                new_encrypted_messages: Vec::new(),
                other_updates,
                chats,
                users,
                intermediate_state,
            }
            .into();
        }
        let state = self.updates_state(phone).into();
        tl::types::updates::Difference {
            new_messages,
            new_encrypted_messages: Vec::new(),
            other_updates,
            chats,
            users,
            state,
        }
        .into()
    }

    /// Adds channel updates dated at or after `date` for every channel `viewer` is in.
    /// Clients apply them with their own per-channel pts checks (or fetch the
    /// channel difference when told the channel is too long).
    fn channel_updates_since(&self, viewer: i64, date: i32, peers: &mut Peers, out: &mut Vec<tl::enums::Update>) {
        for ch in self.data.channels.values().filter(|c| c.members.contains(&viewer)) {
            let budget = CHANNEL_INLINE_LIMIT.saturating_sub(out.len());
            let first = ch.events.partition_point(|e| e.date < date);
            let events = &ch.events[first..];
            if events.is_empty() {
                continue;
            }
            peers.add(PeerKey::Channel(ch.id));
            if events.len() > budget {
                // Without a pts the client resumes from its own channel state, so
                // nothing it already has is fetched twice.
                out.push(tl::types::UpdateChannelTooLong { channel_id: ch.id, pts: None }.into());
                continue;
            }
            for ev in events {
                if let Some(u) = self.channel_event_update(ch.id, ev, viewer, peers) {
                    out.push(u);
                }
            }
        }
    }

    fn channel_event_update(
        &self,
        channel_id: i64,
        ev: &super::model::ChanEvent,
        viewer: i64,
        peers: &mut Peers,
    ) -> Option<tl::enums::Update> {
        let ch = self.data.channels.get(&channel_id)?;
        match &ev.kind {
            ChanEventKind::NewMessage(id) | ChanEventKind::EditMessage(id) => {
                let m = ch.msgs.get((*id as usize).wrapping_sub(1)).filter(|m| !m.deleted)?;
                peers.add_msg(m);
                let message = msg_tl(m, viewer, &self.data.files);
                Some(if matches!(ev.kind, ChanEventKind::NewMessage(_)) {
                    tl::types::UpdateNewChannelMessage { message, pts: ev.pts, pts_count: ev.count }.into()
                } else {
                    tl::types::UpdateEditChannelMessage { message, pts: ev.pts, pts_count: ev.count }.into()
                })
            }
            ChanEventKind::DeleteMessages(ids) => Some(
                tl::types::UpdateDeleteChannelMessages {
                    channel_id,
                    messages: ids.clone(),
                    pts: ev.pts,
                    pts_count: ev.count,
                }
                .into(),
            ),
        }
    }

    /// Answers updates.getChannelDifference for `phone` in `channel_id` from `pts`.
    pub fn channel_difference(
        &self,
        phone: &str,
        channel_id: i64,
        pts: i32,
        limit: i32,
    ) -> Result<tl::enums::updates::ChannelDifference, ChannelDiffError> {
        let ch = self.data.channels.get(&channel_id).ok_or(ChannelDiffError::Invalid)?;
        let acc = self.data.accounts.get(phone).ok_or(ChannelDiffError::Private)?;
        if !ch.members.contains(&acc.user_id) {
            return Err(ChannelDiffError::Private);
        }
        let start = ch.events.partition_point(|e| e.pts <= pts);
        if start == ch.events.len() {
            return Ok(tl::types::updates::ChannelDifferenceEmpty { r#final: true, pts: ch.pts, timeout: None }.into());
        }
        // Capped like a user's limit so an answer stays far below 1 MiB.
        let limit = if limit <= 0 { CHANNEL_DIFF_LIMIT } else { (limit as usize).min(CHANNEL_DIFF_LIMIT) };
        let end = (start + limit).min(ch.events.len());
        let mut peers = Peers::default();
        let mut new_messages = Vec::new();
        let mut other_updates = Vec::new();
        for ev in &ch.events[start..end] {
            if let ChanEventKind::NewMessage(id) = ev.kind {
                if let Some(m) = ch.msgs.get((id as usize).wrapping_sub(1)).filter(|m| !m.deleted) {
                    peers.add_msg(m);
                    new_messages.push(msg_tl(m, acc.user_id, &self.data.files));
                }
            } else if let Some(u) = self.channel_event_update(channel_id, ev, acc.user_id, &mut peers) {
                other_updates.push(u);
            }
        }
        peers.add(PeerKey::Channel(channel_id));
        let (users, chats) = peers.build(&self.data, acc.user_id, &acc.contacts);
        Ok(tl::types::updates::ChannelDifference {
            r#final: end == ch.events.len(),
            pts: ch.events[end - 1].pts,
            timeout: None,
            new_messages,
            other_updates,
            chats,
            users,
        }
        .into())
    }
}
