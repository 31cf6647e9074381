//! The HTTP control API tests and demos drive the fake cloud with: accounts and
//! their session strings, customers writing, what accounts sent, chats, contacts,
//! profile photos, edits, deletes, forced gaps, flood waits and the traffic generator.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::warn;

use crate::cloud::model::{ChannelRec, ChatRec, PeerKey};
use crate::cloud::{now, Cloud};
use crate::error::SimError;
use crate::rpc::RpcErr;
use crate::session_string::SessionString;
use crate::srp::PasswordRecord;

mod messages;

type Shared = State<Arc<Cloud>>;

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            SimError::NotFound(_) => StatusCode::NOT_FOUND,
            SimError::Invalid(_) | SimError::NotIpv4(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            warn!(error = %self, "control request failed");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// Returns the control API router over `cloud`.
pub fn router(cloud: Arc<Cloud>) -> Router {
    messages::routes(Router::new())
        .route("/control/accounts", post(create_account))
        .route("/control/login-code", get(login_code))
        .route("/control/chats", post(create_chat))
        .route("/control/contacts", post(add_contact))
        .route("/control/photos", post(set_photo))
        .route("/control/traffic", post(traffic))
        .route("/control/stats", get(stats))
        .route("/control/gap", post(gap))
        .route("/control/flood", post(flood))
        .with_state(cloud)
}

#[derive(Deserialize)]
struct NewAccount {
    phone: String,
    password: Option<String>,
    authorized: Option<bool>,
}

async fn create_account(State(cloud): Shared, Json(req): Json<NewAccount>) -> Result<Json<Value>, SimError> {
    crate::cloud::accounts::check_phone(&req.phone)?;
    let exists = cloud.lock().data.accounts.contains_key(&req.phone);
    // PBKDF2 with 100,000 rounds: off the async workers.
    let password = match (exists, req.password) {
        (false, Some(pw)) => Some(
            tokio::task::spawn_blocking(move || PasswordRecord::new(&pw))
                .await
                .map_err(|e| SimError::Invalid(e.to_string()))?,
        ),
        _ => None,
    };
    let key = cloud.lock().create_account(&req.phone, password, req.authorized.unwrap_or(true))?;
    let session = SessionString { dc_id: crate::DC_ID as u8, addr: cloud.mtproto_addr, auth_key: key }.encode();
    if !exists {
        let (c, phone) = (cloud.clone(), req.phone.clone());
        let _ = tokio::task::spawn_blocking(move || c.journal_account(&phone)).await;
    }
    Ok(Json(json!({ "phone": req.phone, "session": session })))
}

/// Query of the routes that name a phone.
#[derive(Deserialize)]
pub(crate) struct PhoneQuery {
    phone: Option<String>,
    account_phone: Option<String>,
}

async fn login_code(State(cloud): Shared, Query(q): Query<PhoneQuery>) -> Result<Json<Value>, SimError> {
    let phone = q.phone.ok_or_else(|| SimError::Invalid("phone is required".into()))?;
    let code = cloud
        .lock()
        .rt
        .codes
        .get(&phone)
        .map(|(_, c)| c.clone())
        .ok_or_else(|| SimError::NotFound(format!("no login code for {phone}")))?;
    Ok(Json(json!({ "phone": phone, "code": code })))
}

#[derive(Deserialize)]
struct NewChat {
    kind: String,
    title: String,
    #[serde(default)]
    members: Vec<Value>,
}

async fn create_chat(State(cloud): Shared, Json(req): Json<NewChat>) -> Result<Json<Value>, SimError> {
    let peer = cloud.with(|st| -> Result<PeerKey, SimError> {
        let members = req.members.iter().map(|m| st.member_user_id(m)).collect::<Result<Vec<_>, _>>()?;
        let id = st.next_id();
        let date = now();
        let peer = match req.kind.as_str() {
            "group" => {
                st.data.chats.insert(id, ChatRec { id, title: req.title.clone(), members, date });
                PeerKey::Chat(id)
            }
            "channel" => {
                let access_hash = rand::thread_rng().gen();
                st.data.channels.insert(
                    id,
                    ChannelRec {
                        id,
                        access_hash,
                        title: req.title.clone(),
                        members,
                        date,
                        pts: 1,
                        msgs: Vec::new(),
                        events: Vec::new(),
                    },
                );
                PeerKey::Channel(id)
            }
            other => return Err(SimError::Invalid(format!("kind must be group or channel, got {other}"))),
        };
        st.dirty = true;
        Ok(peer)
    })?;
    Ok(Json(json!({ "peer": peer.marked(), "kind": req.kind, "title": req.title })))
}

#[derive(Deserialize)]
struct NewContact {
    account_phone: String,
    user_id: i64,
    name: Option<String>,
}

async fn add_contact(State(cloud): Shared, Json(req): Json<NewContact>) -> Result<Json<Value>, SimError> {
    cloud.with(|st| -> Result<(), SimError> {
        if !st.data.accounts.contains_key(&req.account_phone) {
            return Err(SimError::NotFound(format!("account {}", req.account_phone)));
        }
        st.ensure_customer(req.user_id, req.name.as_deref())?;
        if let Some(acc) = st.data.accounts.get_mut(&req.account_phone) {
            acc.contacts.insert(req.user_id);
        }
        st.dirty = true;
        Ok(())
    })?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Deserialize)]
