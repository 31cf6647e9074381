//! Test harness: an in-process simulator on port 0 with a fresh data dir, a
//! control API client, and grammers clients built from session strings with
//! explicit `ConnectionParams` (the default spawns processes).

use std::net::SocketAddrV6;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use grammers_client::sender::{ConnectionParams, NoRetries, UpdatesConfiguration};
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::{DcOption, PeerAuth, PeerId, PeerInfo};
use grammers_client::session::updates::UpdatesLike;
use grammers_client::session::SessionData;
use grammers_client::update::Update;
use grammers_client::{Client, SenderPool};
use serde_json::{json, Value};
use tg_sim::{SessionString, SimConfig, SimHandle, Simulator};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Any api_id works: the simulator does not check it.
pub const API_ID: i32 = 12345;

/// Installs a tracing subscriber when TEST_LOG is set.
pub fn init_log() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("TEST_LOG").unwrap_or_default())
            .with_test_writer()
            .try_init();
    }
}

/// A running simulator plus an HTTP client for its control API.
pub struct Sim {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    pub dir: PathBuf,
}

/// Returns a fresh, unique data dir.
pub fn fresh_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tg-sim-test-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("create data dir");
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    u64::from(nanos) ^ (N.fetch_add(1, Ordering::Relaxed) << 40)
}

impl Sim {
    /// Starts a simulator on port 0 in a fresh data dir.
    pub async fn start() -> Sim {
        Self::start_in(fresh_dir(), None).await
    }

    /// Starts a simulator in `dir`, optionally on a fixed MTProto address.
    pub async fn start_in(dir: PathBuf, mtproto: Option<std::net::SocketAddr>) -> Sim {
        init_log();
        let handle = Simulator::start(SimConfig {
            control_addr: "127.0.0.1:0".parse().expect("addr"),
            mtproto_addr: Some(mtproto.unwrap_or_else(|| "127.0.0.1:0".parse().expect("addr"))),
            data_dir: dir.clone(),
            traffic: None,
            snapshots: true,
        })
        .await
        .expect("simulator starts");
        Sim { handle, http: reqwest::Client::new(), dir }
    }

