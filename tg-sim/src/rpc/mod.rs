//! RPC dispatch: unwraps invokeWithLayer/initConnection, enforces login and
//! one-shot FLOOD_WAITs, and routes each method to its handler. Unknown methods
//! get Telegram's error and the connection keeps serving.

mod auth;
mod history;
mod info;
mod media;
mod send;

use std::sync::Arc;

use grammers_tl_types::{self as tl, Deserializable, Identifiable, Serializable};
use tracing::{debug, info};

use crate::cloud::model::PeerKey;
use crate::cloud::{Cloud, State};

/// What one RPC runs with: the cloud, the caller's auth key and connection.
pub struct RpcCtx<'a> {
    /// The shared cloud.
    pub cloud: &'a Arc<Cloud>,
    /// Auth key id of the caller.
    pub kid: i64,
    /// Connection id, so pushes skip the caller (it gets the result instead).
    pub conn: u64,
}

/// An RPC error as Telegram returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcErr {
    /// HTTP-like code (400, 401, 420, …).
    pub code: i32,
    /// Upper-case message (`PHONE_CODE_INVALID`, `FLOOD_WAIT_5`, …).
    pub message: String,
}

impl RpcErr {
    /// Returns a 400 error.
    pub fn bad(message: &str) -> Self {
        Self { code: 400, message: message.into() }
    }

    /// Returns the 401 every method gets from a key that is not logged in.
    pub fn unauthorized() -> Self {
        Self { code: 401, message: "AUTH_KEY_UNREGISTERED".into() }
    }

    /// Returns the serialized `rpc_error`.
    pub fn to_bytes(&self) -> Vec<u8> {
        tl::enums::RpcError::Error(tl::types::RpcError { error_code: self.code, error_message: self.message.clone() })
            .to_bytes()
    }
}

/// A handler's result: the serialized answer or an RPC error.
pub type RpcResult = Result<Vec<u8>, RpcErr>;

/// Parses the arguments of function `T` (the body after its constructor id).
pub fn parse<T: Deserializable>(body: &[u8]) -> Result<T, RpcErr> {
    T::from_bytes(body.get(4..).unwrap_or_default()).map_err(|_| RpcErr::bad("INPUT_FETCH_ERROR"))
}

/// Returns the serialized `boolTrue`.
pub fn bool_true() -> Vec<u8> {
    true.to_bytes()
}

/// Unwraps invokeWithLayer / initConnection / invokeWithoutUpdates / invokeAfterMsg.
fn unwrap_query(body: &[u8]) -> Result<&[u8], RpcErr> {
    let cid = crate::mtproto::service::constructor(body).ok_or_else(|| RpcErr::bad("INPUT_FETCH_ERROR"))?;
    let fetch = || RpcErr::bad("INPUT_FETCH_ERROR");
    match cid {
        // invokeWithLayer layer:int query
        0xda9b_0d0d => unwrap_query(body.get(8..).ok_or_else(fetch)?),
        // invokeWithoutUpdates query
        0xbf94_59b7 => unwrap_query(body.get(4..).ok_or_else(fetch)?),
        // invokeAfterMsg msg_id:long query
        0xcb9f_372d => unwrap_query(body.get(12..).ok_or_else(fetch)?),
        // initConnection flags api_id 6×string proxy? params? query
        0xc1cd_5ea9 => {
            let mut cur = tl::Cursor::from_slice(&body[4..]);
            let flags = u32::deserialize(&mut cur).map_err(|_| fetch())?;
            i32::deserialize(&mut cur).map_err(|_| fetch())?;
            for _ in 0..6 {
                String::deserialize(&mut cur).map_err(|_| fetch())?;
            }
            if flags & 1 != 0 {
                tl::enums::InputClientProxy::deserialize(&mut cur).map_err(|_| fetch())?;
            }
            if flags & 2 != 0 {
                tl::enums::Jsonvalue::deserialize(&mut cur).map_err(|_| fetch())?;
            }
            let at = 4 + cur.pos();
            unwrap_query(body.get(at..).ok_or_else(fetch)?)
        }
        _ => Ok(body),
    }
}

