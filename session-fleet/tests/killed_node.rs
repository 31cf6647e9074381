//! A `tgdesk-fleet` process SIGKILLed in the middle of a batch send, on the
//! AWS backend (DynamoDB, SQS and S3 on the moto server `./test.sh` starts):
//! a second node process takes its accounts and the commands it had taken
//! over, and every send of the batch ends sent, posted to Telegram once and
//! stored.
//!
//! Child processes, because only a killed process dies with nothing saved,
//! released, acknowledged or passed on; the test stands in for the API
//! (the batch goes through the `Desk` use case) and the ingest function
//! (the ingest pump, in this process). The nodes run with short lease and
//! command-visibility timings (the binary's flags), so the take-over takes
//! seconds, not minutes. The kill usually lands after Telegram took a
//! message and before its send was recorded (recording and its pushes take
//! a few round trips), so node-b also meets sends Telegram refuses as
//! repeats. `TEST_LOG=1` shows the nodes' logs.

#[path = "../../shared/aws/tests/moto.rs"]
mod moto;

use secrecy::SecretString;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tg_sim::{SimConfig, SimHandle, Simulator};
use tgdesk_aws::{AwsContext, AwsPorts};
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::{AccountId, AccountStatus, Role, TenantId, UserId};
use tgdesk_core::ports::{SessionSealer, TelegramConnector};
use tgdesk_core::push_queue::QueuedPush;
use tgdesk_core::usecases::{Actor, BatchTarget, BatchView, Desk, NewAccount, NewBatch};
use tgdesk_fleet::pump;
use tgdesk_telegram::{GrammersConfig, GrammersConnector, SessionCipher};
use tokio::sync::watch;
use tokio::time::Instant;

/// Accounts the batch sends from.
const ACCOUNTS: usize = 2;
/// Customers per account, one dialog each: twice the send burst an account
/// is allowed, so after the burst the rest goes out at the paced rate and
/// the kill lands seconds before the last send.
const CUSTOMERS: usize = 10;
/// The batch's text.
const TEXT: &str = "Batch news";
/// The nodes' timings: a dead node's leases lapse within 3 s; a command
/// stays hidden 10 s once taken, longer than the paced sends of one account
/// (`CUSTOMERS` less the burst, at one a second) wait, so a live node never
/// sees its own commands come back.
const TIMINGS: [&str; 8] =
    ["--scan-every", "200ms", "--lease-ttl", "3s", "--heartbeat", "1s", "--command-visibility", "10s"];
/// Bound of every wait.
const PATIENCE: Duration = Duration::from_secs(45);

/// What the test runs on: moto tables, queues and bucket of its own, the
/// simulator, a desk on them as the API has it, and the data dir whose
/// session key both node processes share with that desk.
struct Stage {
    ctx: AwsContext,
    desk: Desk,
    admin: Actor,
    sim: SimHandle,
    http: reqwest::Client,
    connector: GrammersConnector,
    sealer: Arc<SessionCipher>,
    dir: tempfile::TempDir,
    _sim_dir: tempfile::TempDir,
}

async fn stage() -> Stage {
    let ctx = moto::context_of_its_own().await;
    let sim_dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimConfig::new("127.0.0.1:0".parse().unwrap(), sim_dir.path())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The key file the node processes on this dir read.
    let sealer = Arc::new(SessionCipher::load_or_create(&dir.path().join("session.key")).unwrap());
    let aws = AwsPorts::open(&ctx, |queue| Arc::new(QueuedPush::new(queue)), None).await.expect("moto answers");
    let mut ports = aws.ports;
    ports.sealer = Some(sealer.clone());
    let desk = Desk::new(ports, TokenService::new(b"killed-node-secret-killed-node-s", Duration::from_secs(600)));
    let view = desk.create_tenant("acme", "admin", "admin-password").await.unwrap();
    let admin = Actor {
        tenant: TenantId::parse("acme").unwrap(),
        user_id: UserId::parse(view.id.as_str()).unwrap(),
        role: Role::Admin,
    };
    let connector = GrammersConnector::new(GrammersConfig::new(1, SecretString::from("tg-sim")));
    Stage { ctx, desk, admin, sim, http: reqwest::Client::new(), connector, sealer, dir, _sim_dir: sim_dir }
}

