//! Writing: messages.sendMessage / sendMedia / editMessage / deleteMessages /
//! readHistory and their channel variants. The caller gets its own update in the
//! answer; the account's other sessions (and other members) get pushes.

use grammers_tl_types::{self as tl, Serializable};

use super::{bool_true, channel_member, media, parse, resolve_peer, RpcCtx, RpcErr, RpcResult};
use crate::cloud::delivery::{NewMsg, Placed};
use crate::cloud::model::PeerKey;
use crate::cloud::render::{msg_tl, Peers};
use crate::cloud::{now, State};
use crate::error::SimError;

/// Longest text Telegram accepts in one message.
const MAX_TEXT: usize = 4096;

fn sim_err(e: SimError) -> RpcErr {
    match e {
        SimError::NotFound(_) => RpcErr::bad("MESSAGE_ID_INVALID"),
        _ => RpcErr { code: 500, message: "INTERNAL".into() },
    }
}

/// Returns the `Updates` answering a send or edit made by the caller itself.
fn own_updates(
    st: &State,
    phone: &str,
    chat: PeerKey,
    placed: Placed,
    random_id: Option<i64>,
    edit: bool,
) -> Result<Vec<u8>, RpcErr> {
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let idx = (placed.id as usize).wrapping_sub(1);
    let rec = match chat {
        PeerKey::Channel(id) => st.data.channels.get(&id).and_then(|c| c.msgs.get(idx)),
        _ => acc.msgs.get(idx),
    }
    .ok_or_else(|| RpcErr::bad("MESSAGE_ID_INVALID"))?;
    let mut peers = Peers::default();
    peers.add_msg(rec);
    peers.add(PeerKey::User(acc.user_id));
    let message = msg_tl(rec, acc.user_id, &st.data.files);
    let (pts, pts_count) = (placed.pts, 1);
    let update: tl::enums::Update = match (chat, edit) {
        (PeerKey::Channel(_), false) => tl::types::UpdateNewChannelMessage { message, pts, pts_count }.into(),
        (PeerKey::Channel(_), true) => tl::types::UpdateEditChannelMessage { message, pts, pts_count }.into(),
        (_, false) => tl::types::UpdateNewMessage { message, pts, pts_count }.into(),
        (_, true) => tl::types::UpdateEditMessage { message, pts, pts_count }.into(),
    };
    let mut updates = Vec::new();
    if let Some(random_id) = random_id {
        updates.push(tl::types::UpdateMessageId { id: placed.id, random_id }.into());
    }
    updates.push(update);
    let (users, chats) = peers.build(&st.data, acc.user_id, &acc.contacts);
    Ok(tl::enums::Updates::Updates(tl::types::Updates { updates, users, chats, date: now(), seq: 0 }).to_bytes())
}

fn reply_id(reply_to: &Option<tl::enums::InputReplyTo>) -> Option<i32> {
    match reply_to {
        Some(tl::enums::InputReplyTo::Message(m)) => Some(m.reply_to_msg_id),
        _ => None,
    }
}

/// Posts a message from the caller's account and answers with its own update.
fn post_own(
    ctx: &mut RpcCtx<'_>,
    phone: &str,
    peer: &tl::enums::InputPeer,
    text: String,
    media: Option<i64>,
    reply_to: Option<i32>,
    random_id: i64,
) -> RpcResult {
    let conn = ctx.conn;
    ctx.cloud.with(|st| {
        let chat = resolve_peer(st, phone, peer)?;
        let acc = st.data.accounts.get_mut(phone).ok_or_else(RpcErr::unauthorized)?;
        if acc.random_ids.contains(random_id) {
            return Err(RpcErr::bad("RANDOM_ID_DUPLICATE"));
        }
        let me = acc.user_id;
        let m = NewMsg { from: me, text, media, reply_to, date: now() };
        let placed = st.post(phone, chat, &m, Some(conn)).map_err(sim_err)?;
        st.record_sent(phone, chat, placed, &m);
        if let Some(acc) = st.data.accounts.get_mut(phone) {
            acc.random_ids.insert(random_id);
        }
        own_updates(st, phone, chat, placed, Some(random_id), false)
    })
}