/// Methods a key may call before it is logged in.
fn is_public(cid: u32) -> bool {
    [
        tl::functions::help::GetConfig::CONSTRUCTOR_ID,
        tl::functions::help::GetNearestDc::CONSTRUCTOR_ID,
        tl::functions::auth::SendCode::CONSTRUCTOR_ID,
        tl::functions::auth::SignIn::CONSTRUCTOR_ID,
        tl::functions::auth::CheckPassword::CONSTRUCTOR_ID,
        tl::functions::account::GetPassword::CONSTRUCTOR_ID,
        tl::functions::auth::LogOut::CONSTRUCTOR_ID,
    ]
    .contains(&cid)
}

/// Runs one RPC body and returns its serialized answer or error.
pub fn dispatch(ctx: &mut RpcCtx<'_>, body: &[u8]) -> RpcResult {
    let query = unwrap_query(body)?;
    let cid = crate::mtproto::service::constructor(query).ok_or_else(|| RpcErr::bad("INPUT_FETCH_ERROR"))?;
    let name = tl::name_for_id(cid);
    debug!(method = name, conn = ctx.conn, "rpc");
    let phone = {
        let mut st = ctx.cloud.lock();
        *st.rt.calls.entry(name.to_string()).or_default() += 1;
        st.key_account(ctx.kid)
    };
    if phone.is_none() && !is_public(cid) {
        return Err(RpcErr::unauthorized());
    }
    let flood_phone = phone.clone().or_else(|| auth::request_phone(cid, query));
    if let Some(p) = flood_phone {
        let mut st = ctx.cloud.lock();
        let short = name.rsplit('.').next().unwrap_or(name);
        let refusal =
            st.rt.flood.remove(&(p.clone(), name.to_string())).or_else(|| st.rt.flood.remove(&(p, short.to_string())));
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
    }
    let phone = phone.unwrap_or_default();
    use tl::functions as f;
    let result = match cid {
        f::help::GetConfig::CONSTRUCTOR_ID => Ok(info::config(ctx)),
        f::help::GetNearestDc::CONSTRUCTOR_ID => Ok(info::nearest_dc()),
        f::auth::SendCode::CONSTRUCTOR_ID => auth::send_code(ctx, query),
        f::auth::SignIn::CONSTRUCTOR_ID => auth::sign_in(ctx, query),
        f::account::GetPassword::CONSTRUCTOR_ID => auth::get_password(ctx),
        f::auth::CheckPassword::CONSTRUCTOR_ID => auth::check_password(ctx, query),
        f::auth::LogOut::CONSTRUCTOR_ID => auth::log_out(ctx),
        f::updates::GetState::CONSTRUCTOR_ID => {
            Ok(tl::enums::updates::State::State(ctx.cloud.lock().updates_state(&phone)).to_bytes())
        }
        f::updates::GetDifference::CONSTRUCTOR_ID => history::get_difference(ctx, &phone, query),
        f::updates::GetChannelDifference::CONSTRUCTOR_ID => history::get_channel_difference(ctx, &phone, query),
        f::messages::GetDialogs::CONSTRUCTOR_ID => history::get_dialogs(ctx, &phone, query),
        f::messages::GetHistory::CONSTRUCTOR_ID => history::get_history(ctx, &phone, query),
        f::messages::GetMessages::CONSTRUCTOR_ID => history::get_messages(ctx, &phone, query, None),
        f::channels::GetMessages::CONSTRUCTOR_ID => history::get_channel_messages(ctx, &phone, query),
        f::messages::SendMessage::CONSTRUCTOR_ID => send::send_message(ctx, &phone, query),
        f::messages::SendMedia::CONSTRUCTOR_ID => send::send_media(ctx, &phone, query),
        f::messages::EditMessage::CONSTRUCTOR_ID => send::edit_message(ctx, &phone, query),
        f::messages::DeleteMessages::CONSTRUCTOR_ID => send::delete_messages(ctx, &phone, query),
        f::channels::DeleteMessages::CONSTRUCTOR_ID => send::delete_channel_messages(ctx, &phone, query),
        f::messages::ReadHistory::CONSTRUCTOR_ID => send::read_history(ctx, &phone, query),
        f::channels::ReadHistory::CONSTRUCTOR_ID => send::read_channel_history(ctx, &phone, query),
        f::upload::SaveFilePart::CONSTRUCTOR_ID => media::save_file_part(ctx, query),
        f::upload::SaveBigFilePart::CONSTRUCTOR_ID => media::save_big_file_part(ctx, query),
        f::upload::GetFile::CONSTRUCTOR_ID => media::get_file(ctx, &phone, query),
        f::contacts::GetContacts::CONSTRUCTOR_ID => info::get_contacts(ctx, &phone),
        f::users::GetUsers::CONSTRUCTOR_ID => info::get_users(ctx, &phone, query),
        f::users::GetFullUser::CONSTRUCTOR_ID => info::get_full_user(ctx, &phone, query),
        f::account::UpdateStatus::CONSTRUCTOR_ID => Ok(bool_true()),
        f::messages::GetChats::CONSTRUCTOR_ID => {
            let req: f::messages::GetChats = parse(query)?;
            info::get_chats(ctx, &phone, req.id.into_iter().map(PeerKey::Chat).collect())
        }
        f::channels::GetChannels::CONSTRUCTOR_ID => {
            let req: f::channels::GetChannels = parse(query)?;
            let ids = req.id.iter().filter_map(|c| match c {
                tl::enums::InputChannel::Channel(c) => Some(PeerKey::Channel(c.channel_id)),
                _ => None,
            });
            info::get_chats(ctx, &phone, ids.collect())
        }
        f::contacts::ResolveUsername::CONSTRUCTOR_ID => Err(RpcErr::bad("USERNAME_NOT_OCCUPIED")),
        _ => {
            info!(method = name, constructor = format_args!("{cid:08x}"), "unsupported method");
            Err(RpcErr::bad("INPUT_METHOD_INVALID"))
        }
    };
    if result.is_ok() {
        ctx.cloud.lock().dirty = true;
    }
    result
}

