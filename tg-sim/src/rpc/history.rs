//! Reading: updates.getDifference / getChannelDifference, messages.getDialogs,
//! messages.getHistory and messages/channels.getMessages, with Telegram's paging.

use grammers_tl_types::{self as tl, Serializable};

use super::{channel_member, parse, resolve_peer, RpcCtx, RpcErr, RpcResult};
use crate::cloud::difference::ChannelDiffError;
use crate::cloud::model::{MsgRec, PeerKey};
use crate::cloud::render::{msg_tl, notify_settings, peer_tl, Peers};
use crate::cloud::State;

/// Largest page getHistory/getDialogs return.
const MAX_PAGE: usize = 100;

/// updates.getDifference.
pub fn get_difference(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::updates::GetDifference = parse(body)?;
    Ok(ctx.cloud.lock().difference(phone, req.pts, req.date).to_bytes())
}

/// updates.getChannelDifference.
pub fn get_channel_difference(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::updates::GetChannelDifference = parse(body)?;
    let tl::enums::InputChannel::Channel(ch) = req.channel else {
        return Err(RpcErr::bad("CHANNEL_INVALID"));
    };
    match ctx.cloud.lock().channel_difference(phone, ch.channel_id, req.pts, req.limit) {
        Ok(d) => Ok(d.to_bytes()),
        Err(ChannelDiffError::Invalid) => Err(RpcErr::bad("CHANNEL_INVALID")),
        Err(ChannelDiffError::Private) => Err(RpcErr::bad("CHANNEL_PRIVATE")),
    }
}

fn page(limit: i32) -> usize {
    if limit <= 0 {
        20
    } else {
        (limit as usize).min(MAX_PAGE)
    }
}

/// Returns the top message of a dialog as `viewer` sees it.
fn top_message<'a>(st: &'a State, phone: &str, peer: PeerKey, top_id: i32) -> Option<&'a MsgRec> {
    let idx = usize::try_from(top_id - 1).ok()?;
    match peer {
        PeerKey::Channel(id) => st.data.channels.get(&id)?.msgs.get(idx),
        _ => st.data.accounts.get(phone)?.msgs.get(idx),
    }
}

/// messages.getDialogs, newest first, paged by the last dialog's peer or date.
pub fn get_dialogs(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::messages::GetDialogs = parse(body)?;
    let st = ctx.cloud.lock();
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let mut all: Vec<_> = acc.dialogs.values().collect();
    all.sort_by_key(|d| (std::cmp::Reverse(d.top_date), std::cmp::Reverse(d.top_id), d.peer.marked()));
    let offset_peer = resolve_peer(&st, phone, &req.offset_peer).ok();
    let start = match offset_peer.and_then(|p| all.iter().position(|d| d.peer == p)) {
        Some(i) => i + 1,
        None if req.offset_date > 0 => all.iter().position(|d| d.top_date < req.offset_date).unwrap_or(all.len()),
        None => 0,
    };
    let count = all.len();
    let mut peers = Peers::default();
    let mut dialogs = Vec::new();
    let mut messages = Vec::new();
    for d in all.iter().skip(start).take(page(req.limit)) {
        peers.add(d.peer);
        if let Some(m) = top_message(&st, phone, d.peer, d.top_id) {
            peers.add_msg(m);
            messages.push(msg_tl(m, acc.user_id, &st.data.files));
        }
        let pts = match d.peer {
            PeerKey::Channel(id) => st.data.channels.get(&id).map(|c| c.pts),
            _ => None,
        };
        dialogs.push(
            tl::types::Dialog {
                pinned: false,
                unread_mark: false,
                view_forum_as_messages: false,
                peer: peer_tl(d.peer),
                top_message: d.top_id,
                read_inbox_max_id: d.read_inbox_max_id,
                read_outbox_max_id: d.top_id,
                unread_count: d.unread_count,
                unread_mentions_count: 0,
                unread_reactions_count: 0,
                unread_poll_votes_count: 0,
                notify_settings: notify_settings(),
                pts,
                draft: None,
                folder_id: None,
                ttl_period: None,
            }
            .into(),
        );
    }
    let (users, chats) = peers.build(&st.data, acc.user_id, &acc.contacts);
    Ok(tl::enums::messages::Dialogs::Slice(tl::types::messages::DialogsSlice {
        count: count as i32,
        dialogs,
        messages,
        chats,
        users,
    })
    .to_bytes())
}