    /// POSTs JSON and returns (status, body).
    pub async fn post_status(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{}", self.handle.control_url(), path))
            .json(&body)
            .send()
            .await
            .expect("control request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// POSTs JSON and returns the body, asserting success.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post_status(path, body).await;
        assert!((200..300).contains(&status), "POST {path} -> {status}: {v}");
        v
    }

    /// GETs and returns (status, body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp =
            self.http.get(format!("{}{}", self.handle.control_url(), path)).send().await.expect("control request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Creates an account and returns its session string.
    pub async fn account(&self, phone: &str, password: Option<&str>, authorized: bool) -> String {
        let mut body = json!({ "phone": phone, "authorized": authorized });
        if let Some(pw) = password {
            body["password"] = json!(pw);
        }
        let v = self.post("/control/accounts", body).await;
        assert_eq!(v["phone"], phone);
        v["session"].as_str().expect("session string").to_string()
    }

    /// A customer writes to `phone`; returns (peer, message_id).
    pub async fn customer_writes(&self, phone: &str, user_id: i64, text: &str) -> (i64, i32) {
        let v = self.post("/control/messages", json!({ "account_phone": phone, "from": { "user_id": user_id, "name": format!("Customer {user_id}") }, "text": text })).await;
        (v["peer"].as_i64().expect("peer"), v["message_id"].as_i64().expect("id") as i32)
    }

    /// Returns how often the simulator served `method`.
    pub async fn calls(&self, method: &str) -> u64 {
        let (_, v) = self.get("/control/stats").await;
        v["rpc_calls"][method].as_u64().unwrap_or(0)
    }

    /// Stops the simulator and removes its data dir.
    pub async fn stop(self) {
        self.handle.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Returns grammers session data for a tg-sim session string (home DC, address, key).
pub fn session_data(session: &str) -> SessionData {
    let s = SessionString::decode(session).expect("valid session string");
    let dc = i32::from(s.dc_id);
    let option = DcOption {
        id: dc,
        ipv4: s.addr,
        ipv6: SocketAddrV6::new(s.addr.ip().to_ipv6_mapped(), s.addr.port(), 0, 0),
        auth_key: Some(s.auth_key),
    };
    SessionData { home_dc: dc, dc_options: [(dc, option)].into_iter().collect(), ..SessionData::default() }
}

/// Marks `user_id` (with `access_hash`) as the session's self user, as a
/// connector does after the first `get_me`, so `updates.getState` runs.
pub fn set_self(data: &mut SessionData, user_id: i64, access_hash: i64) {
    data.peer_infos.insert(
        PeerId::self_user(),
        PeerInfo::User {
            id: user_id,
            auth: Some(PeerAuth::from_hash(access_hash)),
            bot: Some(false),
            is_self: Some(true),
        },
    );
}

/// A grammers client plus what it needs to stream updates.
pub struct Tg {
    pub client: Client,
    pub session: Arc<MemorySession>,
    pub updates: Option<mpsc::Receiver<UpdatesLike>>,
    runner: JoinHandle<()>,
}

/// Turns the (tgdesk-patched) pool's boxed update channel into the plain one
/// grammers-client's `stream_updates` takes.
fn unboxed(mut boxed: mpsc::Receiver<Box<UpdatesLike>>) -> mpsc::Receiver<UpdatesLike> {
    let (tx, rx) = mpsc::channel(10_000);
    tokio::spawn(async move {
        while let Some(updates) = boxed.recv().await {
            if tx.send(*updates).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Returns the explicit connection parameters every test uses.
pub fn params() -> ConnectionParams {
    ConnectionParams {
        device_model: "tg-sim-test".into(),
        system_version: "1".into(),
        app_version: "0.1".into(),
        system_lang_code: "en".into(),
        lang_code: "en".into(),
        use_ipv6: false,
        retry_policy: Box::new(NoRetries),
        updates_channel_capacity: NonZeroUsize::new(10_000).expect("non-zero"),
        __non_exhaustive: (),
    }
}

impl Tg {
    /// Connects a client over an existing session.
    pub fn connect(session: Arc<MemorySession>) -> Tg {
        let pool = SenderPool::with_configuration(session.clone(), API_ID, params());
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        Tg { client, session, updates: Some(unboxed(pool.updates)), runner }
    }

    /// Connects a client from session data.
    pub fn from_data(data: SessionData) -> Tg {
        Self::connect(Arc::new(MemorySession::from(data)))
    }

    /// Starts streaming updates (catching up from the saved state if `catch_up`).
    pub async fn stream(&mut self, catch_up: bool) -> grammers_client::client::UpdateStream {
        let rx = self.updates.take().expect("updates already streamed");
        self.client.stream_updates(rx, UpdatesConfiguration { catch_up }).await.expect("stream updates")
    }

    /// Disconnects and waits for the sender pool to stop.
    pub async fn stop(self) {
        self.client.disconnect();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.runner).await;
    }
}

/// Updates polled in the background, as an application would, so the client
/// is connected (and has run updates.getState) before the test writes.
pub struct Listener {
    rx: mpsc::UnboundedReceiver<Update>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Tg {
    /// Starts polling updates in the background.
    pub async fn listen(&mut self, catch_up: bool) -> Listener {
        let mut stream = self.stream(catch_up).await;
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, mut stop_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    u = stream.next() => match u {
                        Ok(u) => { let _ = tx.send(u); }
                        Err(_) => break,
                    },
                    _ = &mut stop_rx => break,
                }
            }
            let _ = stream.sync_update_state().await;
        });
        Listener { rx, stop: Some(stop), task }
    }
}

impl Listener {
    /// Waits for the next update of any kind, up to `secs`.
    pub async fn next_update(&mut self, secs: u64) -> Update {
        match tokio::time::timeout(Duration::from_secs(secs), self.rx.recv()).await {
            Ok(Some(u)) => u,
            Ok(None) => panic!("update stream ended"),
            Err(_) => panic!("no update within {secs}s"),
        }
    }

    /// Waits for the next new message, up to `secs`.
    pub async fn next_message(&mut self, secs: u64) -> grammers_client::update::Message {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).as_secs().max(1);
            if let Update::NewMessage(m) = self.next_update(left).await {
                return m;
            }
        }
    }

    /// Returns the next update if one arrives within `ms`.
    pub async fn try_next(&mut self, ms: u64) -> Option<Update> {
        tokio::time::timeout(Duration::from_millis(ms), self.rx.recv()).await.ok().flatten()
    }

    /// Stops polling and saves the update state into the session.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
    }
}

impl Sim {
    /// Waits until the simulator has answered `n` updates.getState calls in total.
    pub async fn wait_get_state(&self, n: u64) {
        for _ in 0..200 {
            if self.calls("updates.getState").await >= n {
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("updates.getState was never called");
    }
}

/// Connects `session`, learns the self user with get_me and returns a client
/// whose session holds it, ready to stream live updates.
pub async fn logged_in(session: &str) -> (Tg, i64) {
    let tg = Tg::from_data(session_data(session));
    let me = tg.client.get_me().await.expect("get_me");
    let id = me.id().bare_id().expect("user id");
    let hash = me.to_ref().await.expect("ref").expect("self ref").auth.hash();
    tg.stop().await;
    let mut data = session_data(session);
    set_self(&mut data, id, hash);
    (Tg::from_data(data), id)
}
