//! A server wired to a Telegram simulator, with agents and imported accounts,
//! for tests that need real sessions (login, edits, media, read marks).

use crate::helpers::*;
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use tg_sim::{SimConfig, SimHandle, Simulator};
use tokio_tungstenite::tungstenite;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The server, its simulator, and the agents `alice` (owning every account) and `bruno`.
pub struct SimDesk {
    pub app: TestApp,
    pub sim: SimHandle,
    pub control: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub alice: String,
    pub bruno: String,
    _sim_dir: tempfile::TempDir,
}

/// One simulator account to import: its phone, `create` body extras, and
/// how many messages customer 9100 wrote to it (a day ago) before the desk knew it.
pub struct SimAccount {
    pub phone: &'static str,
    pub extra: Value,
    pub history: usize,
}

/// The customer who wrote the accounts' earlier history.
pub const HISTORY_CUSTOMER: i64 = 9100;

impl SimDesk {
    /// Starts the simulator and the server, creates the accounts on the
    /// simulator and imports them with their session strings, owned by alice.
    pub async fn start(accounts: &[SimAccount]) -> (Self, Vec<String>) {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = Simulator::start(SimConfig::new("127.0.0.1:0".parse().unwrap(), sim_dir.path())).await.unwrap();
        let control = sim.control_url();
        let http = reqwest::Client::new();
        let mut csv = String::from("phone,owner,session\n");
        for a in accounts {
            let mut body = json!({"phone": a.phone});
            if let (Some(body), Some(extra)) = (body.as_object_mut(), a.extra.as_object()) {
                body.extend(extra.clone());
            }
            let session = sim_session(&http, &control, body).await;
            csv.push_str(&format!("{},alice,{session}\n", a.phone));
            let day_ago = chrono::Utc::now().timestamp() - 86_400;
            for i in 0..a.history {
                let body = json!({"account_phone": a.phone, "from": {"user_id": HISTORY_CUSTOMER, "name": "Old Customer"},
                    "text": format!("old {i}"), "date": day_ago + i as i64});
                let resp = http.post(format!("{control}/control/messages")).json(&body).send().await.unwrap();
                assert!(resp.status().is_success(), "history message {i}: {}", resp.status());
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_for(dir.path());
        config.sim_url = Some(control.clone());
        let app = spawn_with(dir, config).await;
        let admin = app.admin().await;
        app.create_user(&admin, "alice", "agent", None).await;
        app.create_user(&admin, "bruno", "agent", None).await;
        let report = app.post_raw("/api/accounts/import", &admin, "text/csv", csv.into_bytes()).await.expect(200);
        assert_eq!(report["imported"].as_u64(), Some(accounts.len() as u64), "{report}");
        let alice = app.login("demo", "alice", PASSWORD).await;
        let bruno = app.login("demo", "bruno", PASSWORD).await;
        let listed = app.get("/api/accounts?limit=500", &alice).await.expect(200);
        let ids = accounts
            .iter()
            .map(|a| {
                let item = listed["items"].as_array().unwrap().iter().find(|i| i["phone"] == a.phone).unwrap();
                item["id"].as_str().unwrap().to_owned()
            })
            .collect();
        (Self { app, sim, control, http, admin, alice, bruno, _sim_dir: sim_dir }, ids)
    }

    /// Waits (up to 30 s) until the account has `status`; returns the account.
    pub async fn wait_status(&self, account: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            last = self.app.get(&format!("/api/accounts/{account}"), &self.admin).await.expect(200);
            if last["status"] == status {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("account {account} never became {status}: {last}");
    }

    /// Calls the simulator's control API.
    pub async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.control);
        let req = match body {
            Some(b) => self.http.post(url).json(&b),
            None => self.http.get(url),
        };
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "control {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// Polls `path` (as admin) until `check` holds on the body, up to 20 s.
    pub async fn wait_for(&self, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            last = self.app.get(path, &self.admin).await.body;
            if check(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what} did not happen; last {path}: {last}");
    }

    /// Opens a WebSocket for `token`.
    pub async fn ws(&self, token: &str) -> Ws {
        ws(&self.app, token).await
    }

    pub async fn stop(self) {
        drop(self.app);
        self.sim.shutdown().await;
    }
}

/// Creates an account in the simulator (`body` as `POST /control/accounts`
/// takes it) and returns its session string.
pub async fn sim_session(http: &reqwest::Client, control: &str, body: Value) -> String {
    let resp = http.post(format!("{control}/control/accounts")).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "creating {body}: {}", resp.status());
    let created: Value = resp.json().await.unwrap();
    created["session"].as_str().expect("a session string").to_owned()
}

/// Opens a WebSocket to `app` for `token`.
pub async fn ws(app: &TestApp, token: &str) -> Ws {
    let url = format!("{}/ws?token={token}", app.base.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url).await.expect("websocket").0
}

/// Collects the data of events of `kind` until `n` arrived or 20 s passed.
pub async fn events(ws: &mut Ws, kind: &str, n: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < n {
        let t = match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(tungstenite::Message::Text(t)))) => t,
            // Pings (the server's keep-alive) are answered by the client library.
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        let event: Value = serde_json::from_str(&t).unwrap();
        if event["type"] == kind {
            seen.push(event["data"].clone());
        }
    }
    seen
}