/// Resolves an `InputPeer` for the account `phone`, checking it may use it.
pub fn resolve_peer(st: &State, phone: &str, peer: &tl::enums::InputPeer) -> Result<PeerKey, RpcErr> {
    let me = st.data.accounts.get(phone).map(|a| a.user_id).ok_or_else(RpcErr::unauthorized)?;
    use tl::enums::InputPeer as P;
    let key = match peer {
        P::PeerSelf => PeerKey::User(me),
        P::User(u) => PeerKey::User(u.user_id),
        P::UserFromMessage(u) => PeerKey::User(u.user_id),
        P::Chat(c) => PeerKey::Chat(c.chat_id),
        P::Channel(c) => PeerKey::Channel(c.channel_id),
        P::ChannelFromMessage(c) => PeerKey::Channel(c.channel_id),
        P::Empty => return Err(RpcErr::bad("PEER_ID_INVALID")),
    };
    match key {
        PeerKey::User(id) if !st.data.users.contains_key(&id) => Err(RpcErr::bad("PEER_ID_INVALID")),
        PeerKey::Chat(id) => match st.data.chats.get(&id) {
            None => Err(RpcErr::bad("CHAT_ID_INVALID")),
            Some(c) if !c.members.contains(&me) => Err(RpcErr { code: 403, message: "CHAT_WRITE_FORBIDDEN".into() }),
            Some(_) => Ok(key),
        },
        PeerKey::Channel(id) => channel_member(st, me, id).map(|_| key),
        _ => Ok(key),
    }
}

/// Checks that `user` is a member of channel `id`.
pub fn channel_member(st: &State, user: i64, id: i64) -> Result<(), RpcErr> {
    match st.data.channels.get(&id) {
        None => Err(RpcErr::bad("CHANNEL_INVALID")),
        Some(c) if !c.members.contains(&user) => Err(RpcErr::bad("CHANNEL_PRIVATE")),
        Some(_) => Ok(()),
    }
}