/// Selects a history page the way Telegram does: newest first, below
/// `offset_id` (or `offset_date`), shifted by `add_offset`, within (min_id, max_id).
fn select<'a>(
    msgs: impl Iterator<Item = &'a MsgRec>,
    req: &tl::functions::messages::GetHistory,
) -> (Vec<&'a MsgRec>, usize) {
    let mut all: Vec<&MsgRec> = msgs.filter(|m| !m.deleted).collect();
    all.sort_by_key(|m| std::cmp::Reverse(m.id));
    let count = all.len();
    let pos = if req.offset_id > 0 {
        all.iter().position(|m| m.id < req.offset_id).unwrap_or(all.len())
    } else if req.offset_date > 0 {
        all.iter().position(|m| m.date < req.offset_date).unwrap_or(all.len())
    } else {
        0
    };
    let start = (pos as i64 + i64::from(req.add_offset)).max(0) as usize;
    let page: Vec<&MsgRec> = all
        .into_iter()
        .skip(start)
        .take(page(req.limit))
        .filter(|m| (req.max_id <= 0 || m.id < req.max_id) && (req.min_id <= 0 || m.id > req.min_id))
        .collect();
    (page, count)
}

/// messages.getHistory for private chats, groups and channels.
pub fn get_history(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::messages::GetHistory = parse(body)?;
    let st = ctx.cloud.lock();
    let peer = resolve_peer(&st, phone, &req.peer)?;
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let mut peers = Peers::default();
    peers.add(peer);
    if let PeerKey::Channel(id) = peer {
        let ch = st.data.channels.get(&id).ok_or_else(|| RpcErr::bad("CHANNEL_INVALID"))?;
        let (page, count) = select(ch.msgs.iter(), &req);
        let messages = page
            .iter()
            .map(|m| {
                peers.add_msg(m);
                msg_tl(m, acc.user_id, &st.data.files)
            })
            .collect();
        let (users, chats) = peers.build(&st.data, acc.user_id, &acc.contacts);
        return Ok(tl::enums::messages::Messages::ChannelMessages(tl::types::messages::ChannelMessages {
            inexact: false,
            pts: ch.pts,
            count: count as i32,
            offset_id_offset: None,
            messages,
            topics: Vec::new(),
            chats,
            users,
        })
        .to_bytes());
    }
    let (page, count) = select(acc.msgs.iter().filter(|m| m.peer == peer), &req);
    let messages = page
        .iter()
        .map(|m| {
            peers.add_msg(m);
            msg_tl(m, acc.user_id, &st.data.files)
        })
        .collect();
    let (users, chats) = peers.build(&st.data, acc.user_id, &acc.contacts);
    Ok(tl::enums::messages::Messages::Slice(tl::types::messages::MessagesSlice {
        inexact: false,
        count: count as i32,
        next_rate: None,
        offset_id_offset: None,
        search_flood: None,
        messages,
        topics: Vec::new(),
        chats,
        users,
    })
    .to_bytes())
}

fn ids_of(ids: &[tl::enums::InputMessage]) -> Vec<i32> {
    ids.iter()
        .filter_map(|m| match m {
            tl::enums::InputMessage::Id(i) => Some(i.id),
            tl::enums::InputMessage::ReplyTo(i) => Some(i.id),
            _ => None,
        })
        .collect()
}

/// messages.getMessages (box) or channels.getMessages (`channel` set).
pub fn get_messages(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8], channel: Option<(i64, Vec<i32>)>) -> RpcResult {
    let st = ctx.cloud.lock();
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let (source, ids) = match channel {
        Some((id, ids)) => (&st.data.channels.get(&id).ok_or_else(|| RpcErr::bad("CHANNEL_INVALID"))?.msgs, ids),
        None => (&acc.msgs, ids_of(&parse::<tl::functions::messages::GetMessages>(body)?.id)),
    };
    let mut peers = Peers::default();
    let messages = ids
        .iter()
        .map(|id| match source.get((*id as usize).wrapping_sub(1)) {
            Some(m) => {
                peers.add_msg(m);
                msg_tl(m, acc.user_id, &st.data.files)
            }
            None => tl::types::MessageEmpty { id: *id, peer_id: None }.into(),
        })
        .collect();
    let (users, chats) = peers.build(&st.data, acc.user_id, &acc.contacts);
    Ok(tl::enums::messages::Messages::Messages(tl::types::messages::Messages {
        messages,
        topics: Vec::new(),
        chats,
        users,
    })
    .to_bytes())
}

/// channels.getMessages.
pub fn get_channel_messages(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::channels::GetMessages = parse(body)?;
    let tl::enums::InputChannel::Channel(ch) = &req.channel else {
        return Err(RpcErr::bad("CHANNEL_INVALID"));
    };
    {
        let st = ctx.cloud.lock();
        let me = st.data.accounts.get(phone).map(|a| a.user_id).unwrap_or(0);
        channel_member(&st, me, ch.channel_id)?;
    }
    get_messages(ctx, phone, body, Some((ch.channel_id, ids_of(&req.id))))
}
