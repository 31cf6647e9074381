//! A stand-in cluster for request tests: an HTTP server on loopback that
//! records every request (method, path, query, headers, body) and answers each with
//! the next scripted reply, a recorded OpenSearch response from
//! `tests/fixtures/`. A request nobody scripted gets a 599, so a test that
//! sends more than it expects fails on the reply, and `requests()` shows
//! what was sent.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tgdesk_opensearch::{OpenSearchConfig, OpenSearchIndex, RetryPolicy};

/// The tenant of every request test.
pub const TENANT: &str = "acme";
/// Two accounts the fixtures name.
pub const ACCOUNT_A: &str = "acc_01hq3kz7m9x2c4v6b8n0p1r3t5";
pub const ACCOUNT_B: &str = "acc_01hq3kz7m9x2c4v6b8n0p1r3t6";

/// Returns the text of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The query string, `""` when none.
    pub query: String,
    pub body: String,
    /// Headers as received, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    /// The body as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} {}: body is not JSON: {e}", self.method, self.path))
    }

    /// The body as NDJSON, one document per line.
    pub fn ndjson(&self) -> Vec<Value> {
        assert!(self.body.ends_with('\n'), "NDJSON ends with a newline");
        self.body.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
    }

    /// The value of header `name` (lower case), `""` when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    /// `METHOD /path?query`, for comparing the sequence of requests.
    pub fn line(&self) -> String {
        match self.query.as_str() {
            "" => format!("{} {}", self.method, self.path),
            q => format!("{} {}?{q}", self.method, self.path),
        }
    }
}

#[derive(Default)]
struct Script {
    requests: Mutex<Vec<Recorded>>,
    replies: Mutex<VecDeque<(u16, String)>>,
}

/// The stand-in cluster.
#[derive(Clone)]
pub struct Cluster {
    script: Arc<Script>,
    /// Its base URL.
    pub url: String,
}

async fn answer(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let headers =
        headers.iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect();
    script.requests.lock().unwrap().push(Recorded {
        headers,
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        body: String::from_utf8(body.to_vec()).expect("bodies are UTF-8"),
    });
    let (status, body) = script.replies.lock().unwrap().pop_front().unwrap_or((599, "{\"unscripted\":true}".into()));
    (StatusCode::from_u16(status).unwrap(), body)
}

impl Cluster {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Self {
        let script = Arc::new(Script::default());
        let app = axum::Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { script, url }
    }

    /// Queues a reply: `status` with the body of fixture `name`.
    pub fn reply(&self, status: u16, name: &str) -> &Self {
        self.script.replies.lock().unwrap().push_back((status, fixture(name)));
        self
    }

    /// Queues a reply built by the test.
    pub fn reply_json(&self, status: u16, body: Value) -> &Self {
        self.script.replies.lock().unwrap().push_back((status, body.to_string()));
        self
    }

    /// Every request so far, and forgets them.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.script.requests.lock().unwrap())
    }

    /// Replies not used yet.
    pub fn unused(&self) -> usize {
        self.script.replies.lock().unwrap().len()
    }

    /// The configuration of an index on this server: prefix `tgdesk`, fast
    /// retries so tests of backoff take milliseconds.
    pub fn config(&self) -> OpenSearchConfig {
        let mut config = OpenSearchConfig::new(&self.url, "tgdesk").unwrap();
        config.retry =
            RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(1), max_backoff: Duration::from_millis(4) };
        config
    }

    /// Opens an index (its template and meta index acknowledged) and
    /// forgets the requests that took.
    pub async fn open(&self) -> OpenSearchIndex {
        self.reply(200, "template_acknowledged.json").reply(200, "meta_index_created.json");
        let index = OpenSearchIndex::open(self.config()).await.expect("open");
        self.take();
        index
    }
}
