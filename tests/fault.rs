//! Fault test over the real binary: the server is SIGKILLed in the middle of
//! customer traffic and started again on the same data dir; every message the
//! Telegram simulator sent must then be stored exactly once, and pushed to
//! the admin's socket at most once (the store de-duplicates rows by key, so
//! counting rows alone could not see a message handled twice; a second
//! `message.new` would).
//!
//! Its own test binary because it runs `tgdesk` as a child process (the only
//! way to kill it with no graceful stop: no session saved, no batch acked),
//! against a simulator in this process that outlives both server processes.
//! `TEST_LOG=1` shows the server's logs.

use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tg_sim::{SimConfig, Simulator};
use tgdesk::config::{ENV_ADDR, ENV_ADMIN_PASSWORD, ENV_DATA_DIR, ENV_DEMO, ENV_JWT_SECRET, ENV_NODE_ID, ENV_SIM_URL};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const ADMIN_PASSWORD: &str = "fault-admin-password-1";
const JWT_SECRET: &str = "fault-test-jwt-secret-0123456789";
/// Accounts imported, each with its own customers.
const ACCOUNTS: usize = 20;
/// Customers writing to each account (one dialog each).
const CUSTOMERS: usize = 2;
/// In each round every customer writes one message: 60 × 20 × 2 = 2400 messages.
const ROUNDS: usize = 60;
/// The server is killed once this many rounds were sent...
const KILL_AFTER: usize = 20;
/// ...and started again after this many: 25 messages per dialog arrive while
/// it is down, more than the history synced at connect, so only catching up
/// from the saved update state finds them all.
const RESTART_AFTER: usize = 45;
/// Bound of every wait on the server.
const PATIENCE: Duration = Duration::from_secs(60);

/// A dialog: the account's phone and the customer's peer id.
type Dialog = (String, i64);

#[path = "support/test_backend.rs"]
mod test_backend;

use test_backend::{aws_env, backend_env, moto_endpoint};

