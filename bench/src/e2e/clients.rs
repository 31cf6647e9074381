//! The agents' browsers: one real WebSocket per agent on `GET /ws?token=`,
//! reading every event as a client would. Each `message.new` is checked
//! (the agent may see its account: it owns it, or leads the owner's team;
//! never seen before) and its send stamp turned into an end-to-end latency.

use crate::e2e::traffic::{now_us, stamp_of, OPENING};
use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// WebSocket handshakes in flight while connecting.
const CONNECTING: usize = 16;

/// The part of a `message.new` event the check needs, borrowed from the
/// frame (the clients share the machine with the server they measure).
#[derive(Deserialize)]
struct NewMessageEvent<'a> {
    #[serde(borrow)]
    data: MessageData<'a>,
}

#[derive(Deserialize)]
struct MessageData<'a> {
    #[serde(borrow)]
    account_id: Cow<'a, str>,
    id: i64,
    #[serde(borrow)]
    text: Cow<'a, str>,
}

/// What one agent's WebSocket saw.
#[derive(Default)]
pub struct ClientReport {
    /// `message.new` events for the agent's own accounts, first receipt only
    /// (the openings of the conversations apart).
    pub received: u64,
    /// Openings of conversations (see `traffic::open_conversations`) received, first receipt only.
    pub openings: u64,
    /// `message.new` events for an account the agent may not see.
    pub wrong_owner: u64,
    /// `message.new` events received a second time.
    pub duplicates: u64,
    /// Events the client could not read.
    pub unreadable: u64,
    /// Whether the server closed the socket before the run ended.
    pub closed_early: bool,
    /// (send stamp µs, send→receipt latency µs) per received message.
    pub samples: Vec<(u64, u32)>,
    /// Distinct messages received per account id.
    pub per_account: HashMap<String, u64>,
}

/// What a socket's receipts add to: (messages, openings).
pub type Counters = (Arc<AtomicU64>, Arc<AtomicU64>);

/// Connects one socket per token and starts reading; each task returns its
/// report once `stop` turns true. `visible[i]` holds the account ids agent
/// `i` may see, `counters[i]` the counters its receipts add to.
pub async fn connect_all(
    base: &str,
    tokens: &[String],
    visible: Vec<Vec<String>>,
    counters: Vec<Counters>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<ClientReport>>> {
    let ws_base = base.replace("http://", "ws://");
    let bar = crate::simctl::progress(tokens.len() as u64, "websockets");
    let sockets: Vec<_> = futures::stream::iter(tokens)
        .map(|token| {
            let url = format!("{ws_base}/ws?token={token}");
            let bar = bar.clone();
            async move {
                let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true)
                    .await
                    .context("websocket handshake")?;
                bar.inc(1);
                anyhow::Ok(socket)
            }
        })
        .buffered(CONNECTING)
        .try_collect()
        .await?;
    bar.finish_and_clear();
    Ok(sockets
        .into_iter()
        .zip(visible)
        .zip(counters)
        .map(|((socket, mine), counters)| tokio::spawn(read(socket, mine, counters, stop.clone())))
        .collect())
}

/// A browser-like client: events are a few hundred bytes, so a 4 KiB read
/// buffer, as the server's (tungstenite zero-fills its whole read buffer
/// before every read; the 128 KiB default made that the client's largest
/// cost, and at 16 KiB it was still a tenth of it).
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn read(
    mut socket: Socket,
    mine: Vec<String>,
    (received, opened): Counters,
    mut stop: watch::Receiver<bool>,
) -> ClientReport {
    let mut report = ClientReport::default();
    // An agent sees a few accounts (a leader a few dozen): found by a scan,
    // and messages kept by the account's place in `mine`.
    let mut seen: Vec<SeenIds> = mine.iter().map(|_| SeenIds::default()).collect();
    let mut received_per_account = vec![0u64; mine.len()];
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            _ = stop.changed() => break,
        };
        let text = match frame {
            Some(Ok(WsMessage::Text(text))) => text,
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => {
                report.closed_early = true;
                break;
            }
        };
        let arrived = now_us();
        if !text.starts_with(r#"{"type":"message.new""#) {
            continue;
        }
        let Ok(event) = serde_json::from_str::<NewMessageEvent>(&text) else {
            report.unreadable += 1;
            continue;
        };
        let m = event.data;
        let Some(account) = mine.iter().position(|a| *a == m.account_id) else {
            report.wrong_owner += 1;
            continue;
        };
        // `None` for an opening, which carries no send stamp.
        let sent = if m.text.starts_with(OPENING) {
            None
        } else {
            let Some(sent) = stamp_of(&m.text) else {
                report.unreadable += 1;
                continue;
            };
            Some(sent)
        };
        let Some(first) = seen[account].insert(m.id) else {
            report.unreadable += 1;
            continue;
        };
        if !first {
            report.duplicates += 1;
            continue;
        }
        let Some(sent) = sent else {
            report.openings += 1;
            opened.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        received_per_account[account] += 1;
        report.received += 1;
        received.fetch_add(1, Ordering::Relaxed);
        report.samples.push((sent, arrived.saturating_sub(sent).min(u32::MAX as u64) as u32));
    }
    for (account, count) in mine.into_iter().zip(received_per_account) {
        if count > 0 {
            report.per_account.insert(account, count);
        }
    }
    report
}

/// Message ids an account's client has seen. The simulator numbers each
/// account's messages 1, 2, 3… across its dialogs, as Telegram numbers a
/// user's private messages, so one bit per id tells a repeat: a few hundred
/// bytes per account for a run, where a set of (account, peer, id) held
/// hundreds of megabytes across the clients and rehashed as it grew.
#[derive(Default)]
struct SeenIds(Vec<u64>);

impl SeenIds {
    /// Ids past this are not the simulator's (a run sends far fewer).
    const MAX_ID: i64 = 1 << 28;

    /// Marks `id` seen: `Some(true)` the first time, `Some(false)` after,
    /// `None` for an id the simulator does not hand out.
    fn insert(&mut self, id: i64) -> Option<bool> {
        if !(1..Self::MAX_ID).contains(&id) {
            return None;
        }
        let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
        if word >= self.0.len() {
            self.0.resize((word + 1).next_power_of_two(), 0);
        }
        let first = self.0[word] & bit == 0;
        self.0[word] |= bit;
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::SeenIds;

    #[test]
    fn an_id_is_new_once_and_foreign_ids_are_refused() {
        let mut seen = SeenIds::default();
        assert_eq!(seen.insert(5), Some(true));
        assert_eq!(seen.insert(70_000), Some(true));
        assert_eq!(seen.insert(5), Some(false));
        assert_eq!(seen.insert(70_000), Some(false));
        assert_eq!(seen.insert(6), Some(true));
        assert_eq!(seen.insert(0), None);
        assert_eq!(seen.insert(-3), None);
        assert_eq!(seen.insert(SeenIds::MAX_ID), None);
    }
}
