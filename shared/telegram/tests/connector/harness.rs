//! Test harness: an in-process simulator, its control API, and a
//! `GrammersConnector` configured for tests (2 s flood cap, fast pacing).

use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;
use tg_sim::{SimConfig, SimHandle, Simulator};
use tgdesk_core::domain::{AccountId, Phone};
use tgdesk_core::ports::{TelegramConnector, TelegramSession, TelegramUpdate};
use tgdesk_telegram::{GrammersConfig, GrammersConnector};

/// A running simulator plus a connector pointed at it.
pub struct Harness {
    pub sim: SimHandle,
    pub http: reqwest::Client,
    pub connector: GrammersConnector,
    _dir: tempfile::TempDir,
}

fn init_log() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

impl Harness {
    /// Starts a simulator on port 0 in a fresh data dir.
    pub async fn start() -> Harness {
        init_log();
        let dir = tempfile::tempdir().expect("data dir");
        let mut config = SimConfig::new("127.0.0.1:0".parse().expect("addr"), dir.path());
        config.mtproto_addr = Some("127.0.0.1:0".parse().expect("addr"));
        let sim = Simulator::start(config).await.expect("simulator starts");
        let mut tg = GrammersConfig::new(12345, SecretString::from("tg-sim-any-hash"));
        tg.flood_wait_cap = Duration::from_secs(2);
        tg.send_rate = 50.0;
        tg.send_burst = 50;
        Harness { sim, http: reqwest::Client::new(), connector: GrammersConnector::new(tg), _dir: dir }
    }

    /// Stops the simulator.
    pub async fn stop(self) {
        self.sim.shutdown().await;
    }

    /// Returns the connector as the port.
    pub fn port(&self) -> &dyn TelegramConnector {
        &self.connector
    }

    /// POSTs JSON to the control API and returns the body, asserting success.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{}", self.sim.control_url(), path))
            .json(&body)
            .send()
            .await
            .expect("control request");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path} -> {status}: {v}");
        v
    }

    /// GETs from the control API.
    pub async fn get(&self, path: &str) -> Value {
        let resp = self.http.get(format!("{}{}", self.sim.control_url(), path)).send().await.expect("control request");
        resp.json().await.unwrap_or(Value::Null)
    }

    /// Creates an account in the fake cloud and returns its imported session bytes.
    pub async fn account(&self, phone: &str, password: Option<&str>, authorized: bool) -> Vec<u8> {
        let mut body = json!({ "phone": phone, "authorized": authorized });
        if let Some(pw) = password {
            body["password"] = json!(pw);
        }
        let v = self.post("/control/accounts", body).await;
        let string = v["session"].as_str().expect("session string");
        self.port().import_session_string(string).expect("tg-sim strings import")
    }

    /// Connects an account's session bytes.
    pub async fn connect(&self, session: &[u8]) -> Box<dyn TelegramSession> {
        self.port().connect(&AccountId::generate(), session).await.expect("connects")
    }

    /// Creates an authorised account, connects it and waits until its update stream is live.
    pub async fn online(&self, phone: &str) -> Box<dyn TelegramSession> {
        let before = self.calls("updates.getState").await;
        let session = self.connect(&self.account(phone, None, true).await).await;
        self.wait_calls("updates.getState", before + 1).await;
        session
    }

    /// A customer writes to `phone`; returns (peer, message id).
    pub async fn customer_writes(&self, phone: &str, user_id: i64, text: &str) -> (i64, i64) {
        let from = json!({ "user_id": user_id, "name": format!("Customer {user_id}") });
        let v = self.post("/control/messages", json!({ "account_phone": phone, "from": from, "text": text })).await;
        (v["peer"].as_i64().expect("peer"), v["message_id"].as_i64().expect("id"))
    }

    /// A customer posts in a group or channel; returns (peer, message id).
    pub async fn customer_posts(&self, phone: &str, chat: i64, user_id: i64, text: &str) -> (i64, i64) {
        let body = json!({ "account_phone": phone, "from": { "user_id": user_id }, "text": text, "chat": chat });
        let v = self.post("/control/messages", body).await;
        (v["peer"].as_i64().expect("peer"), v["message_id"].as_i64().expect("id"))
    }

    /// Makes a channel with `phone` in it; returns its marked id.
    pub async fn channel(&self, phone: &str, title: &str) -> i64 {
        let v = self.post("/control/chats", json!({ "kind": "channel", "title": title, "members": [phone] })).await;
        v["peer"].as_i64().expect("channel peer")
    }

    /// Returns what `phone` sent, as the control API reports it.
    pub async fn sent(&self, phone: &str) -> Vec<Value> {
        let v = self.get(&format!("/control/sent?account_phone={}", phone.replace('+', "%2B"))).await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// Returns the login code the cloud "sent" to `phone`.
    pub async fn login_code(&self, phone: &str) -> String {
        let v = self.get(&format!("/control/login-code?phone={}", phone.replace('+', "%2B"))).await;
        v["code"].as_str().expect("a login code").to_string()
    }

    /// Returns how often the simulator served `method`.
    pub async fn calls(&self, method: &str) -> u64 {
        self.get("/control/stats").await["rpc_calls"][method].as_u64().unwrap_or(0)
    }

    /// Waits until the simulator has served `method` `n` times in total.
    pub async fn wait_calls(&self, method: &str, n: u64) {
        for _ in 0..250 {
            if self.calls(method).await >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{method} was not called {n} times");
    }
}

/// Returns a phone parsed for the port.
pub fn phone(raw: &str) -> Phone {
    Phone::parse(raw).expect("phone")
}

/// Waits up to `secs` for the next update about messages (the users that
/// come with them are checked by their own case, see [`next_any_update`]).
pub async fn next_update(session: &dyn TelegramSession, secs: u64) -> TelegramUpdate {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, session.next_update()).await {
            Ok(Ok(TelegramUpdate::Users(_))) => continue,
            Ok(Ok(u)) => return u,
            Ok(Err(e)) => panic!("update stream failed: {e}"),
            Err(_) => panic!("no update within {secs}s"),
        }
    }
}

/// Waits up to `secs` for the next update of any kind.
pub async fn next_any_update(session: &dyn TelegramSession, secs: u64) -> TelegramUpdate {
    match tokio::time::timeout(Duration::from_secs(secs), session.next_update()).await {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => panic!("update stream failed: {e}"),
        Err(_) => panic!("no update within {secs}s"),
    }
}

/// Returns the next update about messages if one arrives within `ms`.
pub async fn try_next_update(session: &dyn TelegramSession, ms: u64) -> Option<TelegramUpdate> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    loop {
        match tokio::time::timeout_at(deadline, session.next_update()).await.ok().and_then(Result::ok) {
            Some(TelegramUpdate::Users(_)) => continue,
            other => return other,
        }
    }
}