impl Stage {
    /// Creates a Telegram account in the simulator and the desk, with its session stored sealed.
    async fn account(&self, phone: &str) -> AccountId {
        let url = format!("{}/control/accounts", self.sim.control_url());
        let created: Value =
            self.http.post(url).json(&json!({"phone": phone})).send().await.unwrap().json().await.unwrap();
        let bytes = self.connector.import_session_string(created["session"].as_str().unwrap()).unwrap();
        let input = NewAccount { phone: phone.into(), name: None, tags: vec![], owner_id: None };
        let id = AccountId::parse(self.desk.create_account(&self.admin, input).await.unwrap().id.as_str()).unwrap();
        let sealed = SessionSealer::seal(self.sealer.as_ref(), &id, &bytes).await.unwrap();
        self.desk.ports().directory.set_account_session(&self.admin.tenant, &id, Some(sealed), None).await.unwrap();
        id
    }

    /// Makes customer `user_id` write to account `phone`; returns the dialog's peer.
    async fn customer_says(&self, phone: &str, user_id: usize, text: &str) -> i64 {
        let url = format!("{}/control/messages", self.sim.control_url());
        let body = json!({"account_phone": phone, "from": {"user_id": user_id, "name": "Carol"}, "text": text});
        let sent: Value = self.http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
        sent["peer"].as_i64().expect("the simulator names the peer")
    }

    /// Returns what account `phone` posted on the simulator, as (peer, text).
    async fn posted_by(&self, phone: &str) -> Vec<(i64, String)> {
        let url = format!("{}/control/sent?account_phone={}", self.sim.control_url(), phone.replace('+', "%2B"));
        let on_sim: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        let items = on_sim["items"].as_array().unwrap().iter();
        items.map(|i| (i["peer"].as_i64().unwrap(), i["text"].as_str().unwrap_or_default().to_owned())).collect()
    }

    /// Returns how many messages the accounts `phones` posted in all.
    async fn posted(&self, phones: &[String]) -> usize {
        let mut n = 0;
        for phone in phones {
            n += self.posted_by(phone).await.len();
        }
        n
    }

    /// Returns the texts of a dialog's stored messages, oldest first.
    async fn stored(&self, account: &AccountId, peer: i64) -> Vec<String> {
        let page = self.desk.dialog_messages(&self.admin, account, peer, None, Some(100)).await.unwrap();
        page.items.into_iter().rev().map(|m| m.text).collect()
    }

