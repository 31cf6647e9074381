//! The session fleet: each node leases accounts (never two nodes on one
//! account), runs one Telegram session per leased account, turns Telegram
//! updates into envelopes published in batches to the updates queue, carries
//! out commands from the commands queue (sends, login steps, logout, edits,
//! deletes, read marks, media downloads, syncs), and saves each session's
//! update state so a restarted or taken-over account catches up instead of
//! losing messages. The local server embeds it; on AWS it runs on ECS.
//!
//! [`pump`] is the local consumer of the updates queue (on AWS, the ingest Lambda).

mod commands;
mod login;
mod publisher;
pub mod pump;
mod runner;
mod saver;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tgdesk_core::domain::{Account, AccountId, TenantId};
use tgdesk_core::ports::{Lease, Leases, PortErrorKind, SessionSealer, TelegramConnector, TelegramSession};
use tgdesk_core::usecases::{node_commands_queue, Desk, COMMANDS_QUEUE};
use tokio::sync::{mpsc, watch};

/// How a fleet node behaves.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// This node's name in leases.
    pub node_id: String,
    /// How long a lease lasts without renewal (a dead node's accounts move after it).
    pub lease_ttl: Duration,
    /// How often held leases are renewed.
    pub heartbeat: Duration,
    /// How often the store is scanned for accounts to run.
    pub scan_every: Duration,
    /// Longest time an update waits in its session for more of its updates
    /// before it goes to the node's publisher. Zero (the default) sends it as
    /// soon as no other update of the session is ready: a busy session still
    /// sends many per envelope (those that arrive while it waits for the
    /// publisher), and a quiet one does not hold its messages back.
    pub batch_window: Duration,
    /// Longest time the publisher gathers envelopes of all sessions into one queue write.
    pub publish_window: Duration,
    /// Most updates per published batch.
    pub batch_max: usize,
    /// How often a session's state is saved.
    pub save_every: Duration,
    /// Dialogs synced when a session comes online.
    pub dialogs_on_connect: usize,
    /// Messages per dialog synced when a session comes online.
    pub history_on_connect: usize,
    /// How long a command taken off a queue stays hidden from every other
    /// reader: longer than the slowest command (a send waiting its turn
    /// behind the account's pacing, a large download), or a live node's
    /// command comes back and is carried out twice at once; and, as the
    /// price of that, how long the commands a dead node had taken wait
    /// before another node can have them.
    pub command_visibility: Duration,
}