struct NewPhoto {
    /// An account's phone or a user id.
    user: Value,
    /// The image (JPEG, as Telegram keeps profile photos); none removes the photo.
    bytes_b64: Option<String>,
}

/// Sets (or removes) a user's profile photo; each new photo gets a new id.
async fn set_photo(State(cloud): Shared, Json(req): Json<NewPhoto>) -> Result<Json<Value>, SimError> {
    let bytes = req
        .bytes_b64
        .map(|b| STANDARD.decode(b).map_err(|e| SimError::Invalid(format!("bytes_b64: {e}"))))
        .transpose()?;
    if bytes.as_ref().is_some_and(Vec::is_empty) {
        return Err(SimError::Invalid("bytes_b64 is empty".into()));
    }
    let (user_id, photo_id) = cloud.with(|st| -> Result<(i64, Option<i64>), SimError> {
        let user_id = st.member_user_id(&req.user)?;
        let photo_id = bytes.map(|bytes| st.add_file("photo", format!("{user_id}.jpg"), "image/jpeg".into(), bytes));
        if let Some(user) = st.data.users.get_mut(&user_id) {
            user.photo = photo_id;
        }
        st.dirty = true;
        Ok((user_id, photo_id))
    })?;
    Ok(Json(json!({ "user_id": user_id, "photo_id": photo_id })))
}

#[derive(Deserialize)]
struct TrafficReq {
    rate: f64,
    duration_s: f64,
    accounts: Option<Vec<String>>,
}

async fn traffic(State(cloud): Shared, Json(req): Json<TrafficReq>) -> Result<Json<Value>, SimError> {
    if !(req.rate > 0.0 && req.duration_s > 0.0) {
        return Err(SimError::Invalid("rate and duration_s must be positive".into()));
    }
    let accounts = crate::traffic::pick_accounts(&cloud, req.accounts)?;
    let n = accounts.len();
    crate::traffic::spawn(
        cloud,
        crate::traffic::TrafficSpec {
            rate: req.rate,
            duration: std::time::Duration::from_secs_f64(req.duration_s),
            accounts,
        },
    );
    Ok(Json(json!({ "started": true, "accounts": n })))
}

async fn stats(State(cloud): Shared) -> Json<Value> {
    let st = cloud.lock();
    let per: BTreeMap<&str, u64> = st.data.accounts.values().map(|a| (a.phone.as_str(), a.received)).collect();
    let total: u64 = per.values().sum();
    Json(
        json!({ "sent_total": total, "per_account": per, "online_sessions": cloud.hub.sessions(), "rpc_calls": st.rt.calls }),
    )
}

#[derive(Deserialize)]
struct GapReq {
    account_phone: String,
}

async fn gap(State(cloud): Shared, Json(req): Json<GapReq>) -> Result<Json<Value>, SimError> {
    let mut st = cloud.lock();
    if !st.data.accounts.contains_key(&req.account_phone) {
        return Err(SimError::NotFound(format!("account {}", req.account_phone)));
    }
    st.rt.gaps.insert(req.account_phone);
    Ok(Json(json!({ "ok": true })))
}

#[derive(Deserialize)]
struct FloodReq {
    account_phone: String,
    method: String,
    /// `FLOOD_WAIT_<seconds>` (420).
    seconds: Option<i32>,
    /// Any other 400 error by name, such as `PEER_FLOOD`.
    error: Option<String>,
}

async fn flood(State(cloud): Shared, Json(req): Json<FloodReq>) -> Result<Json<Value>, SimError> {
    let refusal = match (req.seconds, req.error) {
        (Some(secs), None) if secs > 0 => RpcErr { code: 420, message: format!("FLOOD_WAIT_{secs}") },
        (Some(_), None) => return Err(SimError::Invalid("seconds must be positive".into())),
        (None, Some(name))
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
        {
            RpcErr::bad(&name)
        }
        (None, Some(name)) => return Err(SimError::Invalid(format!("{name:?} is not an error name like PEER_FLOOD"))),
        _ => return Err(SimError::Invalid("give seconds or error, not both".into())),
    };
    let mut st = cloud.lock();
    st.rt.flood.insert((req.account_phone, req.method), refusal);
    Ok(Json(json!({ "ok": true })))
}