/// messages.sendMessage.
pub fn send_message(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::messages::SendMessage = parse(body)?;
    if req.message.trim().is_empty() {
        return Err(RpcErr::bad("MESSAGE_EMPTY"));
    }
    if req.message.chars().count() > MAX_TEXT {
        return Err(RpcErr::bad("MESSAGE_TOO_LONG"));
    }
    post_own(ctx, phone, &req.peer, req.message, None, reply_id(&req.reply_to), req.random_id)
}

/// messages.sendMedia (uploaded photos and documents).
pub fn send_media(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::messages::SendMedia = parse(body)?;
    let file = media::file_from_input(ctx, &req.media)?;
    post_own(ctx, phone, &req.peer, req.message, Some(file), reply_id(&req.reply_to), req.random_id)
}

/// messages.editMessage.
pub fn edit_message(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::messages::EditMessage = parse(body)?;
    let conn = ctx.conn;
    ctx.cloud.with(|st| {
        let chat = resolve_peer(st, phone, &req.peer)?;
        let text = req.message.clone().ok_or_else(|| RpcErr::bad("MESSAGE_NOT_MODIFIED"))?;
        let pts = st.edit(phone, chat, req.id, &text, Some(conn)).map_err(sim_err)?;
        own_updates(st, phone, chat, Placed { id: req.id, pts }, None, true)
    })
}

fn affected(pts: i32, pts_count: i32) -> Vec<u8> {
    tl::enums::messages::AffectedMessages::Messages(tl::types::messages::AffectedMessages { pts, pts_count }).to_bytes()
}

/// messages.deleteMessages (private chats and basic groups).
pub fn delete_messages(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::messages::DeleteMessages = parse(body)?;
    let conn = ctx.conn;
    ctx.cloud.with(|st| st.delete(phone, None, &req.id, Some(conn)).map(|(p, c)| affected(p, c)).map_err(sim_err))
}

/// channels.deleteMessages.
pub fn delete_channel_messages(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::channels::DeleteMessages = parse(body)?;
    let tl::enums::InputChannel::Channel(ch) = req.channel else {
        return Err(RpcErr::bad("CHANNEL_INVALID"));
    };
    let conn = ctx.conn;
    ctx.cloud.with(|st| {
        let me = st.data.accounts.get(phone).map(|a| a.user_id).unwrap_or(0);
        channel_member(st, me, ch.channel_id)?;
        st.delete(phone, Some(ch.channel_id), &req.id, Some(conn)).map(|(p, c)| affected(p, c)).map_err(sim_err)
    })
}

/// messages.readHistory.
pub fn read_history(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::messages::ReadHistory = parse(body)?;
    let conn = ctx.conn;
    ctx.cloud.with(|st| {
        let chat = resolve_peer(st, phone, &req.peer)?;
        let (pts, count) = st.read(phone, chat, req.max_id, Some(conn)).map_err(sim_err)?;
        Ok(affected(pts, count))
    })
}

/// channels.readHistory.
pub fn read_channel_history(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::channels::ReadHistory = parse(body)?;
    let tl::enums::InputChannel::Channel(ch) = req.channel else {
        return Err(RpcErr::bad("CHANNEL_INVALID"));
    };
    let conn = ctx.conn;
    ctx.cloud.with(|st| {
        let me = st.data.accounts.get(phone).map(|a| a.user_id).unwrap_or(0);
        channel_member(st, me, ch.channel_id)?;
        st.read(phone, PeerKey::Channel(ch.channel_id), req.max_id, Some(conn)).map_err(sim_err)?;
        Ok(bool_true())
    })
}
