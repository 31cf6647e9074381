//! The serverless suite end to end on one machine: the Telegram simulator,
//! a session-fleet node on DynamoDB and SQS, and every function behind the
//! local gateway (API Gateway REST and WebSocket, the `@connections` API,
//! the SQS event sources) against moto. The same black-box path as the
//! server's end-to-end test, through the functions instead of one process:
//! import, customer messages pushed to exactly the right sockets, a reply
//! reaching the customer, a gateway restart resumed with `since=`, and a
//! fleet node replaced without losing a message.

#[path = "../../shared/aws/tests/moto.rs"]
mod moto;

use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tg_sim::{SimConfig, Simulator};
use tgdesk_aws::{AwsContext, AwsPorts};
use tgdesk_core::auth::TokenService;
use tgdesk_core::push_queue::QueuedPush;
use tgdesk_core::usecases::Desk;
use tgdesk_fleet::{Fleet, FleetConfig};
use tgdesk_functions::api::{ApiSettings, ENV_IGNORE_STAGE};
use tgdesk_functions::gateway::{Gateway, GatewayOptions};
use tgdesk_telegram::{GrammersConfig, GrammersConnector, SessionCipher};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const ADMIN_PASSWORD: &str = "gateway-admin-password";
const PASSWORD: &str = "agent-password-1";

fn settings(sealer: Arc<SessionCipher>) -> ApiSettings {
    ApiSettings {
        jwt_secret: "a-gateway-secret-of-at-least-32-chars".to_owned().into(),
        token_ttl: Duration::from_secs(600),
        operator_token: None,
        sealer,
        first_admin: Some(("demo".to_owned(), ADMIN_PASSWORD.to_owned().into())),
    }
}

async fn start_gateway(ctx: &AwsContext, settings: &ApiSettings, addr: &str) -> Gateway {
    start_gateway_with(ctx, settings, addr, GatewayOptions { simulator: true, ..GatewayOptions::default() }).await
}

async fn start_gateway_with(ctx: &AwsContext, settings: &ApiSettings, addr: &str, options: GatewayOptions) -> Gateway {
    let mut tries = 0;
    let listener = loop {
        // A restart binds the address the clients know; it may linger a moment.
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            Err(e) if tries < 50 => {
                tries += 1;
                tracing::debug!(error = %e, "address still taken");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot bind {addr}: {e}"),
        }
    };
    Gateway::start(ctx, settings, options, listener).await.expect("the gateway starts")
}

/// A fleet node on the AWS adapters; stops (saving sessions and releasing
/// leases) when its sender turns true.
async fn start_fleet(
    ctx: &AwsContext,
    sealer: Arc<SessionCipher>,
    node: &str,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let aws = AwsPorts::open(ctx, |queue| Arc::new(QueuedPush::new(queue)), None).await.expect("the AWS ports open");
    let mut ports = aws.ports;
    ports.sealer = Some(sealer.clone());
    let desk = Desk::new(ports, TokenService::issuing_none());
    let connector = Arc::new(GrammersConnector::new(GrammersConfig::new(1, SecretString::from("tg-sim"))));
    let mut config = FleetConfig::new(node);
    config.scan_every = Duration::from_millis(500);
    let fleet = Fleet::new(desk, aws.leases, connector, sealer, config);
    let (stop, stopped) = watch::channel(false);
    (stop, tokio::spawn(fleet.run(stopped)))
}

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let (got, body) = self.call(method, path, token, body).await;
        assert_eq!(got, status, "{path}: {body}");
        body
    }

    async fn login(&self, username: &str, password: &str) -> String {
        let body = json!({"tenant": "demo", "username": username, "password": password});
        let reply = self.expect(reqwest::Method::POST, "/api/auth/login", None, Some(body), 200).await;
        reply["token"].as_str().unwrap().to_owned()
    }

    /// Imports a CSV of accounts; returns the report.
    async fn import(&self, token: &str, csv: String) -> Value {
        let url = format!("{}/api/accounts/import", self.base);
        let request = self.http.post(url).bearer_auth(token).header("content-type", "text/csv").body(csv);
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The status a refused WebSocket handshake answers.
    async fn ws_refused(&self, token: &str) -> u16 {
        let url = format!("{}/ws?token={token}", self.base.replace("http://", "ws://"));
        match tokio_tungstenite::connect_async(url).await {
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            other => panic!("the handshake was not refused: {:?}", other.map(|_| ())),
        }
    }

    async fn ws(&self, token: &str, since: Option<u64>) -> Ws {
        let since = since.map(|s| format!("&since={s}")).unwrap_or_default();
        let url = format!("{}/ws?token={token}{since}", self.base.replace("http://", "ws://"));
        tokio_tungstenite::connect_async(url).await.expect("websocket").0
    }
}

