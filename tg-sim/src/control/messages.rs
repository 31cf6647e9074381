//! Control routes about messages: customers writing (private chats, groups,
//! channels, with media), edits, deletes, and what accounts sent.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{PhoneQuery, Shared};
use crate::cloud::delivery::NewMsg;
use crate::cloud::model::PeerKey;
use crate::cloud::{now, Cloud};
use crate::error::SimError;

/// Adds the message routes to `router`.
pub(super) fn routes(router: Router<Arc<Cloud>>) -> Router<Arc<Cloud>> {
    router
        .route("/control/messages", post(post_message))
        .route("/control/messages/batch", post(post_messages))
        .route("/control/messages/{peer}/{id}/edit", post(edit_message))
        .route("/control/messages/{peer}/{id}/delete", post(delete_message))
        .route("/control/sent", get(sent))
}

#[derive(Deserialize)]
struct From {
    user_id: i64,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Media {
    kind: String,
    name: String,
    bytes_b64: String,
}

#[derive(Deserialize)]
struct NewMessage {
    account_phone: String,
    from: From,
    text: Option<String>,
    date: Option<i32>,
    chat: Option<i64>,
    media: Option<Media>,
    reply_to: Option<i32>,
}

fn mime_for(kind: &str, name: &str) -> String {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match (kind, ext.as_str()) {
        ("photo", _) | (_, "jpg" | "jpeg") => "image/jpeg",
        (_, "png") => "image/png",
        (_, "pdf") => "application/pdf",
        (_, "txt") => "text/plain",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// Largest `POST /control/messages/batch`.
const MAX_BATCH: usize = 10_000;

#[derive(Deserialize)]
struct NewMessages {
    messages: Vec<NewMessage>,
}

/// A customer's message, checked and ready to post.
struct Checked {
    req: NewMessage,
    media: Option<Vec<u8>>,
}

/// Decodes the media; the account and chat are checked under the lock.
fn check(req: NewMessage) -> Result<Checked, SimError> {
    let media = match &req.media {
        Some(m) if m.kind != "photo" && m.kind != "document" => {
            return Err(SimError::Invalid("media.kind is photo or document".into()))
        }
        Some(m) => Some(STANDARD.decode(&m.bytes_b64).map_err(|e| SimError::Invalid(format!("bytes_b64: {e}")))?),
        None => None,
    };
    Ok(Checked { req, media })
}

/// Returns the chat a message goes to; `NotFound` for an unknown account or chat.
fn chat_of(st: &crate::cloud::State, req: &NewMessage) -> Result<PeerKey, SimError> {
    if !st.data.accounts.contains_key(&req.account_phone) {
        return Err(SimError::NotFound(format!("account {}", req.account_phone)));
    }
    match req.chat {
        None => Ok(PeerKey::User(req.from.user_id)),
        Some(marked) => PeerKey::from_marked(marked)
            .filter(|p| !matches!(p, PeerKey::User(_)) && st.chat_exists(*p))
            .ok_or_else(|| SimError::NotFound(format!("chat {marked}"))),
    }
}

/// Posts a checked message as its customer; returns the chat's marked id and the message id.
fn place(st: &mut crate::cloud::State, m: Checked, chat: PeerKey) -> Result<(i64, i32), SimError> {
    let Checked { req, media } = m;
    st.ensure_customer(req.from.user_id, req.from.name.as_deref())?;
    if !matches!(chat, PeerKey::User(_)) {
        add_member(st, chat, req.from.user_id);
    }
    let media = match (&req.media, media) {
        (Some(m), Some(bytes)) => Some(st.add_file(&m.kind, m.name.clone(), mime_for(&m.kind, &m.name), bytes)),
        _ => None,
    };
    let m = NewMsg {
        from: req.from.user_id,
        text: req.text.unwrap_or_default(),
        media,
        reply_to: req.reply_to,
        date: req.date.unwrap_or_else(now),
    };
    let placed = st.post(&req.account_phone, chat, &m, None)?;
    Ok((chat.marked(), placed.id))
}

async fn post_message(State(cloud): Shared, Json(req): Json<NewMessage>) -> Result<Json<Value>, SimError> {
    let checked = check(req)?;
    let (peer, id) = cloud.with(|st| {
        let chat = chat_of(st, &checked.req)?;
        place(st, checked, chat)
    })?;
    Ok(Json(json!({ "peer": peer, "message_id": id })))
}

/// Posts up to [`MAX_BATCH`] messages in order under one lock (load tests
/// write thousands a second). Every message is checked first: one bad
/// message posts none, and the error names its index.
async fn post_messages(State(cloud): Shared, Json(req): Json<NewMessages>) -> Result<Json<Value>, SimError> {
    if req.messages.len() > MAX_BATCH {
        return Err(SimError::Invalid(format!("at most {MAX_BATCH} messages per batch")));
    }
    let at = |i: usize| {
        move |e: SimError| match e {
            SimError::NotFound(what) => SimError::NotFound(format!("messages[{i}]: {what}")),
            SimError::Invalid(why) => SimError::Invalid(format!("messages[{i}]: {why}")),
            other => other,
        }
    };
    let checked =
        req.messages.into_iter().enumerate().map(|(i, m)| check(m).map_err(at(i))).collect::<Result<Vec<_>, _>>()?;
    let placed = cloud.with(|st| {
        let chats = checked
            .iter()
            .enumerate()
            .map(|(i, m)| chat_of(st, &m.req).map_err(at(i)))
            .collect::<Result<Vec<_>, _>>()?;
        checked.into_iter().zip(chats).map(|(m, chat)| place(st, m, chat)).collect::<Result<Vec<_>, _>>()
    })?;
    let placed: Vec<Value> = placed.into_iter().map(|(peer, id)| json!({ "peer": peer, "message_id": id })).collect();
    Ok(Json(json!({ "posted": placed.len(), "messages": placed })))
}

fn add_member(st: &mut crate::cloud::State, chat: PeerKey, user: i64) {
    let members = match chat {
        PeerKey::Chat(id) => st.data.chats.get_mut(&id).map(|c| &mut c.members),
        PeerKey::Channel(id) => st.data.channels.get_mut(&id).map(|c| &mut c.members),
        PeerKey::User(_) => None,
    };
    if let Some(m) = members.filter(|m| !m.contains(&user)) {
        m.push(user);
    }
}

#[derive(Deserialize, Default)]
struct EditReq {
    account_phone: Option<String>,
    text: Option<String>,
}

fn target(cloud: &Cloud, peer: i64, phone: Option<String>) -> Result<(PeerKey, String), SimError> {
    let chat = PeerKey::from_marked(peer).ok_or_else(|| SimError::Invalid("peer 0".into()))?;
    let st = cloud.lock();
    let phone = match (phone, chat) {
        (Some(p), _) => p,
        // Channel messages are shared; any member account can stand in.
        (None, PeerKey::Channel(id)) => st
            .data
            .channels
            .get(&id)
            .and_then(|c| c.members.iter().find_map(|u| st.phone_of_user(*u)))
            .unwrap_or_default(),
        (None, _) => return Err(SimError::Invalid("account_phone is required for private chats and groups".into())),
    };
    Ok((chat, phone))
}

async fn edit_message(
    State(cloud): Shared,
    Path((peer, id)): Path<(i64, i32)>,
    Json(req): Json<EditReq>,
) -> Result<Json<Value>, SimError> {
    let (chat, phone) = target(&cloud, peer, req.account_phone)?;
    let text = req.text.ok_or_else(|| SimError::Invalid("text is required".into()))?;
    let pts = cloud.with(|st| st.edit(&phone, chat, id, &text, None))?;
    Ok(Json(json!({ "ok": true, "pts": pts })))
}

async fn delete_message(
    State(cloud): Shared,
    Path((peer, id)): Path<(i64, i32)>,
    body: Option<Json<EditReq>>,
) -> Result<Json<Value>, SimError> {
    let req = body.map(|b| b.0).unwrap_or_default();
    let (chat, phone) = target(&cloud, peer, req.account_phone)?;
    let channel = match chat {
        PeerKey::Channel(c) => Some(c),
        _ => None,
    };
    let (pts, count) = cloud.with(|st| st.delete(&phone, channel, &[id], None))?;
    if count == 0 {
        return Err(SimError::NotFound(format!("message {id} in {peer}")));
    }
    Ok(Json(json!({ "ok": true, "pts": pts })))
}

async fn sent(State(cloud): Shared, Query(q): Query<PhoneQuery>) -> Result<Json<Value>, SimError> {
    let phone = q.account_phone.ok_or_else(|| SimError::Invalid("account_phone is required".into()))?;
    let st = cloud.lock();
    let acc = st.data.accounts.get(&phone).ok_or_else(|| SimError::NotFound(format!("account {phone}")))?;
    let items: Vec<Value> = acc
        .sent
        .iter()
        .map(|s| {
            let mut item = json!({ "peer": s.peer, "message_id": s.message_id, "text": s.text, "date": s.date });
            if let Some(r) = s.reply_to {
                item["reply_to"] = json!(r);
            }
            if let Some(f) = s.media.and_then(|id| st.data.files.get(&id)) {
                item["media"] = json!({ "kind": f.kind, "name": f.name, "mime": f.mime, "size": f.bytes.len(), "bytes_b64": STANDARD.encode(&f.bytes) });
            }
            item
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