impl FleetConfig {
    /// Returns the defaults for a node called `node_id`.
    pub fn new(node_id: impl Into<String>) -> Self {
        Self {
            node_id: node_id.into(),
            lease_ttl: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            scan_every: Duration::from_secs(5),
            batch_window: Duration::ZERO,
            publish_window: Duration::from_millis(20),
            batch_max: 500,
            save_every: Duration::from_secs(30),
            dialogs_on_connect: 100,
            history_on_connect: 20,
            command_visibility: Duration::from_secs(120),
        }
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct FleetMetrics {
    /// Sessions running on this node.
    pub sessions_online: AtomicU64,
    /// Sessions connecting (or reconnecting) on this node.
    pub sessions_connecting: AtomicU64,
    /// Updates published.
    pub updates_published: AtomicU64,
    /// Sends that succeeded.
    pub sends_ok: AtomicU64,
    /// Sends that failed for good.
    pub sends_failed: AtomicU64,
    /// Messages of a send that Telegram already had from an earlier attempt
    /// (refused as repeats, so not posted twice).
    pub sends_repeated: AtomicU64,
    /// FLOOD_WAITs met while sending.
    pub flood_waits: AtomicU64,
    /// Commands passed on to the node holding their account (or to the shared queue).
    pub commands_passed_on: AtomicU64,
}

/// A node found gone, whose queue is drained now and again.
struct GoneNode {
    since: std::time::Instant,
    drained: Option<std::time::Instant>,
}

/// How often a gone node's queue is drained again, at most: commands it had
/// taken come back one command visibility after it took them, so a shorter
/// visibility drains as often as that.
const DRAIN_AGAIN: Duration = Duration::from_secs(30);

/// Why a running session is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// The node shuts down: save the session and release the lease.
    Shutdown,
    /// An agent logged the account out: the session is dead, do not save it.
    LoggedOut,
    /// Another node took the lease over: stop without saving or releasing.
    LeaseLost,
    /// The lease could not be renewed before its end: stop as at shutdown
    /// (save, try to release, report offline) before another node may take it.
    LeaseLapsing,
}

struct Running {
    session: Arc<dyn TelegramSession>,
    stop: watch::Sender<Option<Stop>>,
    /// The lease it runs under, renewed by [`Fleet::keep_leases`].
    lease: Lease,
}

/// Waits for the next job of a node task (the publisher, the saver) that
/// runs until `stop` turns true and nothing waits in its inbox; `None` once
/// it should end.
async fn next_job<T>(inbox: &mut mpsc::Receiver<T>, stop: &mut watch::Receiver<bool>) -> Option<T> {
    loop {
        if *stop.borrow() {
            // Stopping: finish what waits, then end.
            return inbox.try_recv().ok();
        }
        tokio::select! {
            job = inbox.recv() => return job,
            changed = stop.changed() => {
                if changed.is_err() {
                    return None;
                }
            }
        }
    }
}

/// Account ids read per page of a scan.
const SCAN_PAGE: usize = 1000;

/// Most leases renewed in one call (one transaction on SQLite).
const RENEW_CHUNK: usize = 1000;

type Key = (TenantId, AccountId);

/// One fleet node.
pub struct Fleet {
    desk: Desk,
    leases: Arc<dyn Leases>,
    connector: Arc<dyn TelegramConnector>,
    sealer: Arc<dyn SessionSealer>,
    config: FleetConfig,
    running: Mutex<HashMap<Key, Running>>,
    /// Accounts with a runner on this node, from before their session
    /// connects until the runner ends; the scan leaves them alone. (An
    /// account still connecting is not `running` yet: a scan that started it
    /// again took the node's own lease anew, with a new fencing number, and
    /// the first session stopped as if another node had taken it over.)
    runners: Mutex<HashSet<Key>>,
    logins: Mutex<HashMap<Key, login::PendingLogin>>,
    publisher: publisher::Publisher,
    saver: saver::Saver,
    tasks: tokio::sync::Mutex<tokio::task::JoinSet<()>>,
    /// Nodes found gone (every lease lapsed), with when: their queues are
    /// drained at every scan until commands they had taken (invisible for
    /// the commands' visibility timeout) had time to come back.
    gone_nodes: Mutex<HashMap<String, GoneNode>>,
    /// Counters, read by `/metrics`.
    pub metrics: FleetMetrics,
}

impl Fleet {
    /// Builds a node; nothing runs until [`Fleet::run`].
    pub fn new(
        desk: Desk,
        leases: Arc<dyn Leases>,
        connector: Arc<dyn TelegramConnector>,
        sealer: Arc<dyn SessionSealer>,
        config: FleetConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            desk,
            leases,
            connector,
            sealer,
            config,
            running: Mutex::default(),
            runners: Mutex::default(),
            logins: Mutex::default(),
            gone_nodes: Mutex::default(),
            publisher: publisher::Publisher::new(),
            saver: saver::Saver::new(),
            tasks: tokio::sync::Mutex::default(),
            metrics: FleetMetrics::default(),
        })
    }

    /// Runs until `shutdown` turns true, then stops taking commands and
    /// lets those in hand finish (a send cut off mid-call could reach the
    /// customer and be sent again by the next holder), stops every session
    /// (saving its state and releasing its lease), and passes what still
    /// waits on its own queue to the shared one, before returning.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let (stop_publishing, publishing) = watch::channel(false);
        let node = self.clone();
        let publisher = tokio::spawn(async move {
            let window = node.config.publish_window;
            node.publisher.run(node.desk.ports().queue.clone(), &node.metrics, window, publishing).await;
        });
        let (stop_saving, saving) = watch::channel(false);
        let node = self.clone();
        let saver = tokio::spawn(async move { node.saver.run(node.desk.ports().directory.clone(), saving).await });
        let own_queue = node_commands_queue(&self.config.node_id);
        let commands = tokio::spawn(commands::consume(self.clone(), COMMANDS_QUEUE.to_owned(), shutdown.clone()));
        let own_commands = tokio::spawn(commands::consume(self.clone(), own_queue.clone(), shutdown.clone()));
        let keeper = tokio::spawn(self.clone().keep_leases(shutdown.clone()));
        let mut tick = tokio::time::interval(self.config.scan_every);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    login::expire(&self).await;
                    if let Err(e) = self.scan().await {
                        tracing::warn!(error = %e, "account scan failed");
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        let _ = commands.await;
        let _ = own_commands.await;
        for running in self.lock().values() {
            let _ = running.stop.send(Some(Stop::Shutdown));
        }
        let _ = keeper.await;
        login::abandon_all(&self).await;
        let mut tasks = self.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
        // The leases are released: what still waits for this node goes to
        // the shared queue, for the nodes that take its accounts.
        match commands::drain(&self, &own_queue).await {
            Ok(0) => {}
            Ok(moved) => tracing::info!(moved, "commands left for this node passed to the shared queue"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot pass this node's waiting commands on; a node taking its accounts will")
            }
        }
        // Every session published what it had and saved its state; the
        // publisher and the saver drain and stop.
        let _ = stop_publishing.send(true);
        let _ = stop_saving.send(true);
        let _ = publisher.await;
        let _ = saver.await;
    }

    /// Renews the leases of every running session each heartbeat, a chunk
    /// per call, until `shutdown`; a session whose lease another node took
    /// is stopped. (A write per session per heartbeat cost 200 transactions
    /// a second at 2,000 sessions, and DynamoDB would bill every one.)
    async fn keep_leases(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let period = self.config.heartbeat;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let held: Vec<(Key, Lease)> = self.lock().iter().map(|(k, r)| (k.clone(), r.lease.clone())).collect();
            for chunk in held.chunks(RENEW_CHUNK) {
                let leases: Vec<Lease> = chunk.iter().map(|(_, l)| l.clone()).collect();
                match self.leases.renew_many(&leases, self.config.lease_ttl).await {
                    Ok(renewed) => self.settle_renewals(chunk, renewed),
                    // Retried at the next heartbeat; a lease that would end first is given up.
                    Err(e) => {
                        tracing::warn!(error = %e, leases = chunk.len(), "cannot renew leases");
                        // Half a period more: a lease renewed a heartbeat ago must not sit on the boundary.
                        self.stop_lapsing(chunk, chrono::Utc::now() + period.mul_f64(1.5));
                    }
                }
            }
        }
    }

    /// Records renewed leases and stops the sessions whose lease was lost,
    /// unless a session was replaced (a new lease) meanwhile.
    fn settle_renewals(&self, held: &[(Key, Lease)], renewed: Vec<Option<Lease>>) {
        let mut running = self.lock();
        for ((key, lease), renewed) in held.iter().zip(renewed) {
            let Some(run) = running.get_mut(key).filter(|r| r.lease.fencing == lease.fencing) else { continue };
            match renewed {
                Some(renewed) => run.lease = renewed,
                None => {
                    tracing::warn!(account = %key.1, "lease taken over; stopping this session");
                    let _ = run.stop.send(Some(Stop::LeaseLost));
                }
            }
        }
    }

    /// Stops the sessions of `held` whose lease ends before `horizon` (past
    /// the next heartbeat) now that renewing failed: past its expiry another
    /// node may take the account over, and two nodes must never run one.
    fn stop_lapsing(&self, held: &[(Key, Lease)], horizon: chrono::DateTime<chrono::Utc>) {
        let running = self.lock();
        for (key, lease) in held.iter().filter(|(_, l)| l.expires_at <= horizon) {
            if let Some(run) = running.get(key).filter(|r| r.lease.fencing == lease.fencing) {
                tracing::warn!(account = %key.1, "lease could not be renewed before it ends; stopping this session");
                let _ = run.stop.send(Some(Stop::LeaseLapsing));
            }
        }
    }

    /// Returns how many logins wait for a code or password on this node.
    pub fn logins_pending(&self) -> usize {
        self.logins.lock().map(|l| l.len()).unwrap_or_else(|p| p.into_inner().len())
    }

    /// Returns the running session of an account on this node, if any.
    pub fn session(&self, tenant: &TenantId, account: &AccountId) -> Option<Arc<dyn TelegramSession>> {
        self.lock().get(&(tenant.clone(), account.clone())).map(|r| r.session.clone())
    }

    /// Starts a session for every runnable account not running here and not
    /// held by another live node. The scan reads ids and leases; only the
    /// accounts to start are read whole.
    async fn scan(self: &Arc<Self>) -> Result<(), tgdesk_core::ports::PortError> {
        // A node whose every lease lapsed is gone: its queue is drained
        // below, once this scan took over what it could of its accounts.
        let (mut seen_nodes, mut live_nodes) = (HashSet::new(), HashSet::new());
        for tenant in self.desk.ports().directory.list_tenants().await? {
            let now = chrono::Utc::now();
            let leases = self.leases.list(&tenant.id).await?;
            for lease in leases.iter().filter(|l| l.node != self.config.node_id) {
                seen_nodes.insert(lease.node.clone());
                if lease.expires_at > now {
                    live_nodes.insert(lease.node.clone());
                }
            }
            let elsewhere: HashSet<AccountId> = leases
                .into_iter()
                .filter(|l| l.node != self.config.node_id && l.expires_at > now)
                .map(|l| l.account_id)
                .collect();
            let mut after = None;
            loop {
                let page = self.desk.ports().directory.runnable_accounts(&tenant.id, after.as_ref(), SCAN_PAGE).await?;
                let full = page.len() == SCAN_PAGE;
                after = page.last().cloned();
                let idle: Vec<AccountId> = page
                    .into_iter()
                    .filter(|id| !elsewhere.contains(id))
                    .filter(|id| {
                        let key = (tenant.id.clone(), id.clone());
                        !self.has_runner(&key) && !login::pending(self, &key)
                    })
                    .collect();
                if !idle.is_empty() {
                    // Read whole now: an account may have changed since its id was listed.
                    for account in self.desk.ports().directory.get_accounts(&tenant.id, &idle).await? {
                        if account.is_runnable() {
                            self.start(account).await;
                        }
                    }
                }
                if !full {
                    break;
                }
            }
        }
        self.drain_gone_nodes(seen_nodes.difference(&live_nodes).cloned().collect(), &live_nodes).await;
        Ok(())
    }

    /// Drains the queues of the nodes found gone, at once and every
    /// [`DRAIN_AGAIN`] (or command visibility, if shorter) after, until
    /// commands they had taken (invisible for the commands' visibility
    /// timeout) came back and moved on too.
    async fn drain_gone_nodes(&self, newly_gone: Vec<String>, live: &HashSet<String>) {
        let visibility = self.config.command_visibility;
        let keep_draining = (visibility + self.config.lease_ttl) * 2;
        let drain_again = DRAIN_AGAIN.min(visibility);
        let draining: Vec<String> = {
            let mut gone = self.gone_nodes.lock().unwrap_or_else(|p| p.into_inner());
            // A node back under the same name drains its own queue.
            gone.retain(|node, g| !live.contains(node) && g.since.elapsed() < keep_draining);
            for node in newly_gone {
                gone.entry(node).or_insert_with(|| GoneNode { since: std::time::Instant::now(), drained: None });
            }
            let due = |g: &GoneNode| g.drained.is_none_or(|at| at.elapsed() >= drain_again);
            let due: Vec<String> = gone.iter().filter(|(_, g)| due(g)).map(|(n, _)| n.clone()).collect();
            for node in &due {
                if let Some(g) = gone.get_mut(node) {
                    g.drained = Some(std::time::Instant::now());
                }
            }
            due
        };
        for node in draining {
            match commands::drain(self, &node_commands_queue(&node)).await {
                Ok(0) => {}
                Ok(moved) => tracing::info!(node, moved, "a gone node's waiting commands passed to the shared queue"),
                Err(e) => {
                    tracing::warn!(node, error = %e, "cannot drain a gone node's commands; tried again next scan")
                }
            }
        }
    }

    async fn start(self: &Arc<Self>, account: Account) {
        let lease = match self
            .leases
            .acquire(&account.tenant, &account.id, &self.config.node_id, self.config.lease_ttl)
            .await
        {
            Ok(lease) => lease,
            Err(e) if e.kind == PortErrorKind::Conflict => return,
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "cannot take the lease");
                return;
            }
        };
        self.spawn_runner(account, lease, None).await;
    }

    /// Runs `account` under `lease`, on `session` when it is connected already (a finished login).
    async fn spawn_runner(self: &Arc<Self>, account: Account, lease: Lease, session: Option<Arc<dyn TelegramSession>>) {
        let fleet = self.clone();
        self.runners().insert((account.tenant.clone(), account.id.clone()));
        self.tasks.lock().await.spawn(runner::run(fleet, account, lease, session));
    }

    /// True when a runner has the account on this node (connecting, running or stopping).
    fn has_runner(&self, key: &Key) -> bool {
        self.runners().contains(key)
    }

    fn runners(&self) -> std::sync::MutexGuard<'_, HashSet<Key>> {
        // Every update is one insert or remove: a poisoned lock still holds a consistent set.
        self.runners.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Running>> {
        // Every update of the map is one insert or remove: a poisoned lock still holds a consistent map.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}