/// Reads events (each frame an array of them) until `n` of `kind` came or
/// 30 s passed; returns every event read.
async fn read_until(ws: &mut Ws, kind: &str, n: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.iter().filter(|e: &&Value| e["type"] == kind).count() < n {
        let text = match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(tungstenite::Message::Text(t)))) => t,
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        match serde_json::from_str::<Value>(&text).unwrap() {
            Value::Array(events) => seen.extend(events),
            event => seen.push(event),
        }
    }
    seen
}

fn texts(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "message.new")
        .map(|e| e["data"]["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn customer_says(http: &reqwest::Client, control: &str, phone: &str, customer: i64, text: &str) -> i64 {
    let body = json!({"account_phone": phone, "from": {"user_id": customer, "name": "Carol"}, "text": text});
    let sent: Value =
        http.post(format!("{control}/control/messages")).json(&body).send().await.unwrap().json().await.unwrap();
    sent["peer"].as_i64().expect("the simulator names the peer")
}

/// Creates a simulator account (logged in, or not when `authorized` is
/// false); returns its session string.
async fn sim_session(http: &reqwest::Client, control: &str, phone: &str, authorized: bool) -> String {
    let created: Value = http
        .post(format!("{control}/control/accounts"))
        .json(&json!({"phone": phone, "authorized": authorized}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["session"].as_str().expect("a session string").to_owned()
}

/// What every test here runs on: moto tables and queues of its own, the
/// simulator, and the functions' settings with a session key.
struct Stage {
    ctx: AwsContext,
    sim: tg_sim::SimHandle,
    control: String,
    http: reqwest::Client,
    sealer: Arc<SessionCipher>,
    settings: ApiSettings,
    _sim_dir: tempfile::TempDir,
}

async fn stage() -> Stage {
    // As the template sets it for the api function (every test sets the same value).
    std::env::set_var(ENV_IGNORE_STAGE, "true");
    let ctx = moto::context_of_its_own().await;
    let sim_dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimConfig::new("127.0.0.1:0".parse().unwrap(), sim_dir.path())).await.unwrap();
    let control = sim.control_url();
    let sealer = Arc::new(SessionCipher::from_key(&[7; 32]));
    let settings = settings(sealer.clone());
    Stage { ctx, sim, control, http: reqwest::Client::new(), sealer, settings, _sim_dir: sim_dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_functions_carry_customers_messages_to_agents_and_replies_back() {
    let Stage { ctx, sim, control, http, sealer, settings, _sim_dir } = stage().await;

    let gateway = start_gateway(&ctx, &settings, "127.0.0.1:0").await;
    let addr = gateway.addr().to_string();
    let client = Client { base: format!("http://{addr}"), http: http.clone() };
    let (stop_a, node_a) = start_fleet(&ctx, sealer.clone(), "node-a").await;

    // An admin sets up a team and imports two accounts with their sessions.
    let admin = client.login("admin", ADMIN_PASSWORD).await;
    let post = reqwest::Method::POST;
    let user = |name: &str, role: &str, leader: Option<&str>| {
        let mut body = json!({"username": name, "password": PASSWORD, "role": role});
        if let Some(l) = leader {
            body["leader_id"] = json!(l);
        }
        body
    };
    let lead = client.expect(post.clone(), "/api/agents", Some(&admin), Some(user("lead", "leader", None)), 201).await;
    let lead_id = lead["id"].as_str().unwrap();
    client.expect(post.clone(), "/api/agents", Some(&admin), Some(user("alice", "agent", Some(lead_id))), 201).await;
    client.expect(post.clone(), "/api/agents", Some(&admin), Some(user("bruno", "agent", None)), 201).await;
    let (alice_phone, bruno_phone) = ("+15550700001", "+15550700002");
    let csv = format!(
        "phone,owner,session\n{alice_phone},alice,{}\n{bruno_phone},bruno,{}\n+15550700003,bruno,not-a-session\n",
        sim_session(&http, &control, alice_phone, true).await,
        sim_session(&http, &control, bruno_phone, true).await,
    );
    let report = client.import(&admin, csv).await;
    assert_eq!((report["imported"].as_u64(), report["rejected"][0]["line"].as_u64()), (Some(2), Some(4)), "{report}");

    let get = reqwest::Method::GET;
    let online = items_when(&client, "/api/accounts?status=online", &admin, 2).await.len();
    assert_eq!(online, 2, "both imported accounts come online on the fleet node");

    let (alice, leader, bruno) = (
        client.login("alice", PASSWORD).await,
        client.login("lead", PASSWORD).await,
        client.login("bruno", PASSWORD).await,
    );
    let (mut ws_alice, mut ws_leader, mut ws_bruno) =
        (client.ws(&alice, None).await, client.ws(&leader, None).await, client.ws(&bruno, None).await);
    let forged = client.ws_refused("not-a-token").await;
    assert_eq!(forged, 401, "a forged token is refused at $connect");

    // Customers write: alice and her leader see alice's messages, bruno none.
    let mut peer = 0;
    for i in 0..3 {
        peer = customer_says(&http, &control, alice_phone, 9001, &format!("to alice {i}")).await;
    }
    let want: Vec<String> = (0..3).map(|i| format!("to alice {i}")).collect();
    let seen_alice = read_until(&mut ws_alice, "message.new", 3).await;
    assert_eq!(texts(&seen_alice), want);
    assert_eq!(texts(&read_until(&mut ws_leader, "message.new", 3).await), want);
    customer_says(&http, &control, bruno_phone, 9002, "to bruno").await;
    assert_eq!(texts(&read_until(&mut ws_bruno, "message.new", 1).await), ["to bruno"]);
    let seqs: Vec<u64> = seen_alice.iter().map(|e| e["seq"].as_u64().expect("every event numbered")).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "one numbering per socket: {seqs:?}");

    let accounts = client.expect(get.clone(), "/api/accounts", Some(&alice), None, 200).await;
    let account = accounts["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1, "alice sees her account only");

    // Alice replies; the customer receives it.
    let path = format!("/api/accounts/{account}/dialogs/{peer}/messages");
    let reply = client.expect(post.clone(), &path, Some(&alice), Some(json!({"text": "Hi Carol!"})), 202).await;
    let send = reply["send_id"].as_str().unwrap().to_owned();
    let mut status = String::new();
    for _ in 0..300 {
        let got = client.expect(get.clone(), &format!("/api/sends/{send}"), Some(&alice), None, 200).await;
        status = got["status"].as_str().unwrap().to_owned();
        if status != "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "sent");
    let on_sim: Value = http
        .get(format!("{control}/control/sent?account_phone=%2B15550700001"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (on_sim["items"][0]["text"].as_str(), on_sim["items"][0]["peer"].as_i64()),
        (Some("Hi Carol!"), Some(peer))
    );

    // Her reply shows up in her dialog live, as the customer's messages did.
    let echoed = read_until(&mut ws_alice, "message.new", 1).await;
    assert_eq!(texts(&echoed), ["Hi Carol!"]);

    // The gateway goes away while a customer writes; it comes back on the
    // same address, and alice's socket resumes after the last event applied.
    let last = echoed.iter().chain(&seen_alice).filter_map(|e| e["seq"].as_u64()).max().unwrap();
    gateway.stop().await;
    drop(ws_alice);
    customer_says(&http, &control, alice_phone, 9001, "to alice 3").await;
    let gateway = start_gateway(&ctx, &settings, &addr).await;
    let mut ws_alice = client.ws(&alice, Some(last)).await;
    customer_says(&http, &control, alice_phone, 9001, "to alice 4").await;
    let mut resumed = Vec::new();
    while !texts(&resumed).contains(&"to alice 4".to_owned()) {
        let more = read_until(&mut ws_alice, "message.new", 1).await;
        assert!(!more.is_empty(), "the resumed socket gets the next message");
        resumed.extend(more);
    }
    assert_eq!(resumed[0]["type"], "resync", "API Gateway keeps no backlog: the client reloads what it missed");
    let numbers: Vec<Option<u64>> = resumed.iter().map(|e| e["seq"].as_u64()).collect();
    let continued: Vec<Option<u64>> = (0..resumed.len() as u64).map(|i| Some(last + i)).collect();
    assert_eq!(numbers, continued, "the resync is numbered since=, the events after it");
    // "to alice 3" was pushed only if its ingest came after the reconnect; it is stored either way (below).
    assert!(texts(&resumed).iter().all(|t| t == "to alice 3" || t == "to alice 4"), "{resumed:?}");

    // The fleet node stops; a new one takes the accounts over and catches up
    // with what customers wrote meanwhile.
    let _ = stop_a.send(true);
    node_a.await.unwrap();
    customer_says(&http, &control, alice_phone, 9001, "while no node ran").await;
    let (stop_b, node_b) = start_fleet(&ctx, sealer.clone(), "node-b").await;
    assert_eq!(texts(&read_until(&mut ws_alice, "message.new", 1).await), ["while no node ran"]);

    let history = client.expect(get.clone(), &format!("{path}?limit=50"), Some(&alice), None, 200).await;
    let mut stored: Vec<String> =
        history["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    stored.reverse();
    let mut expected: Vec<String> = (0..5).map(|i| format!("to alice {i}")).collect();
    expected.insert(3, "Hi Carol!".to_owned());
    expected.push("while no node ran".to_owned());
    assert_eq!(stored, expected, "every message stored once, in order");

    let _ = stop_b.send(true);
    node_b.await.unwrap();
    gateway.stop().await;
    sim.shutdown().await;
}

/// Polls `path` until its `items` number `n` (or 60 s pass); returns them.
async fn items_when(client: &Client, path: &str, token: &str, n: usize) -> Vec<Value> {
    let mut items = Vec::new();
    for _ in 0..600 {
        let got = client.expect(reqwest::Method::GET, path, Some(token), None, 200).await;
        items = got["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_traffic_loses_no_message_and_stores_none_twice() {
    let Stage { ctx, sim, control, http, sealer, settings, _sim_dir } = stage().await;
    // Batches a killed gateway held come back after two seconds. The first
    // gathers updates for up to 20 s before it invokes `ingest`, so the kill
    // finds the burst in its hands.
    let options =
        GatewayOptions { simulator: true, visibility: Some(Duration::from_secs(2)), ..GatewayOptions::default() };
    let gathering = GatewayOptions { batch_window: Duration::from_secs(20), ingest_batch: 1000, ..options.clone() };
    let gateway = start_gateway_with(&ctx, &settings, "127.0.0.1:0", gathering).await;
    let addr = gateway.addr().to_string();
    let client = Client { base: format!("http://{addr}"), http: http.clone() };
    let (stop, node) = start_fleet(&ctx, sealer.clone(), "node-k").await;
    let admin = client.login("admin", ADMIN_PASSWORD).await;
    let phone = "+15550700011";
    let csv = format!("phone,session\n{phone},{}\n", sim_session(&http, &control, phone, true).await);
    assert_eq!(client.import(&admin, csv).await["imported"], 1);
    assert_eq!(items_when(&client, "/api/accounts?status=online", &admin, 1).await.len(), 1);

    let total = 60;
    let mut peer = 0;
    for i in 0..total {
        peer = customer_says(&http, &control, phone, 9005, &format!("burst {i:02}")).await;
    }
    let account = client.expect(reqwest::Method::GET, "/api/accounts", Some(&admin), None, 200).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let history = format!("/api/accounts/{account}/dialogs/{peer}/messages?limit=100");
    let inbox = client.expect(reqwest::Method::GET, "/api/inbox", Some(&admin), None, 200).await;
    assert_eq!(inbox["items"][0]["last_message_id"], Value::Null, "the burst is still in the gateway's hands: {inbox}");
    gateway.kill().await;
    let gateway = start_gateway_with(&ctx, &settings, &addr, options).await;

    let stored = items_when(&client, &history, &admin, total).await;
    let mut texts: Vec<String> = stored.iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    texts.reverse();
    let want: Vec<String> = (0..total).map(|i| format!("burst {i:02}")).collect();
    assert_eq!(texts, want, "every message stored once, in order, after the kill");
    let dialogs = client.expect(reqwest::Method::GET, "/api/inbox", Some(&admin), None, 200).await;
    assert_eq!(dialogs["items"][0]["unread_count"].as_u64(), Some(total as u64), "no message counted twice");

    let _ = stop.send(true);
    node.await.unwrap();
    gateway.stop().await;
    sim.shutdown().await;
}

/// The texts the simulator's account `phone` sent to customer `peer`.
async fn sent_to(http: &reqwest::Client, control: &str, phone: &str, peer: i64) -> Vec<String> {
    let url = format!("{control}/control/sent?account_phone={}", phone.replace('+', "%2B"));
    let on_sim: Value = http.get(url).send().await.unwrap().json().await.unwrap();
    on_sim["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["peer"].as_i64() == Some(peer))
        .filter_map(|i| i["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_take_over_mid_batch_sends_each_once_and_a_login_in_flight_asks_to_start_again() {
    let Stage { ctx, sim, control, http, sealer, settings, _sim_dir } = stage().await;
    let gateway = start_gateway(&ctx, &settings, "127.0.0.1:0").await;
    let client = Client { base: format!("http://{}", gateway.addr()), http: http.clone() };
    let (stop_a, node_a) = start_fleet(&ctx, sealer.clone(), "node-a").await;
    let admin = client.login("admin", ADMIN_PASSWORD).await;
    let (post, get) = (reqwest::Method::POST, reqwest::Method::GET);

    // Two accounts, six customers each.
    let phones = ["+15550700021", "+15550700022"];
    let mut csv = "phone,session\n".to_owned();
    for phone in phones {
        csv.push_str(&format!("{phone},{}\n", sim_session(&http, &control, phone, true).await));
    }
    assert_eq!(client.import(&admin, csv).await["imported"], 2);
    let online = items_when(&client, "/api/accounts?status=online", &admin, 2).await;
    assert_eq!(online.len(), 2);
    let mut targets = Vec::new();
    for phone in phones {
        let account = online.iter().find(|a| a["phone"] == phone).unwrap()["id"].as_str().unwrap().to_owned();
        for customer in 0..6 {
            let peer = customer_says(&http, &control, phone, 9100 + customer, "hello").await;
            targets.push((phone, account.clone(), peer));
        }
    }

    // A batch to all twelve; node-a stops while it is being sent, node-b takes over.
    let body = json!({
        "targets": targets.iter().map(|(_, account, peer)| json!({"account_id": account, "peer": peer})).collect::<Vec<_>>(),
        "text": "Batch news",
    });
    let batch = client.expect(post.clone(), "/api/batch-sends", Some(&admin), Some(body), 202).await;
    let batch_id = batch["batch"]["id"].as_str().unwrap().to_owned();
    let _ = stop_a.send(true);
    node_a.await.unwrap();
    let (stop_b, node_b) = start_fleet(&ctx, sealer.clone(), "node-b").await;
    let mut progress = Value::Null;
    for _ in 0..600 {
        progress = client.expect(get.clone(), &format!("/api/batch-sends/{batch_id}"), Some(&admin), None, 200).await;
        if progress["done"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(progress["counts"]["sent"], 12, "every send of the batch sent: {}", progress["counts"]);
    for (phone, _, peer) in &targets {
        assert_eq!(sent_to(&http, &control, phone, *peer).await, ["Batch news"], "customer {peer} got it once");
    }

    // A login in flight on node-b: node-b stops after the code was sent; the
    // code then reaches node-c, which holds no login and says to start again.
    let phone = "+15550700023";
    let csv = format!("phone,session\n{phone},{}\n", sim_session(&http, &control, phone, false).await);
    assert_eq!(client.import(&admin, csv).await["imported"], 1);
    let accounts = client.expect(get.clone(), "/api/accounts?limit=10", Some(&admin), None, 200).await;
    let account = accounts["items"].as_array().unwrap().iter().find(|a| a["phone"] == phone).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/api/accounts/{account}/login");
    let mut started = Value::Null;
    for _ in 0..100 {
        // The fleet may still be finding the imported key logged out.
        let (status, body) = client.call(post.clone(), &format!("{base}/start"), Some(&admin), Some(json!({}))).await;
        started = body;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(started["status"], "code_sent", "{started}");
    let _ = stop_b.send(true);
    node_b.await.unwrap();
    let (stop_c, node_c) = start_fleet(&ctx, sealer.clone(), "node-c").await;
    let code_url = format!("{control}/control/login-code?phone={}", phone.replace('+', "%2B"));
    let code: Value = http.get(&code_url).send().await.unwrap().json().await.unwrap();
    let code = code["code"].as_str().unwrap().to_owned();
    let refused =
        client.expect(post.clone(), &format!("{base}/code"), Some(&admin), Some(json!({"code": code})), 409).await;
    assert!(refused["error"]["message"].as_str().unwrap().contains("start one first"), "{refused}");
    // Started again on node-c, the login completes there.
    let again = client.expect(post.clone(), &format!("{base}/start"), Some(&admin), Some(json!({})), 200).await;
    assert_eq!(again["status"], "code_sent");
    let code: Value = http.get(&code_url).send().await.unwrap().json().await.unwrap();
    let code = code["code"].as_str().unwrap().to_owned();
    let done =
        client.expect(post.clone(), &format!("{base}/code"), Some(&admin), Some(json!({"code": code})), 200).await;
    assert_eq!(done["status"], "online");

    let _ = stop_c.send(true);
    node_c.await.unwrap();
    gateway.stop().await;
    sim.shutdown().await;
}
