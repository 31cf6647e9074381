//! The fake Telegram cloud: the state every connection and the control API
//! share, its persistence in the data dir, and the live-session hub.

pub mod accounts;
pub mod changes;
pub mod delivery;
pub mod difference;
pub mod hub;
pub mod model;
mod persist;
pub mod render;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{info, warn};

use crate::error::SimError;
use crate::srp::Challenge;
use hub::Hub;
use model::CloudData;

/// Returns the current unix time in seconds.
pub fn now() -> i32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i32).unwrap_or(0)
}

/// State that only lives while the process runs (codes, challenges, uploads, knobs).
#[derive(Debug, Default)]
pub struct Runtime {
    /// Login code and its hash per phone, from `auth.sendCode`.
    pub codes: HashMap<String, (String, String)>,
    /// Outstanding SRP challenges by srp_id: the phone and the secret.
    pub challenges: HashMap<i64, (String, Challenge)>,
    /// Keys that passed the code step and now owe the 2FA password, with the phone.
    pub password_pending: HashMap<i64, String>,
    /// File parts uploaded per (key id, file id).
    pub uploads: HashMap<(i64, i64), BTreeMap<i32, Vec<u8>>>,
    /// One-shot refusal (FLOOD_WAIT_X, PEER_FLOOD, …) per (phone, method name).
    pub flood: HashMap<(String, String), crate::rpc::RpcErr>,
    /// Accounts whose next push skips a pts slot.
    pub gaps: HashSet<String>,
    /// RPC calls served, by method name (for tests and `/control/stats`).
    pub calls: BTreeMap<String, u64>,
    /// Account phone by self user id (an index over `data.accounts`).
    pub user_phone: HashMap<i64, String>,
    /// Update bodies waiting to be pushed: (phone, body, connection to skip).
    pub pushes: Vec<(String, Vec<u8>, Option<u64>)>,
}

/// The shared mutable state: persisted data plus runtime-only parts.
#[derive(Debug, Default)]
pub struct State {
    /// What survives restarts.
    pub data: CloudData,
    /// What does not.
    pub rt: Runtime,
    /// Whether `data` changed since the last snapshot.
    pub dirty: bool,
}

/// The cloud shared by the MTProto server, the control API and the traffic generator.
#[derive(Debug)]
pub struct Cloud {
    state: Mutex<State>,
    /// Live sessions, for pushes.
    pub hub: Hub,
    data_file: PathBuf,
    /// Append-only journal of accounts and key logins, durable at once.
    journal: Mutex<Option<std::fs::File>>,
    /// The MTProto address session strings and `help.getConfig` advertise.
    pub mtproto_addr: SocketAddrV4,
}

impl Cloud {
    /// Loads the snapshot from `data_dir` (or starts empty) for a server on `mtproto_addr`.
    pub fn open(data_dir: &std::path::Path, mtproto_addr: SocketAddrV4) -> Result<Self, SimError> {
        std::fs::create_dir_all(data_dir)?;
        let data_file = data_dir.join("tg-sim-state.jsonl");
        let journal_file = data_dir.join("tg-sim-journal.jsonl");
        let mut data = persist::load(&data_file)?;
        persist::replay(&journal_file, &mut data)?;
        let journal = std::fs::OpenOptions::new().create(true).append(true).open(&journal_file)?;
        info!(accounts = data.accounts.len(), keys = data.keys.len(), "cloud state loaded");
        let rt = Runtime {
            user_phone: data.accounts.values().map(|a| (a.user_id, a.phone.clone())).collect(),
            ..Runtime::default()
        };
        Ok(Self {
            state: Mutex::new(State { data, rt, dirty: false }),
            hub: Hub::default(),
            data_file,
            journal: Mutex::new(Some(journal)),
            mtproto_addr,
        })
    }

    /// Locks the state; a poisoned lock is recovered since every mutation is self-contained.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the state, then pushes the updates it produced while still
    /// holding the lock, so every session sees pts in order.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.lock();
        let r = f(&mut st);
        for (phone, body, exclude) in st.rt.pushes.drain(..) {
            self.hub.push(&phone, &body, exclude);
        }
        r
    }

    /// Saves now, logging instead of failing (used on hot paths and at shutdown).
    pub fn save_logged(&self) {
        if let Err(e) = self.save_if_dirty() {
            warn!(error = %e, "saving cloud state failed");
        }
    }
}
