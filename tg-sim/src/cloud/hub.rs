//! Registry of live MTProto connections per account, used to push updates to
//! every connected session of an account as soon as something happens.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::mpsc;

/// Where pushed update bodies are sent: the connection's writer queue.
pub type PushTx = mpsc::UnboundedSender<Vec<u8>>;

/// Live connections grouped by account phone.
#[derive(Debug, Default)]
pub struct Hub {
    conns: Mutex<HashMap<String, Vec<(u64, PushTx)>>>,
}

impl Hub {
    /// Registers connection `conn` as a session of `phone`.
    pub fn register(&self, phone: &str, conn: u64, tx: PushTx) {
        if let Ok(mut map) = self.conns.lock() {
            let list = map.entry(phone.to_string()).or_default();
            list.retain(|(id, _)| *id != conn);
            list.push((conn, tx));
        }
    }

    /// Removes connection `conn` from `phone`'s sessions.
    pub fn unregister(&self, phone: &str, conn: u64) {
        if let Ok(mut map) = self.conns.lock() {
            if let Some(list) = map.get_mut(phone) {
                list.retain(|(id, _)| *id != conn);
                if list.is_empty() {
                    map.remove(phone);
                }
            }
        }
    }

    /// Sends `body` to every session of `phone` except `exclude`.
    pub fn push(&self, phone: &str, body: &[u8], exclude: Option<u64>) {
        if let Ok(map) = self.conns.lock() {
            if let Some(list) = map.get(phone) {
                for (id, tx) in list {
                    tracing::trace!(conn = id, len = body.len(), "push");
                    if Some(*id) != exclude {
                        let _ = tx.send(body.to_vec());
                    }
                }
            }
        }
    }

    /// Returns true when `phone` has at least one live session.
    pub fn is_online(&self, phone: &str) -> bool {
        self.conns.lock().map(|m| m.get(phone).is_some_and(|l| !l.is_empty())).unwrap_or(false)
    }

    /// Returns the number of live sessions across all accounts.
    pub fn sessions(&self) -> usize {
        self.conns.lock().map(|m| m.values().map(Vec::len).sum()).unwrap_or(0)
    }
}
