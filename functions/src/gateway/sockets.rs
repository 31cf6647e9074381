//! The WebSocket API: sockets opened through the `ws-*` handlers, and the
//! `@connections` management API the `push` function posts to.

use super::rest::{header_maps, query_maps};
use super::Shared;
use crate::websocket;
use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// API Gateway's largest WebSocket frame (128 KB); a post over it is refused.
const MAX_FRAME: usize = 128 * 1024;
/// Frames waiting for a slow client before posts to it are throttled.
const SOCKET_BUFFER: usize = 256;

/// What goes to an open socket.
enum Outgoing {
    Frame(String),
    Close,
}

/// The open sockets by connection id.
#[derive(Default)]
pub(super) struct Sockets(Mutex<HashMap<String, mpsc::Sender<Outgoing>>>);

/// One connection as its events name it.
struct Connection {
    id: String,
    source: IpAddr,
    /// When `$connect` ran (ms since the epoch): every event of it carries this.
    connected_at: i64,
}

impl Sockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Outgoing>>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, id: &str) -> Option<mpsc::Sender<Outgoing>> {
        self.lock().get(id).cloned()
    }

    /// Closes every socket.
    pub(super) async fn close_all(&self) {
        let open: Vec<_> = self.lock().values().cloned().collect();
        for socket in open {
            let _ = socket.send(Outgoing::Close).await;
        }
    }
}

/// A connection id in the shape API Gateway gives (16 base64 characters).
fn connection_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 11]>())
}

/// The event of `route` on `connection`.
fn event(
    shared: &Shared,
    route: &str,
    connection: &Connection,
    request: Option<(&HeaderMap, Option<&str>)>,
    body: Option<String>,
) -> Result<ApiGatewayWebsocketProxyRequest, String> {
    let event_type = match route {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    let now = chrono::Utc::now().timestamp_millis();
    let (headers, multi_headers) = request.map(|(h, _)| header_maps(h)).unwrap_or_default();
    let (query, multi_query) = query_maps(request.and_then(|(_, q)| q));
    let event = json!({
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "messageDirection": "IN",
            "stage": shared.stage,
            "requestTimeEpoch": now,
            "connectedAt": connection.connected_at,
            "identity": { "sourceIp": connection.source.to_string() },
            "requestId": connection_id(),
            "domainName": "localhost",
            "connectionId": connection.id,
            "apiId": "local",
        },
        "body": body,
        "isBase64Encoded": false,
    });
    serde_json::from_value(event).map_err(|e| format!("the gateway built a {route} event of the wrong shape: {e}"))
}

/// `GET /ws`: `$connect`, then the socket until either side closes.
pub(super) async fn connect(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let connection =
        Connection { id: connection_id(), source: peer.ip(), connected_at: chrono::Utc::now().timestamp_millis() };
    let connect = match event(&shared, "$connect", &connection, Some((&headers, query.as_deref())), None) {
        Ok(connect) => connect,
        Err(e) => {
            tracing::error!(error = %e, "cannot run $connect");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let answer = websocket::connect(&shared.desk, &*shared.connections, &connect, chrono::Utc::now()).await;
    if answer.status_code != 200 {
        // API Gateway refuses the handshake with the route's status.
        let status = u16::try_from(answer.status_code).ok().and_then(|s| StatusCode::from_u16(s).ok());
        let body = answer.body.map(|b| b.to_vec()).unwrap_or_default();
        return (status.unwrap_or(StatusCode::FORBIDDEN), Body::from(body)).into_response();
    }
    let (tx, rx) = mpsc::channel(SOCKET_BUFFER);
    shared.sockets.lock().insert(connection.id.clone(), tx);
    let connection = Arc::new(connection);
    let failed = (shared.clone(), connection.clone());
    upgrade
        .on_failed_upgrade(move |e| {
            tracing::warn!(error = %e, "a WebSocket handshake failed after $connect");
            let (shared, connection) = failed;
            tokio::spawn(async move { forget(&shared, &connection).await });
        })
        .on_upgrade(move |socket| serve(shared, connection, socket, rx))
}

/// Carries frames both ways until either side closes, then `$disconnect`.
async fn serve(
    shared: Arc<Shared>,
    connection: Arc<Connection>,
    mut socket: WebSocket,
    mut rx: mpsc::Receiver<Outgoing>,
) {
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Frame(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            inbound = socket.recv() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    match event(&shared, "$default", &connection, None, Some(text.to_string())) {
                        Ok(message) => {
                            let answer = websocket::default(&message).await;
                            if answer.status_code != 200 {
                                tracing::debug!(connection = %connection.id, status = answer.status_code, "$default refused a message");
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "cannot run $default"),
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    forget(&shared, &connection).await;
}

/// Drops the socket and runs `$disconnect`.
async fn forget(shared: &Shared, connection: &Connection) {
    shared.sockets.lock().remove(&connection.id);
    let answer = match event(shared, "$disconnect", connection, None, None) {
        Ok(disconnect) => websocket::disconnect(&*shared.connections, &disconnect).await,
        Err(e) => {
            tracing::error!(error = %e, "cannot run $disconnect");
            return;
        }
    };
    if answer.status_code != 200 {
        tracing::warn!(connection = %connection.id, status = answer.status_code, "$disconnect failed");
    }
}

/// An error of the management API, as the AWS SDK reads it.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, [("x-amzn-errortype", kind)], axum::Json(json!({ "message": message }))).into_response()
}

/// `@connections/{id}`: `POST` a frame, `DELETE` the connection, `GET` its state.
pub(super) async fn manage(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    body: Bytes,
) -> Response {
    let gone = || error(StatusCode::GONE, "GoneException", "the connection is not open");
    let Some(socket) = shared.sockets.get(&id) else { return gone() };
    match method {
        Method::POST if body.len() > MAX_FRAME => {
            error(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLargeException", "frames are at most 128 KB")
        }
        Method::POST => match socket.try_send(Outgoing::Frame(String::from_utf8_lossy(&body).into_owned())) {
            Ok(()) => StatusCode::OK.into_response(),
            Err(mpsc::error::TrySendError::Full(_)) => {
                error(StatusCode::TOO_MANY_REQUESTS, "LimitExceededException", "the client is not reading")
            }
            Err(mpsc::error::TrySendError::Closed(_)) => gone(),
        },
        Method::DELETE => match socket.send(Outgoing::Close).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(_) => gone(),
        },
        Method::GET => axum::Json(json!({ "identity": {}, "connectedAt": null })).into_response(),
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}
