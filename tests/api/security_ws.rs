//! Hardening of `GET /ws` (issue 24): sockets follow revocation and token
//! expiry, disabled users are in no audience, and a socket's resources are
//! bounded (message size, connections per user, silence).

use crate::helpers::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::usecases::{AccountUpdate, UpdateEnvelope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The close code of a socket whose token was revoked or expired.
const CLOSE_REVOKED: u16 = 4001;

fn ws_url(app: &TestApp, token: &str) -> String {
    format!("{}/ws?token={token}", app.base.replace("http://", "ws://"))
}

async fn connect(app: &TestApp, token: &str) -> Ws {
    tokio_tungstenite::connect_async(ws_url(app, token)).await.expect("websocket connects").0
}

/// Reads until the server closes; returns the close code (0 when the stream just ended).
async fn close_code(ws: &mut Ws, within: Duration) -> u16 {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.expect("the server closes the socket in time") {
            Some(Ok(tungstenite::Message::Close(frame))) => return frame.map_or(0, |f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return 0,
        }
    }
}

/// Reads events until one of `kind` arrives; returns every event read.
async fn until_kind(ws: &mut Ws, kind: &str, text: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("an event within 5 s");
        if let tungstenite::Message::Text(t) = msg.expect("stream open").expect("frame") {
            let event: Value = serde_json::from_str(&t).unwrap();
            let done = event["type"] == kind && event["data"]["text"] == text;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

async fn ingest(app: &TestApp, account: &str, peer: i64, id: i64, text: &str) {
    let message = AccountUpdate::Message { message: customer_message(account, peer, id, text) };
    let envelope = UpdateEnvelope {
        tenant: TenantId::parse("demo").unwrap(),
        account_id: AccountId::parse(account).unwrap(),
        updates: vec![message],
    };
    app.desk.ingest(&envelope).await.expect("ingested");
}

#[tokio::test]
async fn disabling_an_agent_closes_its_open_sockets_as_revoked() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.create_user(&admin, "dora", "agent", None).await;
    let mut ws = connect(&app, &app.login("demo", "dora", PASSWORD).await).await;

    // Act
    app.patch(&format!("/api/agents/{id}"), &admin, json!({"disabled": true})).await.expect(200);

    // Assert
    assert_eq!(close_code(&mut ws, Duration::from_secs(5)).await, CLOSE_REVOKED);
}

#[tokio::test]
async fn a_password_reset_or_a_deletion_closes_the_agents_open_sockets() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let reset = app.create_user(&admin, "resetme", "agent", None).await;
    let deleted = app.create_user(&admin, "deleteme", "agent", None).await;
    let mut reset_ws = connect(&app, &app.login("demo", "resetme", PASSWORD).await).await;
    let mut deleted_ws = connect(&app, &app.login("demo", "deleteme", PASSWORD).await).await;

    // Act
    app.post(&format!("/api/agents/{reset}/password"), &admin, json!({"password": "another-password"}))
        .await
        .expect(200);
    app.delete(&format!("/api/agents/{deleted}"), &admin).await.expect(200);

    // Assert
    assert_eq!(close_code(&mut reset_ws, Duration::from_secs(5)).await, CLOSE_REVOKED);
    assert_eq!(close_code(&mut deleted_ws, Duration::from_secs(5)).await, CLOSE_REVOKED);
}

#[tokio::test]
async fn changing_my_password_closes_my_older_sockets_but_not_the_new_one() {
    // Arrange
    let app = spawn_app().await;
    let old = app.admin().await;
    let account = app.create_account(&old, "+15557770001", None).await;
    let mut old_ws = connect(&app, &old).await;

    // Act
    let body = json!({"current_password": ADMIN_PASSWORD, "new_password": "brand-new-password"});
    let fresh = app.post("/api/me/password", &old, body).await.expect(200)["token"].as_str().unwrap().to_owned();
    let mut fresh_ws = connect(&app, &fresh).await;
    let code = close_code(&mut old_ws, Duration::from_secs(5)).await;
    ingest(&app, &account, 42, 1, "still here").await;

    // Assert
    assert_eq!(code, CLOSE_REVOKED);
    until_kind(&mut fresh_ws, "message.new", "still here").await;
}

#[tokio::test]
async fn a_socket_is_closed_when_its_token_expires() {
    // Arrange: tokens live two seconds.
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.token_ttl = Duration::from_secs(2);
    let app = spawn_with(dir, config).await;
    let mut ws = connect(&app, &app.admin().await).await;

    // Act / Assert
    assert_eq!(close_code(&mut ws, Duration::from_secs(10)).await, CLOSE_REVOKED);
}

#[tokio::test]
async fn a_disabled_owner_gets_no_events_kept_for_later() {
    // Arrange: dora owns an account and is disabled.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let dora = app.create_user(&admin, "dora", "agent", None).await;
    let account = app.create_account(&admin, "+15557770002", Some(&dora)).await;
    app.patch(&format!("/api/agents/{dora}"), &admin, json!({"disabled": true})).await.expect(200);

    // Act: a customer writes while she is disabled; she is enabled and resumes from seq 0.
    ingest(&app, &account, 7, 1, "while disabled").await;
    app.patch(&format!("/api/agents/{dora}"), &admin, json!({"disabled": false})).await.expect(200);
    let token = app.login("demo", "dora", PASSWORD).await;
    let mut ws = tokio_tungstenite::connect_async(format!("{}&since=0", ws_url(&app, &token))).await.unwrap().0;
    ingest(&app, &account, 7, 2, "after enabling").await;

    // Assert
    let seen = until_kind(&mut ws, "message.new", "after enabling").await;
    assert!(!seen.iter().any(|e| e["data"]["text"] == "while disabled"), "{seen:?}");
}

#[tokio::test]
async fn a_user_may_hold_only_a_few_sockets_at_once() {
    // Arrange
    let app = spawn_app().await;
    let token = app.admin().await;
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(connect(&app, &token).await);
    }

    // Act
    let ninth = tokio_tungstenite::connect_async(ws_url(&app, &token)).await;

    // Assert
    match ninth {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 429),
        other => panic!("expected 429, got {:?}", other.map(|_| "an open socket")),
    }
    open.pop().unwrap().close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if tokio_tungstenite::connect_async(ws_url(&app, &token)).await.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "a closed socket frees its place");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn an_oversized_client_message_closes_the_socket() {
    // Arrange
    let app = spawn_app().await;
    let mut ws = connect(&app, &app.admin().await).await;

    // Act: clients send only pings and closes; 256 KiB is no such thing.
    ws.send(tungstenite::Message::Text("x".repeat(256 * 1024).into())).await.unwrap();

    // Assert
    let code = close_code(&mut ws, Duration::from_secs(5)).await;
    assert!(code == 0 || code == 1009, "closed with {code}");
}

#[tokio::test]
async fn a_client_that_never_reads_nor_answers_pings_is_dropped() {
    // Arrange: sockets silent for two seconds are closed.
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.ws_idle_timeout = Duration::from_secs(2);
    let app = spawn_with(dir, config).await;
    let token = app.admin().await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&host).await.unwrap();

    // Act: a hand-made upgrade, then silence (no pong is ever sent).
    let request = format!(
        "GET /ws?token={token} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();

    // Assert: the server ends the connection; everything it sent before is read and dropped.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 4096];
    let mut first = Vec::new();
    loop {
        let n = tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await.expect("closed in time").unwrap_or(0);
        if n == 0 {
            break;
        }
        if first.is_empty() {
            first.extend_from_slice(&buf[..n]);
        }
    }
    assert!(String::from_utf8_lossy(&first).starts_with("HTTP/1.1 101"), "it was upgraded first");
}