    async fn wait_status(&self, id: &AccountId, status: AccountStatus) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let account = self.desk.ports().directory.get_account(&self.admin.tenant, id).await.unwrap().unwrap();
            if account.status == status {
                return;
            }
            let why = "TEST_LOG=1 shows the nodes' logs";
            assert!(Instant::now() < deadline, "account {id} is {:?}, never {status:?} ({why})", account.status);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts a `tgdesk-fleet` process called `node` on this stage's tables,
    /// queues, bucket and session key.
    fn start_node(&self, node: &str) -> NodeProcess {
        let settings = &self.ctx.settings;
        let (key_id, secret) = settings.static_credentials.clone().expect("moto takes fixed credentials");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tgdesk-fleet"));
        // The node reads its configuration from these alone (no session key or node id of the caller's).
        for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("TGDESK_")) {
            command.env_remove(key);
        }
        let logs = || if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() };
        let child = command
            .args(["--backend", "aws", "--node-id", node, "--data-dir"])
            .arg(self.dir.path())
            .args(TIMINGS)
            .env(tgdesk_aws::env::ENDPOINT, settings.endpoint.as_deref().expect("a moto endpoint"))
            .env(tgdesk_aws::env::PREFIX, &settings.prefix)
            // What a deployment's template makes (the push queue, ...) and this test did not.
            .env(tgdesk_aws::env::CREATE, "1")
            .env("AWS_ACCESS_KEY_ID", key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", settings.region.as_deref().unwrap_or(tgdesk_aws::DEFAULT_REGION))
            .stdin(Stdio::null())
            .stdout(logs())
            .stderr(logs())
            .spawn()
            .expect("the fleet binary starts");
        NodeProcess(Some(child))
    }

    /// Waits until the batch has no queued send left; returns it.
    async fn settled_batch(&self, batch: &BatchView) -> BatchView {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let view = self.desk.get_batch(&self.admin, &batch.batch.id, None, None).await.unwrap();
            if view.done {
                return view;
            }
            assert!(Instant::now() < deadline, "the batch never settled: {:?}", view.counts);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A node process, killed when the test ends early (it would hold the
/// test's output open and run on against the moto server).
struct NodeProcess(Option<Child>);

impl NodeProcess {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the node process")
    }

    /// Kills the process with SIGKILL: nothing is published, saved,
    /// recorded, released or acknowledged past this point.
    fn sigkill(mut self) {
        let mut child = self.0.take().expect("the node process");
        assert!(child.try_wait().unwrap().is_none(), "the node died before it was killed");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Asks the process to stop with SIGTERM; returns its exit status once it ended.
    async fn sigterm(mut self) -> std::process::ExitStatus {
        let pid = self.child().id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child().try_wait().unwrap() {
                self.0 = None;
                return status;
            }
            assert!(Instant::now() < deadline, "the node did not stop within {PATIENCE:?} of SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_batch_is_taken_over_and_each_send_is_posted_once_and_stored() {
    // Arrange: node-a runs two accounts, each with ten customers who wrote first.
    let s = stage().await;
    let (stop_pump, stopped) = watch::channel(false);
    let ingest = tokio::spawn(pump::run_ingest(s.desk.clone(), Arc::default(), stopped));
    let phones: Vec<String> = (0..ACCOUNTS).map(|i| format!("+155509100{i:02}")).collect();
    let mut accounts = Vec::new();
    for phone in &phones {
        accounts.push(s.account(phone).await);
    }
    let node_a = s.start_node("node-a");
    for id in &accounts {
        s.wait_status(id, AccountStatus::Online).await;
    }
    let mut targets = Vec::new();
    for (a, (phone, id)) in phones.iter().zip(&accounts).enumerate() {
        for c in 0..CUSTOMERS {
            let peer = s.customer_says(phone, 9000 + 100 * a + c, "hello").await;
            targets.push((phone.clone(), id.clone(), peer));
        }
    }
    // node-a knows every customer (it stored what they wrote) before it is asked to answer them.
    for (_, id, peer) in &targets {
        let deadline = Instant::now() + PATIENCE;
        while s.stored(id, *peer).await.is_empty() {
            assert!(Instant::now() < deadline, "the customer's message in {peer} was never stored");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let total = targets.len();
    let burst = GrammersConfig::new(1, SecretString::from("tg-sim")).send_burst as usize;
    // Past every account's burst, with the paced rest to come.
    let kill_at = ACCOUNTS * (burst + 1);
    assert!(kill_at < total, "the batch outlasts the burst");

    // Act: the batch starts as the API would start it; node-a is killed once
    // it posted some of it, and node-b starts.
    let body = targets.iter().map(|(_, id, peer)| BatchTarget { account_id: id.clone(), peer: *peer }).collect();
    let batch =
        s.desk.start_batch(&s.admin, NewBatch { targets: body, text: TEXT.into(), files: vec![] }).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    while s.posted(&phones).await < kill_at {
        assert!(Instant::now() < deadline, "node-a never posted {kill_at} of the batch");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node_a.sigkill();
    let posted_by_a = s.posted(&phones).await;
    let node_b = s.start_node("node-b");

    // Assert: killed mid-batch, then every send sent, each posted once, each stored once.
    assert!(
        (kill_at..total).contains(&posted_by_a),
        "node-a was killed mid-batch: it posted {posted_by_a} of {total} (at least {kill_at})"
    );
    let settled = s.settled_batch(&batch).await;
    let sent = settled.counts.get("sent").copied().unwrap_or_default();
    assert_eq!(sent as usize, total, "every send of the batch sent: {:?}", settled.counts);
    for phone in &phones {
        let mut posted = s.posted_by(phone).await;
        posted.sort();
        let mut expected: Vec<(i64, String)> =
            targets.iter().filter(|(p, _, _)| p == phone).map(|(_, _, peer)| (*peer, TEXT.to_owned())).collect();
        expected.sort();
        assert_eq!(posted, expected, "account {phone} posted the batch to each customer once");
    }
    for (_, id, peer) in &targets {
        let deadline = Instant::now() + PATIENCE;
        let mut stored = s.stored(id, *peer).await;
        while stored.len() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            stored = s.stored(id, *peer).await;
        }
        assert_eq!(stored, ["hello", TEXT], "dialog {peer} stores the customer's message and the batch's once");
    }
    let exit = node_b.sigterm().await;
    assert!(exit.success(), "node-b stops cleanly on SIGTERM: {exit}");
    for id in &accounts {
        s.wait_status(id, AccountStatus::Offline).await;
    }
    stop_pump.send(true).unwrap();
    ingest.await.unwrap();
    s.sim.shutdown().await;
}
