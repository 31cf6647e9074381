//! Spawning the server and talking to it.

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use tgdesk::config::{Backend, ServerConfig};
use tgdesk::App;
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef";
pub const PASSWORD: &str = "agent-password-1";

/// A running server with its own data dir.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub desk: tgdesk_core::usecases::Desk,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }
}

pub fn config_for(dir: &std::path::Path) -> ServerConfig {
    let mut config = ServerConfig::for_dir(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap());
    config.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    config.operator_token = Some(SecretString::from(OPERATOR_TOKEN));
    config.jwt_secret = Some(SecretString::from(JWT_SECRET));
    on_test_backend(&mut config, dir);
    config
}

/// Puts `config` on the AWS backend when the tests run there.
pub fn on_test_backend(config: &mut ServerConfig, dir: &std::path::Path) {
    if crate::test_backend::on_aws() {
        config.backend = Backend::Aws;
        config.aws.endpoint = Some(crate::test_backend::moto_endpoint());
        config.aws.create = true;
        config.aws.prefix = crate::test_backend::prefix_for(dir);
    }
}

pub use crate::test_backend::backend_env;

/// Starts the server on port 0 with a fresh data dir.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    spawn_in(dir).await
}

/// Sends server logs to the test output when `TEST_LOG` is set.
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt().with_env_filter("debug").with_test_writer().init();
        }
    });
}

/// Starts the server on an existing data dir.
pub async fn spawn_in(dir: tempfile::TempDir) -> TestApp {
    let config = config_for(dir.path());
    spawn_with(dir, config).await
}

/// Starts the server without a session fleet, so tests see the commands queue as the fleet would.
pub async fn spawn_without_fleet() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.fleet = false;
    spawn_with(dir, config).await
}

/// Starts the server with `config` on `dir`.
pub async fn spawn_with(dir: tempfile::TempDir, config: ServerConfig) -> TestApp {
    init_logging();
    let app = App::build(config).await.expect("server builds");
    let desk = app.desk.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(app.serve(listener, async {
        let _ = rx.await;
    }));
    TestApp { base, http: reqwest::Client::new(), desk, shutdown: Some(tx), task: Some(task), dir }
}

impl TestApp {
    /// Stops the server, waits for it, and returns its data dir.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    /// Sends a request with an optional token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends a raw body with a content type.
    pub async fn post_raw(&self, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let resp = self
            .http
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// Imports `body` and returns the report, following the job when the
    /// import outlasts the server's wait (202), as a client must.
    pub async fn import(&self, token: &str, content_type: &str, body: Vec<u8>) -> Value {
        let reply = self.post_raw("/api/accounts/import", token, content_type, body).await;
        if reply.status != StatusCode::ACCEPTED {
            return reply.expect(200);
        }
        let path = format!("/api/imports/{}", reply.body["id"].as_str().unwrap());
        for _ in 0..1_200 {
            let job = self.get(&path, token).await.expect(200);
            match job["state"].as_str().unwrap() {
                "done" => return job["report"].clone(),
                "failed" => panic!("the import failed: {job}"),
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        panic!("the import at {path} did not finish within two minutes");
    }

    /// Sends a presigned request as a browser would: method, URL (this
    /// server's origin when relative) and the headers as given, but no
    /// credentials (the signature is the credential).
    pub async fn send_presigned(&self, request: &Value, body: Vec<u8>) -> StatusCode {
        let url = request["url"].as_str().unwrap();
        let url = if url.starts_with('/') { format!("{}{url}", self.base) } else { url.to_owned() };
        let method = Method::from_bytes(request["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut send = self.http.request(method, url).body(body);
        for (name, value) in request["headers"].as_object().unwrap() {
            if name != "content-length" {
                send = send.header(name, value.as_str().unwrap());
            }
        }
        send.send().await.unwrap().status()
    }

    /// Waits up to 10 s for the blob at `key` to be deleted (a job deletes
    /// its files after it writes its end).
    pub async fn blob_deleted(&self, key: &str) -> bool {
        for _ in 0..100 {
            match self.desk.ports().blobs.get(key).await {
                Err(e) if e.kind == tgdesk_core::ports::PortErrorKind::NotFound => return true,
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        false
    }

    /// Logs in and returns the token.
    pub async fn login(&self, tenant: &str, username: &str, password: &str) -> String {
        let body = json!({"tenant": tenant, "username": username, "password": password});
        let reply = self.call(Method::POST, "/api/auth/login", None, Some(body)).await.expect(200);
        reply["token"].as_str().unwrap().to_owned()
    }

    /// The demo tenant's admin token.
    pub async fn admin(&self) -> String {
        self.login("demo", "admin", ADMIN_PASSWORD).await
    }

    /// Creates a user and returns its id.
    pub async fn create_user(&self, token: &str, username: &str, role: &str, leader: Option<&str>) -> String {
        let mut body = json!({"username": username, "password": PASSWORD, "role": role});
        if let Some(l) = leader {
            body["leader_id"] = json!(l);
        }
        self.post("/api/agents", token, body).await.expect(201)["id"].as_str().unwrap().to_owned()
    }

    /// Creates an account and returns its id.
    pub async fn create_account(&self, token: &str, phone: &str, owner: Option<&str>) -> String {
        let mut body = json!({"phone": phone});
        if let Some(o) = owner {
            body["owner_id"] = json!(o);
        }
        self.post("/api/accounts", token, body).await.expect(201)["id"].as_str().unwrap().to_owned()
    }

    /// Creates a tenant through the operator API and returns its admin token.
    pub async fn create_tenant(&self, name: &str) -> String {
        let body = json!({"name": name, "admin_username": "boss", "admin_password": ADMIN_PASSWORD});
        self.call(Method::POST, "/api/operator/tenants", Some(OPERATOR_TOKEN), Some(body)).await.expect(201);
        self.login(name, "boss", ADMIN_PASSWORD).await
    }
}

/// Collects `items[*][field]` of a list reply as strings.
pub fn field_list(body: &Value, field: &str) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items array")
        .iter()
        .map(|i| match &i[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Writes a dialog with `n` incoming messages (ids 1..=n, one minute apart
/// from `start`) straight into the store, as ingest would.
pub async fn seed_dialog(
    app: &TestApp,
    tenant: &str,
    account: &str,
    peer: i64,
    n: i64,
    start: chrono::DateTime<chrono::Utc>,
) {
    let tenant = tgdesk_core::domain::TenantId::parse(tenant).unwrap();
    let messages: Vec<_> = (1..=n)
        .map(|id| {
            let mut m = customer_message(account, peer, id, &format!("message {id} from {peer}"));
            m.date = start + chrono::Duration::minutes(id);
            m
        })
        .collect();
    app.desk.ports().writer.ingest_messages(&tenant, &messages).await.expect("seeded");
}

/// Returns an incoming text message from customer `peer` to `account`, dated now.
pub fn customer_message(account: &str, peer: i64, id: i64, text: &str) -> tgdesk_core::domain::Message {
    tgdesk_core::domain::Message {
        account_id: tgdesk_core::domain::AccountId::parse(account).unwrap(),
        peer,
        id,
        sender_id: Some(peer),
        sender_name: Some(format!("Customer {peer}")),
        outgoing: false,
        date: chrono::Utc::now(),
        text: text.into(),
        entities: json!([]),
        media: None,
        reply_to: None,
        edited_at: None,
        deleted: false,
        tags: Default::default(),
    }
}
