//! The fleet end to end against tg-sim through the real grammers connector:
//! customers' messages are stored and pushed, agents' replies reach the
//! customer, and a restarted node catches up on what it missed.

use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tg_sim::{SimConfig, SimHandle, Simulator};
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::{AccountId, AccountStatus, Role, TenantId, UserId};
use tgdesk_core::ports::{SessionSealer, TelegramConnector};
use tgdesk_core::usecases::{Actor, Desk, NewAccount, NewMessage};
use tgdesk_fleet::{pump, Fleet, FleetConfig};
use tgdesk_local::{LocalPorts, SqliteLeases};
use tgdesk_telegram::{GrammersConfig, GrammersConnector, SessionCipher};
use tokio::sync::watch;

struct World {
    sim: SimHandle,
    http: reqwest::Client,
    desk: Desk,
    admin: Actor,
    connector: Arc<GrammersConnector>,
    sealer: Arc<SessionCipher>,
    leases: Arc<SqliteLeases>,
    _dir: tempfile::TempDir,
    _sim_dir: tempfile::TempDir,
}

async fn world() -> World {
    let sim_dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimConfig::new("127.0.0.1:0".parse().unwrap(), sim_dir.path())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ports = LocalPorts::open(dir.path()).unwrap().ports;
    let leases = Arc::new(SqliteLeases::open(dir.path().join("leases")).unwrap());
    // As the server: commands go to the queue of the node holding the account.
    ports.leases = Some(leases.clone());
    let desk = Desk::new(ports, TokenService::new(b"fleet-test-secret-fleet-test-sec", Duration::from_secs(600)));
    let view = desk.create_tenant("acme", "admin", "admin-password").await.unwrap();
    let admin = Actor {
        tenant: TenantId::parse("acme").unwrap(),
        user_id: UserId::parse(view.id.as_str()).unwrap(),
        role: Role::Admin,
    };
    let connector = Arc::new(GrammersConnector::new(GrammersConfig::new(1, SecretString::from("sim"))));
    // The key file a `tgdesk-fleet` process on this dir reads too.
    let sealer = Arc::new(SessionCipher::load_or_create(&dir.path().join("session.key")).unwrap());
    World { sim, http: reqwest::Client::new(), desk, admin, connector, sealer, leases, _dir: dir, _sim_dir: sim_dir }
}