/// The `tgdesk` binary running as a child process; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the binary on `data_dir` and a free port, then waits for `/api/health`.
    async fn start(http: &reqwest::Client, data_dir: &Path, sim_url: &str) -> Self {
        Self::start_with(http, data_dir, sim_url, backend_env(data_dir)).await
    }

    /// [`Server::start`] with the backend settings `backend`.
    async fn start_with(
        http: &reqwest::Client,
        data_dir: &Path,
        sim_url: &str,
        backend: Vec<(&'static str, String)>,
    ) -> Self {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tgdesk"));
        for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("TGDESK_")) {
            command.env_remove(key);
        }
        let logs = || if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() };
        let child = command
            .env(ENV_ADDR, addr.to_string())
            .env(ENV_DATA_DIR, data_dir)
            .env(ENV_DEMO, "0")
            .env(ENV_SIM_URL, sim_url)
            .env(ENV_NODE_ID, "fault-node")
            .env(ENV_ADMIN_PASSWORD, ADMIN_PASSWORD)
            .env(ENV_JWT_SECRET, JWT_SECRET)
            .envs(backend)
            .stdin(Stdio::null())
            .stdout(logs())
            .stderr(logs())
            .spawn()
            .expect("the server binary starts");
        let mut server = Self { child, base: format!("http://{addr}") };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server exited at start with {status} (TEST_LOG=1 shows why)");
            }
            let health = http.get(format!("{}/api/health", server.base)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            assert!(Instant::now() < deadline, "the server was not healthy within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the process with SIGKILL: nothing is flushed, saved or released.
    fn sigkill(mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "the server died before it was killed");
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn get(&self, http: &reqwest::Client, path: &str, token: &str) -> Value {
        let resp = http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    async fn admin_token(&self, http: &reqwest::Client) -> String {
        let body = json!({"tenant": "demo", "username": "admin", "password": ADMIN_PASSWORD});
        let resp = http.post(format!("{}/api/auth/login", self.base)).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "login: {}", resp.status());
        resp.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Returns the ids by phone of the accounts the query string `filter` selects.
    async fn accounts(&self, http: &reqwest::Client, token: &str, filter: &str) -> BTreeMap<String, String> {
        let page = self.get(http, &format!("/api/accounts?limit=500&{filter}"), token).await;
        let items = page["items"].as_array().unwrap().iter();
        items.map(|a| (a["phone"].as_str().unwrap().to_owned(), a["id"].as_str().unwrap().to_owned())).collect()
    }

    /// Returns the ids of a dialog's stored messages, every page.
    async fn stored_ids(&self, http: &reqwest::Client, token: &str, account: &str, peer: i64) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/accounts/{account}/dialogs/{peer}/messages?limit=500");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.get(http, &path, token).await;
            ids.extend(page["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return ids,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How often each message (account, peer, id) was pushed.
type Pushed = HashMap<(String, i64, i64), u32>;

/// Counts every `message.new` an admin's socket gets.
struct PushCounter {
    counts: Arc<Mutex<Pushed>>,
}

impl PushCounter {
    fn new() -> Self {
        Self { counts: Arc::default() }
    }

    /// Listens on a socket of `server` until it closes (the server dies).
    async fn watch(&self, server: &Server, token: &str) -> tokio::task::JoinHandle<()> {
        let url = format!("{}/ws?token={token}", server.base.replace("http://", "ws://"));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the admin's socket connects");
        let counts = self.counts.clone();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = ws.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = frame else { continue };
                let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
                // One event a frame, or an array of them.
                let events = match value {
                    Value::Array(events) => events,
                    event => vec![event],
                };
                for event in events.iter().filter(|e| e["type"] == "message.new") {
                    let data = &event["data"];
                    let key = (
                        data["account_id"].as_str().unwrap_or_default().to_owned(),
                        data["peer"].as_i64().unwrap_or_default(),
                        data["id"].as_i64().unwrap_or_default(),
                    );
                    *counts.lock().unwrap().entry(key).or_default() += 1;
                }
            }
        })
    }

    /// Asserts that no message was pushed twice, and that pushes were seen
    /// (at least `floor` messages: those pushed while no socket listened,
    /// around a kill, are fetched by clients over REST).
    fn assert_each_pushed_at_most_once(&self, floor: usize) {
        let counts = self.counts.lock().unwrap();
        let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            doubled.is_empty(),
            "{} messages pushed more than once: {:?}",
            doubled.len(),
            &doubled[..doubled.len().min(5)]
        );
        assert!(counts.len() >= floor, "only {} messages pushed, expected at least {floor}", counts.len());
    }
}

/// The simulator's control API.
struct Control {
    http: reqwest::Client,
    url: String,
}

impl Control {
    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self.http.post(format!("{}{path}", self.url)).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "POST {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// Has every customer write one message per round to each of its
    /// accounts, counting finished rounds in `rounds`; returns the ids the
    /// simulator gave, per dialog.
    async fn traffic(&self, phones: &[String], rounds: &AtomicUsize) -> BTreeMap<Dialog, Vec<i64>> {
        let mut sent: BTreeMap<Dialog, Vec<i64>> = BTreeMap::new();
        for round in 0..ROUNDS {
            let writes = phones.iter().enumerate().flat_map(|(a, phone)| {
                (0..CUSTOMERS).map(move |c| {
                    let customer = 7_000_000 + (a * CUSTOMERS + c) as i64;
                    let text = format!("round {round} from {customer}");
                    let body = json!({"account_phone": phone, "from": {"user_id": customer}, "text": text});
                    async move { (phone.clone(), self.post("/control/messages", body).await) }
                })
            });
            let replies: Vec<(String, Value)> = futures::stream::iter(writes).buffer_unordered(8).collect().await;
            for (phone, reply) in replies {
                let dialog = (phone, reply["peer"].as_i64().unwrap());
                sent.entry(dialog).or_default().push(reply["message_id"].as_i64().unwrap());
            }
            rounds.store(round + 1, Ordering::SeqCst);
        }
        sent
    }
}

/// Waits (bounded) until the traffic has finished `n` rounds.
async fn rounds_reach(rounds: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while rounds.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < deadline, "the traffic did not reach round {n} within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A simulator with authorized accounts, imported into a server and online there.
struct Stage {
    sim: tg_sim::SimHandle,
    _sim_dir: tempfile::TempDir,
    control: Control,
    http: reqwest::Client,
    phones: Vec<String>,
    token: String,
    account_ids: BTreeMap<String, String>,
}

impl Stage {
    /// Sets the stage with a server on `data_dir` and `backend`, and returns both.
    async fn set(data_dir: &Path, backend: Vec<(&'static str, String)>) -> (Self, Server) {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = Simulator::start(SimConfig::new("127.0.0.1:0".parse().unwrap(), sim_dir.path())).await.unwrap();
        let http = reqwest::Client::new();
        let control = Control { http: http.clone(), url: sim.control_url() };
        let phones: Vec<String> = (1..=ACCOUNTS).map(|i| format!("+1555090{i:04}")).collect();
        let mut csv = String::from("phone,session\n");
        for phone in &phones {
            let created = control.post("/control/accounts", json!({"phone": phone})).await;
            csv.push_str(&format!("{phone},{}\n", created["session"].as_str().unwrap()));
        }
        let server = Server::start_with(&http, data_dir, &control.url, backend).await;
        let token = server.admin_token(&http).await;
        let import = http
            .post(format!("{}/api/accounts/import", server.base))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        let report: Value = import.json().await.unwrap();
        assert_eq!(report["imported"], ACCOUNTS, "{report}");
        let deadline = Instant::now() + PATIENCE;
        while server.accounts(&http, &token, "status=online").await.len() < ACCOUNTS {
            assert!(Instant::now() < deadline, "the accounts were not all online within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let account_ids = server.accounts(&http, &token, "").await;
        (Self { sim, _sim_dir: sim_dir, control, http, phones, token, account_ids }, server)
    }

    /// Asserts that the simulator counted what the traffic `sent`, and that
    /// each dialog stores exactly those ids (waiting, bounded, for the server
    /// to catch up).
    async fn assert_stored_exactly_once(&self, server: &Server, sent: &BTreeMap<Dialog, Vec<i64>>) {
        let http = &self.http;
        let stats: Value =
            http.get(format!("{}/control/stats", self.control.url)).send().await.unwrap().json().await.unwrap();
        assert_eq!(stats["sent_total"], ROUNDS * ACCOUNTS * CUSTOMERS, "{stats}");
        for phone in &self.phones {
            assert_eq!(stats["per_account"][phone], ROUNDS * CUSTOMERS, "{phone}: {stats}");
        }
        assert_eq!(sent.len(), ACCOUNTS * CUSTOMERS, "one dialog per account and customer");
        let expected: BTreeMap<&Dialog, Vec<i64>> = sent
            .iter()
            .map(|(dialog, ids)| {
                let mut ids = ids.clone();
                ids.sort_unstable();
                (dialog, ids)
            })
            .collect();
        let deadline = Instant::now() + PATIENCE * 2;
        loop {
            let mut wrong = Vec::new();
            for (dialog, want) in &expected {
                let (phone, peer) = dialog;
                let mut got = server.stored_ids(http, &self.token, &self.account_ids[phone], *peer).await;
                got.sort_unstable();
                if &got != want {
                    wrong.push(describe(dialog, want, &got));
                }
            }
            if wrong.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "after {PATIENCE:?}, {} of {} dialogs do not store exactly the messages sent:\n{}",
                wrong.len(),
                expected.len(),
                wrong.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_traffic_stores_every_message_exactly_once_after_restart() {
    // Arrange
    let data_dir = tempfile::tempdir().unwrap();
    let (stage, server) = Stage::set(data_dir.path(), backend_env(data_dir.path())).await;

    // Act: traffic; the server is killed during it and started again while customers still write.
    let pushes = PushCounter::new();
    let before = pushes.watch(&server, &stage.token).await;
    let rounds = AtomicUsize::new(0);
    let (sent, (server, after)) = tokio::join!(stage.control.traffic(&stage.phones, &rounds), async {
        rounds_reach(&rounds, KILL_AFTER).await;
        server.sigkill();
        rounds_reach(&rounds, RESTART_AFTER).await;
        let server = Server::start(&stage.http, data_dir.path(), &stage.control.url).await;
        // The same JWT secret: the admin's token still counts.
        let after = pushes.watch(&server, &stage.token).await;
        (server, after)
    });

    // Assert
    stage.assert_stored_exactly_once(&server, &sent).await;
    before.await.unwrap();
    pushes.assert_each_pushed_at_most_once(KILL_AFTER * ACCOUNTS * CUSTOMERS / 2);
    after.abort();
    drop(server);
    stage.sim.shutdown().await;
}

/// Names what a dialog lacks, repeats or has in excess.
fn describe(dialog: &Dialog, want: &[i64], got: &[i64]) -> String {
    let missing: Vec<i64> = want.iter().copied().filter(|id| !got.contains(id)).collect();
    let extra: Vec<i64> = got.iter().copied().filter(|id| !want.contains(id)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let repeated: Vec<i64> = got.iter().copied().filter(|id| !seen.insert(*id)).collect();
    format!(
        "  {} / peer {}: {} stored of {}; missing {missing:?}, repeated {repeated:?}, not sent {extra:?}",
        dialog.0,
        dialog.1,
        got.len(),
        want.len()
    )
}

/// A TCP proxy in front of the moto server that a test can take down: while
/// down it refuses every new connection and has cut the open ones, as an
/// AWS endpoint out of reach would (moto keeps its state only in memory, so
/// the server itself must keep running).
struct Proxy {
    url: String,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<tokio::task::JoinSet<()>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy on a free loopback port to `target` (`host:port`).
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(tokio::task::JoinSet::new()));
        let (is_down, conns) = (down.clone(), open.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let target = target.clone();
                conns.lock().unwrap().spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { url, down, open, accept }
    }

    /// Takes the endpoint out of reach: open connections are cut, new ones refused.
    fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.open.lock().unwrap().abort_all();
    }

    /// Brings the endpoint back.
    fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.open.lock().unwrap().abort_all();
    }
}

/// How long AWS stays out of reach in the outage test.
const OUTAGE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_out_of_reach_for_ten_seconds_mid_traffic_loses_and_doubles_nothing() {
    // Arrange: the server on the AWS backend, reaching moto through a proxy.
    let moto = moto_endpoint();
    let proxy = Proxy::start(moto.trim_start_matches("http://").trim_end_matches('/').to_owned()).await;
    let data_dir = tempfile::tempdir().unwrap();
    let (stage, server) = Stage::set(data_dir.path(), aws_env(data_dir.path(), proxy.url.clone())).await;

    // Act: traffic; AWS goes out of reach during it, and comes back while customers still write.
    let pushes = PushCounter::new();
    let watching = pushes.watch(&server, &stage.token).await;
    let rounds = AtomicUsize::new(0);
    let (sent, ()) = tokio::join!(stage.control.traffic(&stage.phones, &rounds), async {
        rounds_reach(&rounds, KILL_AFTER).await;
        proxy.down();
        tokio::time::sleep(OUTAGE).await;
        proxy.up();
    });

    // Assert: the same server, never restarted, stored every message once
    // and pushed none twice.
    stage.assert_stored_exactly_once(&server, &sent).await;
    pushes.assert_each_pushed_at_most_once(KILL_AFTER * ACCOUNTS * CUSTOMERS / 2);
    watching.abort();
    drop(server);
    stage.sim.shutdown().await;
}
