//! `GET /ws`: the agents' WebSocket. The JWT comes in `?token=` (browsers
//! cannot set headers on a WebSocket) or the Authorization header; `?since=`
//! resumes after the last seq the client saw. Events are `{"type","seq","data"}`.
//!
//! A socket lives only as long as its token: it closes with [`CLOSE_REVOKED`]
//! when the token expires, when a `session.revoked` event names a newer token
//! version, or when a periodic re-check finds the user disabled or gone (that
//! check also holds when the change was made by another process). Its
//! resources are bounded: small client messages, a few sockets per user,
//! writes that must finish in [`WRITE_TIMEOUT`], and silence (no frame, no
//! pong) closes it after the idle timeout.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::SinkExt;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_api::ApiError;
use tgdesk_core::usecases::Desk;
use tgdesk_local::push::{Backlog, Subscription, WsHub};
use tokio::time::{timeout, Instant};

/// What the WebSocket route needs.
#[derive(Clone)]
pub struct WsState {
    /// Authenticates the token.
    pub desk: Desk,
    /// Hands out subscriptions.
    pub hub: Arc<WsHub>,
    /// Silence after which a socket is closed (pings go out at a third of it).
    pub idle_timeout: Duration,
    /// Open sockets allowed per user.
    pub max_per_user: usize,
}

/// Query of `GET /ws`.
#[derive(Deserialize)]
pub struct WsParams {
    token: Option<String>,
    since: Option<u64>,
}

/// Close code sent to a client dropped for reading too slowly: reconnect with `since`.
const CLOSE_SLOW: u16 = 4008;
/// Close code of a socket whose token expired or was revoked: log in again.
pub const CLOSE_REVOKED: u16 = 4001;
/// Close code of a socket silent for longer than the idle timeout.
const CLOSE_IDLE: u16 = 4000;
/// Clients only send pings and close frames. tungstenite zero-fills its whole
/// read buffer before every read attempt, and the socket is polled for input
/// each time an event goes out, so the 128 KiB default cost more than the push.
const READ_BUFFER: usize = 4 * 1024;
/// Largest message (and frame) a client may send: pings and closes are far smaller.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// Events already queued that go out in one write with the one that woke the socket.
const WRITE_BURST: usize = 64;
/// A write (a burst and its flush) that takes longer is a client that stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the token's user is read again, for changes made by another process.
const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// Authenticates, then upgrades; bad tokens get 401 and users at their
/// socket cap 429 before any upgrade.
pub async fn upgrade(
    State(state): State<WsState>,
    Query(params): Query<WsParams>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let header_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token = params
        .token
        .as_deref()
        .or(header_token)
        .ok_or_else(|| ApiError::unauthorized("pass the token as ?token= or Authorization: Bearer"))?;
    let actor = state.desk.authenticate(token).await?;
    let claims = state.desk.tokens.verify(token).map_err(|_| ApiError::unauthorized("the token is invalid"))?;
    let subscription = state
        .hub
        .subscribe_capped(&actor.tenant, &actor.user_id, params.since, state.max_per_user)
        .ok_or_else(|| {
            let message = format!("at most {} open sockets per user; close one first", state.max_per_user);
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_sockets", message)
        })?;
    let session = Session { desk: state.desk, token: token.to_owned(), version: claims.tv, until: expiry(claims.exp) };
    let idle = state.idle_timeout;
    Ok(ws
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, subscription, session, idle))
        .into_response())
}

/// The token a socket was opened with.
struct Session {
    desk: Desk,
    token: String,
    /// The token's version: a `session.revoked` naming a later one closes the socket.
    version: u32,
    /// When the token expires.
    until: Instant,
}

/// How a revocation event starts (the hub writes `type` first): a prefix
/// compare on every event, and only revocations are parsed.
const REVOKED_PREFIX: &str = "{\"type\":\"session.revoked\"";

impl Session {
    /// True when `event` is a revocation that covers this socket's token.
    fn revoked_by(&self, event: &str) -> bool {
        if !event.starts_with(REVOKED_PREFIX) {
            return false;
        }
        let parsed: serde_json::Value = serde_json::from_str(event).unwrap_or_default();
        parsed["data"]["valid_from"].as_u64().is_some_and(|v| u64::from(self.version) < v)
    }
}

async fn serve(mut socket: WebSocket, mut sub: Subscription, session: Session, idle: Duration) {
    let backlog = match sub.backlog {
        Backlog::Events(events) => events,
        Backlog::Resync(event) => vec![event],
    };
    let write = async {
        for text in backlog {
            socket.feed(Message::Text(text.as_ref().into())).await?;
        }
        socket.flush().await
    };
    if !matches!(timeout(WRITE_TIMEOUT, write).await, Ok(Ok(()))) {
        return;
    }
    let mut heard = Instant::now();
    let every = (idle / 3).max(Duration::from_millis(100));
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    let mut recheck = tokio::time::interval_at(Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
    let close = loop {
        tokio::select! {
            event = sub.events.recv() => match event {
                Some(text) => match timeout(WRITE_TIMEOUT, send_burst(&mut socket, &mut sub.events, text, &session)).await {
                    Ok(Ok(false)) => {}
                    Ok(Ok(true)) => break (CLOSE_REVOKED, "the token was revoked; log in again"),
                    Ok(Err(_)) | Err(_) => return,
                },
                None => break (CLOSE_SLOW, "too slow; reconnect with since"),
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => heard = Instant::now(),
            },
            () = tokio::time::sleep_until(session.until) => break (CLOSE_REVOKED, "the token expired; log in again"),
            _ = recheck.tick() => {
                if session.desk.authenticate(&session.token).await.is_err() {
                    break (CLOSE_REVOKED, "the token was revoked; log in again");
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > idle {
                    break (CLOSE_IDLE, "silent for too long");
                }
                if !matches!(timeout(WRITE_TIMEOUT, socket.send(Message::Ping(Default::default()))).await, Ok(Ok(()))) {
                    return;
                }
            }
        }
    };
    let frame = CloseFrame { code: close.0, reason: close.1.into() };
    let _ = timeout(WRITE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// Writes `first` and up to [`WRITE_BURST`] events already waiting, then
/// flushes once: one system call for a burst instead of one per event.
/// Returns true when one of them revoked the socket's token (it still goes
/// out, so the client's seqs have no gap, and the burst stops there).
async fn send_burst(
    socket: &mut WebSocket,
    events: &mut tokio::sync::mpsc::Receiver<Arc<str>>,
    first: Arc<str>,
    session: &Session,
) -> Result<bool, axum::Error> {
    let mut revoked = session.revoked_by(&first);
    socket.feed(Message::Text(first.as_ref().into())).await?;
    for _ in 0..WRITE_BURST {
        if revoked {
            break;
        }
        match events.try_recv() {
            Ok(text) => {
                revoked = session.revoked_by(&text);
                socket.feed(Message::Text(text.as_ref().into())).await?;
            }
            Err(_) => break,
        }
    }
    socket.flush().await?;
    Ok(revoked)
}

/// Returns when a token expiring at `exp` (unix seconds) runs out.
fn expiry(exp: i64) -> Instant {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let left = u64::try_from(exp).unwrap_or(0).saturating_sub(now);
    Instant::now() + Duration::from_secs(left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::usecases::SESSION_REVOKED;

    #[test]
    fn the_revocation_prefix_is_the_event_type_as_the_hub_writes_it() {
        assert_eq!(REVOKED_PREFIX, format!("{{\"type\":\"{SESSION_REVOKED}\""));
    }
}