impl World {
    async fn control(&self, path: &str, body: Value) -> Value {
        let resp = self.http.post(format!("{}{path}", self.sim.control_url())).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// Creates a Telegram account in the simulator and the desk, with its session stored sealed.
    async fn account(&self, phone: &str) -> AccountId {
        let created = self.control("/control/accounts", json!({"phone": phone})).await;
        let bytes = self.connector.import_session_string(created["session"].as_str().unwrap()).unwrap();
        let input = NewAccount { phone: phone.into(), name: None, tags: vec![], owner_id: None };
        let id = AccountId::parse(self.desk.create_account(&self.admin, input).await.unwrap().id.as_str()).unwrap();
        let sealed = SessionSealer::seal(self.sealer.as_ref(), &id, &bytes).await.unwrap();
        self.desk.ports().directory.set_account_session(&self.admin.tenant, &id, Some(sealed), None).await.unwrap();
        id
    }

    fn fleet(&self, node: &str) -> Arc<Fleet> {
        let mut config = FleetConfig::new(node);
        config.scan_every = Duration::from_millis(200);
        config.heartbeat = Duration::from_millis(500);
        config.lease_ttl = Duration::from_secs(3);
        Fleet::new(self.desk.clone(), self.leases.clone(), self.connector.clone(), self.sealer.clone(), config)
    }

    async fn wait_status(&self, id: &AccountId, status: AccountStatus) {
        for _ in 0..300 {
            let a = self.desk.ports().directory.get_account(&self.admin.tenant, id).await.unwrap().unwrap();
            if a.status == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("account {id} never became {status:?}");
    }

    /// Waits until the dialog holds `n` messages and returns their texts, oldest first.
    async fn wait_messages(&self, id: &AccountId, peer: i64, n: usize) -> Vec<String> {
        let mut last = Vec::new();
        for _ in 0..400 {
            let page = self.desk.dialog_messages(&self.admin, id, peer, None, Some(500)).await.unwrap();
            last = page.items.iter().rev().map(|m| m.text.clone()).collect();
            if last.len() >= n {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("dialog {peer} has {} messages, expected {n}: {last:?}", last.len());
    }
}

/// Waits until the node runs the account's session (`running`) or no longer does.
async fn wait_running(fleet: &Fleet, tenant: &TenantId, id: &AccountId, running: bool, within: Duration, what: &str) {
    let started = tokio::time::Instant::now();
    while fleet.session(tenant, id).is_some() != running {
        assert!(started.elapsed() < within, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until a send is no longer queued; returns it.
async fn settled_send(w: &World, id: &tgdesk_core::domain::SendId) -> tgdesk_core::domain::SendRecord {
    for _ in 0..400 {
        let send = w.desk.get_send(&w.admin, id).await.unwrap();
        if send.status != tgdesk_core::domain::SendStatus::Queued {
            return send;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("send {id} stayed queued");
}

/// Starts a fleet node and the ingest pump; returns their stop switch and tasks.
fn start(w: &World, node: &str) -> (watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>) {
    start_node(w, node).0
}

/// [`start`], with the node for its counters.
#[allow(clippy::type_complexity)]
fn start_node(w: &World, node: &str) -> ((watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>), Arc<Fleet>) {
    let (stop, stopped) = watch::channel(false);
    let fleet = w.fleet(node);
    let node = fleet.clone();
    let tasks = vec![
        tokio::spawn(fleet.run(stopped.clone())),
        tokio::spawn(pump::run_ingest(w.desk.clone(), Arc::default(), stopped)),
    ];
    ((stop, tasks), node)
}

/// The texts the simulator's account `phone` sent, oldest first.
async fn sent_by(w: &World, phone: &str) -> Vec<String> {
    let url = format!("{}/control/sent?account_phone={}", w.sim.control_url(), phone.replace('+', "%2B"));
    let on_sim: Value = w.http.get(url).send().await.unwrap().json().await.unwrap();
    on_sim["items"].as_array().unwrap().iter().filter_map(|i| i["text"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_the_node_holding_the_account_and_a_stopping_nodes_move_on() {
    let w = world().await;
    let phones: Vec<String> = (0..4).map(|i| format!("+155503200{i:02}")).collect();
    let mut ids = Vec::new();
    for phone in &phones {
        ids.push(w.account(phone).await);
    }
    let (a, node_a) = start_node(&w, "node-a");
    let (b, node_b) = start_node(&w, "node-b");
    for id in &ids {
        w.wait_status(id, AccountStatus::Online).await;
    }
    let mut peers = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let body = json!({"account_phone": phone, "from": {"user_id": 7200 + i, "name": "Eve"}, "text": "hello"});
        peers.push(w.control("/control/messages", body).await["peer"].as_i64().unwrap());
    }
    let send = |id: &AccountId, peer: i64, text: &str| {
        let message = NewMessage { text: text.into(), reply_to: None, files: vec![] };
        let (desk, admin, id) = (w.desk.clone(), w.admin.clone(), id.clone());
        async move { desk.send_message(&admin, &id, peer, message).await.unwrap().id }
    };

    // Each reply goes straight to the node holding its account: none is passed on.
    let mut sends = Vec::new();
    for (id, peer) in ids.iter().zip(&peers) {
        sends.push(send(id, *peer, "first reply").await);
    }
    for s in &sends {
        assert_eq!(settled_send(&w, s).await.status, tgdesk_core::domain::SendStatus::Sent);
    }
    let passed = |n: &Fleet| n.metrics.commands_passed_on.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!((passed(&node_a), passed(&node_b)), (0, 0), "every command reached its holder first");

    // Replies queued for node-a as it stops move on to node-b, which takes its accounts.
    let mut later = Vec::new();
    for (id, peer) in ids.iter().zip(&peers) {
        later.push(send(id, *peer, "second reply").await);
    }
    stop(a).await;
    for s in &later {
        assert_eq!(settled_send(&w, s).await.status, tgdesk_core::domain::SendStatus::Sent, "no reply lost");
    }
    for phone in &phones {
        assert_eq!(sent_by(&w, phone).await, ["first reply", "second reply"], "each reply sent once, in order");
    }
    stop(b).await;
}

async fn stop(handle: (watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>)) {
    handle.0.send(true).unwrap();
    for task in handle.1 {
        tokio::time::timeout(Duration::from_secs(20), task).await.expect("stops in time").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_messages_are_stored_and_agent_replies_reach_the_customer() {
    let w = world().await;
    let account = w.account("+15550300001").await;
    let node = start(&w, "node-a");
    w.wait_status(&account, AccountStatus::Online).await;
    let written = w.control("/control/messages", json!({"account_phone": "+15550300001", "from": {"user_id": 7001, "name": "Bob"}, "text": "Where is my order?"})).await;
    let peer = written["peer"].as_i64().unwrap();
    assert_eq!(w.wait_messages(&account, peer, 1).await, vec!["Where is my order?"]);
    let sent = w
        .desk
        .send_message(
            &w.admin,
            &account,
            peer,
            NewMessage { text: "On its way!".into(), reply_to: None, files: vec![] },
        )
        .await
        .unwrap();
    let status = settled_send(&w, &sent.id).await;
    assert_eq!(status.status, tgdesk_core::domain::SendStatus::Sent, "{status:?}");
    let on_sim: Value = w
        .http
        .get(format!("{}/control/sent?account_phone=%2B15550300001", w.sim.control_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = on_sim["items"].as_array().unwrap().iter().filter_map(|i| i["text"].as_str()).collect();
    assert_eq!(texts, vec!["On its way!"]);
    assert_eq!(w.wait_messages(&account, peer, 2).await, vec!["Where is my order?", "On its way!"]);
    stop(node).await;
    w.wait_status(&account, AccountStatus::Offline).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_while_the_node_was_down_arrive_exactly_once_after_restart() {
    let w = world().await;
    let account = w.account("+15550300002").await;
    let node = start(&w, "node-a");
    w.wait_status(&account, AccountStatus::Online).await;
    let first = w
        .control(
            "/control/messages",
            json!({"account_phone": "+15550300002", "from": {"user_id": 7002, "name": "Ann"}, "text": "m0"}),
        )
        .await;
    let peer = first["peer"].as_i64().unwrap();
    w.wait_messages(&account, peer, 1).await;
    stop(node).await;
    for i in 1..=30 {
        w.control(
            "/control/messages",
            json!({"account_phone": "+15550300002", "from": {"user_id": 7002, "name": "Ann"}, "text": format!("m{i}")}),
        )
        .await;
    }
    let node = start(&w, "node-b");
    let texts = w.wait_messages(&account, peer, 31).await;
    let expected: Vec<String> = (0..=30).map(|i| format!("m{i}")).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = w.wait_messages(&account, peer, 31).await;
    assert_eq!(texts, expected);
    assert_eq!(again, expected, "nothing arrived twice");
    stop(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_accounts_never_run_one_twice_and_take_over_from_a_stopped_node() {
    use tgdesk_core::ports::Leases;
    let w = world().await;
    let phones: Vec<String> = (0..4).map(|i| format!("+155503100{i:02}")).collect();
    let mut ids = Vec::new();
    for phone in &phones {
        ids.push(w.account(phone).await);
    }
    let a = start(&w, "node-a");
    let b = start(&w, "node-b");
    for id in &ids {
        w.wait_status(id, AccountStatus::Online).await;
    }
    let held = |leases: Vec<tgdesk_core::ports::Lease>, id: &AccountId| -> Vec<String> {
        let now = chrono::Utc::now();
        leases.into_iter().filter(|l| &l.account_id == id && l.expires_at > now).map(|l| l.node).collect()
    };
    for id in &ids {
        let holders = held(w.leases.list(&w.admin.tenant).await.unwrap(), id);
        assert_eq!(holders.len(), 1, "account {id} is held by {holders:?}");
    }
    let mut peers = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let body = json!({"account_phone": phone, "from": {"user_id": 7100 + i, "name": "Eve"}, "text": "first"});
        peers.push(w.control("/control/messages", body).await["peer"].as_i64().unwrap());
    }
    for (id, peer) in ids.iter().zip(&peers) {
        assert_eq!(w.wait_messages(id, *peer, 1).await, vec!["first"]);
    }
    stop(a).await;
    for (i, phone) in phones.iter().enumerate() {
        let body = json!({"account_phone": phone, "from": {"user_id": 7100 + i, "name": "Eve"}, "text": "second"});
        w.control("/control/messages", body).await;
    }
    for (id, peer) in ids.iter().zip(&peers) {
        assert_eq!(w.wait_messages(id, *peer, 2).await, vec!["first", "second"]);
    }
    for id in &ids {
        w.wait_status(id, AccountStatus::Online).await;
        assert_eq!(held(w.leases.list(&w.admin.tenant).await.unwrap(), id), vec!["node-b"]);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (id, peer) in ids.iter().zip(&peers) {
        assert_eq!(w.wait_messages(id, *peer, 2).await, vec!["first", "second"], "nothing doubled");
    }
    stop(b).await;
}

/// A node renews the leases of all its sessions each heartbeat; when another
/// node took one over meanwhile, that session stops at once, and the node
/// neither releases the new holder's lease nor runs the account again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_lease_was_taken_over_stops_and_leaves_the_new_holder_alone() {
    use tgdesk_core::ports::Leases;
    let w = world().await;
    let (kept, stolen) = (w.account("+15550320001").await, w.account("+15550320002").await);
    let (stop_node, stopped) = watch::channel(false);
    let fleet = w.fleet("node-a");
    let node = tokio::spawn(fleet.clone().run(stopped));
    w.wait_status(&kept, AccountStatus::Online).await;
    w.wait_status(&stolen, AccountStatus::Online).await;
    let tenant = w.admin.tenant.clone();
    let first = w.leases.list(&tenant).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let renewed = w.leases.list(&tenant).await.unwrap();
    assert!(
        first.iter().zip(&renewed).all(|(a, b)| a.fencing == b.fencing && b.expires_at > a.expires_at),
        "both leases renewed in place: {first:?} then {renewed:?}"
    );

    let theirs = renewed.iter().find(|l| l.account_id == stolen).unwrap();
    w.leases.release(theirs).await.unwrap();
    let thief = w.leases.acquire(&tenant, &stolen, "node-b", Duration::from_secs(60)).await.unwrap();
    wait_running(&fleet, &tenant, &stolen, false, Duration::from_secs(5), "the session kept running without its lease")
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert!(fleet.session(&tenant, &stolen).is_none(), "the node ran the account again");
    assert!(fleet.session(&tenant, &kept).is_some(), "the other session runs on");
    let now = w.leases.list(&tenant).await.unwrap();
    assert!(now.contains(&thief), "the new holder keeps its lease: {now:?}");
    stop_node.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(20), node).await.expect("stops in time").unwrap();
}

/// The simulator's connector, slower to connect than the scan period: how
/// a node starting thousands of sessions at once sees each of them.
struct SlowToConnect {
    inner: Arc<GrammersConnector>,
    delay: Duration,
    connects: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl TelegramConnector for SlowToConnect {
    fn import_session_string(&self, session: &str) -> Result<Vec<u8>, tgdesk_core::ports::TelegramError> {
        self.inner.import_session_string(session)
    }
    async fn connect(
        &self,
        account: &AccountId,
        session: &[u8],
    ) -> Result<Box<dyn tgdesk_core::ports::TelegramSession>, tgdesk_core::ports::TelegramError> {
        self.connects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(self.delay).await;
        self.inner.connect(account, session).await
    }
    async fn start_login(
        &self,
        account: &AccountId,
        phone: &tgdesk_core::domain::Phone,
    ) -> Result<Box<dyn tgdesk_core::ports::TelegramSession>, tgdesk_core::ports::TelegramError> {
        self.inner.start_login(account, phone).await
    }
}

/// Scans that come while an account's session still connects leave it to
/// the runner that has it: taking the node's own lease again would start a
/// second session and stop the first as if another node had taken it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_slow_to_connect_is_started_once_and_keeps_its_lease() {
    use tgdesk_core::ports::Leases;
    let w = world().await;
    let id = w.account("+15550350001").await;
    let connector =
        Arc::new(SlowToConnect { inner: w.connector.clone(), delay: Duration::from_secs(1), connects: 0.into() });
    let mut config = FleetConfig::new("node-a");
    config.scan_every = Duration::from_millis(100);
    config.heartbeat = Duration::from_millis(300);
    config.lease_ttl = Duration::from_secs(3);
    let fleet = Fleet::new(w.desk.clone(), w.leases.clone(), connector.clone(), w.sealer.clone(), config);
    let (stop_node, stopped) = watch::channel(false);
    let node = tokio::spawn(fleet.clone().run(stopped));

    w.wait_status(&id, AccountStatus::Online).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(connects(&connector), 1, "the account was started again while it connected");
    let leases = w.leases.list(&w.admin.tenant).await.unwrap();
    assert_eq!(leases.iter().map(|l| l.fencing).collect::<Vec<_>>(), [1], "the lease was taken once: {leases:?}");
    assert!(fleet.session(&w.admin.tenant, &id).is_some(), "the session runs on");
    stop_node.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(20), node).await.expect("stops in time").unwrap();
}

fn connects(connector: &SlowToConnect) -> u32 {
    connector.connects.load(std::sync::atomic::Ordering::Relaxed)
}

/// The leases of a node cut off from the lease store: every call fails while `down`.
struct CutOff {
    inner: Arc<SqliteLeases>,
    down: std::sync::atomic::AtomicBool,
}

impl CutOff {
    fn check(&self) -> Result<(), tgdesk_core::ports::PortError> {
        if self.down.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(tgdesk_core::ports::PortError::new(
                tgdesk_core::ports::PortErrorKind::Unavailable,
                "lease store unreachable",
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl tgdesk_core::ports::Leases for CutOff {
    async fn acquire(
        &self,
        t: &TenantId,
        a: &AccountId,
        node: &str,
        ttl: Duration,
    ) -> Result<tgdesk_core::ports::Lease, tgdesk_core::ports::PortError> {
        self.check()?;
        self.inner.acquire(t, a, node, ttl).await
    }
    async fn renew(
        &self,
        lease: &tgdesk_core::ports::Lease,
        ttl: Duration,
    ) -> Result<tgdesk_core::ports::Lease, tgdesk_core::ports::PortError> {
        self.check()?;
        self.inner.renew(lease, ttl).await
    }
    async fn renew_many(
        &self,
        leases: &[tgdesk_core::ports::Lease],
        ttl: Duration,
    ) -> Result<Vec<Option<tgdesk_core::ports::Lease>>, tgdesk_core::ports::PortError> {
        self.check()?;
        self.inner.renew_many(leases, ttl).await
    }
    async fn holder(
        &self,
        t: &TenantId,
        a: &AccountId,
    ) -> Result<Option<tgdesk_core::ports::Lease>, tgdesk_core::ports::PortError> {
        self.check()?;
        self.inner.holder(t, a).await
    }
    async fn release(&self, lease: &tgdesk_core::ports::Lease) -> Result<(), tgdesk_core::ports::PortError> {
        self.check()?;
        self.inner.release(lease).await
    }
    async fn list(&self, t: &TenantId) -> Result<Vec<tgdesk_core::ports::Lease>, tgdesk_core::ports::PortError> {
        self.check()?;
        self.inner.list(t).await
    }
}

/// A node that cannot renew its leases stops their sessions before the
/// leases end (another node could take them over then), and runs them again
/// once it reaches the lease store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_its_leases_stops_the_sessions_before_the_leases_end() {
    use std::sync::atomic::Ordering;
    use tgdesk_core::ports::Leases;
    let w = world().await;
    let id = w.account("+15550340001").await;
    let leases = Arc::new(CutOff { inner: w.leases.clone(), down: false.into() });
    let mut config = FleetConfig::new("node-a");
    config.scan_every = Duration::from_millis(200);
    config.heartbeat = Duration::from_millis(500);
    config.lease_ttl = Duration::from_millis(2500);
    let fleet = Fleet::new(w.desk.clone(), leases.clone(), w.connector.clone(), w.sealer.clone(), config);
    let (stop_node, stopped) = watch::channel(false);
    let node = tokio::spawn(fleet.clone().run(stopped));
    w.wait_status(&id, AccountStatus::Online).await;
    let tenant = w.admin.tenant.clone();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(fleet.session(&tenant, &id).is_some(), "renewed leases keep the session running past its ttl");

    leases.down.store(true, Ordering::Relaxed);
    wait_running(&fleet, &tenant, &id, false, Duration::from_secs(6), "the session outlived its lease").await;
    let lease = w.leases.list(&tenant).await.unwrap().into_iter().find(|l| l.account_id == id).unwrap();
    assert!(lease.expires_at > chrono::Utc::now(), "stopped before its lease ended: {lease:?}");
    w.wait_status(&id, AccountStatus::Offline).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(fleet.session(&tenant, &id).is_none(), "started again without a lease");

    leases.down.store(false, Ordering::Relaxed);
    wait_running(&fleet, &tenant, &id, true, Duration::from_secs(15), "the session did not come back with its lease")
        .await;
    stop_node.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(20), node).await.expect("stops in time").unwrap();
}

/// A session is saved when its state changed, not on every `save_every`: an
/// idle account's stored session stays as it is, and the next message
/// (which moves the update state) gets it saved again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_is_not_rewritten_but_a_changed_one_is_saved() {
    let w = world().await;
    let id = w.account("+15550330001").await;
    let mut config = FleetConfig::new("node-a");
    config.scan_every = Duration::from_millis(200);
    config.save_every = Duration::from_millis(200);
    let fleet = Fleet::new(w.desk.clone(), w.leases.clone(), w.connector.clone(), w.sealer.clone(), config);
    let (stop_node, stopped) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(fleet.run(stopped.clone())),
        tokio::spawn(pump::run_ingest(w.desk.clone(), Arc::default(), stopped)),
    ];
    w.wait_status(&id, AccountStatus::Online).await;
    let stored =
        || async { w.desk.ports().directory.get_account(&w.admin.tenant, &id).await.unwrap().unwrap().session };
    // The first message makes the session save with its update state.
    let body = json!({"account_phone": "+15550330001", "from": {"user_id": 7300, "name": "Ida"}, "text": "one"});
    let peer = w.control("/control/messages", body).await["peer"].as_i64().unwrap();
    w.wait_messages(&id, peer, 1).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    let idle = stored().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(stored().await == idle, "an unchanged session was written again");

    let body = json!({"account_phone": "+15550330001", "from": {"user_id": 7300, "name": "Ida"}, "text": "two"});
    w.control("/control/messages", body).await;
    w.wait_messages(&id, peer, 2).await;
    let mut waited = 0;
    while stored().await == idle {
        assert!(waited < 100, "the session was not saved after its state moved");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    stop((stop_node, tasks)).await;
}

/// The `tgdesk-fleet` binary as its own process on the data dir this test
/// (standing in for an API-only server) uses: it runs the account, publishes
/// what customers write, carries out a reply, and saves and lets go of the
/// session on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_node_process_on_a_shared_data_dir_runs_the_accounts() {
    let w = world().await;
    let phone = "+15550300031";
    let account = w.account(phone).await;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tgdesk-fleet"))
        .args(["--data-dir", w._dir.path().to_str().unwrap(), "--node-id", "node-process", "--scan-every", "200ms"])
        .env_remove("TGDESK_TG_API_ID")
        .env_remove("TGDESK_TG_API_HASH")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the fleet binary starts");
    // A failing assertion must not leave the node running (it holds the test's stderr open).
    let mut node = KilledOnDrop(Some(child));
    let (stop_pump, stopped) = watch::channel(false);
    let pump = tokio::spawn(pump::run_ingest(w.desk.clone(), Arc::default(), stopped.clone()));
    // The server's side of push: the node's events arrive over the queue.
    let hub = Arc::new(tgdesk_local::WsHub::default());
    let mut admin_socket = hub.subscribe(&w.admin.tenant, &w.admin.user_id, None);
    let relay = tokio::spawn(tgdesk_local::relay_push(w.desk.ports().queue.clone(), hub.clone(), stopped));
    w.wait_status(&account, AccountStatus::Online).await;
    let online = next_event(&mut admin_socket, "account.status").await;
    assert_eq!(
        (online["account_id"].as_str(), online["status"].as_str()),
        (Some(account.as_str()), Some("connecting"))
    );
    let online = next_event(&mut admin_socket, "account.status").await;
    assert_eq!(online["status"], "online");
    let text = "Is the shop open?";
    let written =
        w.control("/control/messages", json!({"account_phone": phone, "from": {"user_id": 7031}, "text": text})).await;
    let peer = written["peer"].as_i64().unwrap();
    assert_eq!(w.wait_messages(&account, peer, 1).await, vec![text]);
    let reply = NewMessage { text: "Until 8 pm.".into(), reply_to: None, files: vec![] };
    let sent = w.desk.send_message(&w.admin, &account, peer, reply).await.unwrap();
    assert_eq!(settled_send(&w, &sent.id).await.status, tgdesk_core::domain::SendStatus::Sent);
    let status = next_event(&mut admin_socket, "send.status").await;
    assert_eq!((status["id"].as_str(), status["status"].as_str()), (Some(sent.id.as_str()), Some("sent")));
    let mut child = node.0.take().unwrap();
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "the node stops cleanly on SIGTERM: {exit}");
    let stored = w.desk.ports().directory.get_account(&w.admin.tenant, &account).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::Offline);
    stop_pump.send(true).unwrap();
    pump.await.unwrap();
    relay.await.unwrap();
}

/// A child process killed when the test ends early.
struct KilledOnDrop(Option<std::process::Child>);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Returns the data of the next `kind` event on a hub subscription (others are skipped).
async fn next_event(sub: &mut tgdesk_local::push::Subscription, kind: &str) -> Value {
    loop {
        let text = tokio::time::timeout(Duration::from_secs(20), sub.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event"))
            .expect("subscription open");
        let event: Value = serde_json::from_str(&text).unwrap();
        if event["type"] == kind {
            return event["data"].clone();
        }
    }
}

/// A command whose caller stopped waiting (here: a logout that expired before
/// the node took it) is dropped, not carried out late, and gets no reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_nobody_waits_for_any_more_is_dropped() {
    use tgdesk_core::usecases::{Call, FleetCommand, COMMANDS_QUEUE};
    let w = world().await;
    let account = w.account("+15550300041").await;
    let call = Call::new(&w.admin.tenant, &account);
    let request = call.request_id.clone();
    let late = FleetCommand::Logout { call }.expiring_at(chrono::Utc::now() - chrono::Duration::seconds(1));
    w.desk.ports().queue.send_batch(COMMANDS_QUEUE, vec![late.to_body()]).await.unwrap();
    let node = start(&w, "node-a");
    w.wait_status(&account, AccountStatus::Online).await;
    for _ in 0..100 {
        let depth = w.desk.ports().queue.depth(COMMANDS_QUEUE).await.unwrap();
        if depth.visible + depth.in_flight == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let depth = w.desk.ports().queue.depth(COMMANDS_QUEUE).await.unwrap();
    assert_eq!(depth.visible + depth.in_flight, 0, "the node took the command");
    assert_eq!(w.desk.ports().replies.take_reply(&w.admin.tenant, &request).await.unwrap(), None);
    let stored = w.desk.ports().directory.get_account(&w.admin.tenant, &account).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.session.is_some()), (AccountStatus::Online, true), "not logged out");
    stop(node).await;
}
