//! `GET /ws`: the agents' WebSocket. The JWT comes in `?token=` (browsers
//! cannot set headers on a WebSocket) or the Authorization header; `?since=`
//! resumes after the last seq the client saw. Events are `{"type","seq","data"}`.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::SinkExt;
use serde::Deserialize;
use std::sync::Arc;
use tgdesk_api::ApiError;
use tgdesk_core::usecases::Desk;
use tgdesk_local::push::{Backlog, Subscription, WsHub};

/// What the WebSocket route needs.
#[derive(Clone)]
pub struct WsState {
    /// Authenticates the token.
    pub desk: Desk,
    /// Hands out subscriptions.
    pub hub: Arc<WsHub>,
}

/// Query of `GET /ws`.
#[derive(Deserialize)]
pub struct WsParams {
    token: Option<String>,
    since: Option<u64>,
}

/// Close code sent to a client dropped for reading too slowly: reconnect with `since`.
const CLOSE_SLOW: u16 = 4008;
/// Clients only send pings and close frames. tungstenite zero-fills its whole
/// read buffer before every read attempt, and the socket is polled for input
/// each time an event goes out, so the 128 KiB default cost more than the push.
const READ_BUFFER: usize = 4 * 1024;
/// Events already queued that go out in one write with the one that woke the socket.
const WRITE_BURST: usize = 64;

/// Authenticates, then upgrades; bad tokens get 401 before any upgrade.
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
    let subscription = state.hub.subscribe(&actor.tenant, &actor.user_id, params.since);
    Ok(ws.read_buffer_size(READ_BUFFER).on_upgrade(move |socket| serve(socket, subscription)).into_response())
}

async fn serve(mut socket: WebSocket, mut sub: Subscription) {
    let backlog = match sub.backlog {
        Backlog::Events(events) => events,
        Backlog::Resync(event) => vec![event],
    };
    for text in backlog {
        if socket.feed(Message::Text(text.as_ref().into())).await.is_err() {
            return;
        }
    }
    if socket.flush().await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = sub.events.recv() => match event {
                Some(text) => {
                    if send_burst(&mut socket, &mut sub.events, text).await.is_err() {
                        return;
                    }
                }
                None => {
                    let frame = CloseFrame { code: CLOSE_SLOW, reason: "too slow; reconnect with since".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Writes `first` and up to [`WRITE_BURST`] events already waiting, then
/// flushes once: one system call for a burst instead of one per event.
async fn send_burst(
    socket: &mut WebSocket,
    events: &mut tokio::sync::mpsc::Receiver<Arc<str>>,
    first: Arc<str>,
) -> Result<(), axum::Error> {
    socket.feed(Message::Text(first.as_ref().into())).await?;
    for _ in 0..WRITE_BURST {
        match events.try_recv() {
            Ok(text) => socket.feed(Message::Text(text.as_ref().into())).await?,
            Err(_) => break,
        }
    }
    socket.flush().await
}
