//! Brings the whole local deployment up for the e2e scenario: a simulator
//! with authorized accounts (embedded, or the `tg-sim` binary as a child
//! process, as Telegram's cloud is not on the server), the real server (`tgdesk::App`: store,
//! fleet, ingest pump, REST and WebSocket on 127.0.0.1:0), agents who own
//! the accounts, and a JWT per agent from `POST /api/auth/login`.

use crate::sim_process::SimProcess;
use crate::simctl;
use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tg_sim::{Cloud, SimConfig, SimHandle, Simulator};
use tgdesk::config::ServerConfig;
use tgdesk::App;
use tgdesk_core::domain::{Role, TenantId, UserId};
use tgdesk_core::ports::{AccountQuery, DialogScope, UserQuery};
use tgdesk_core::usecases::{Actor, Desk, ImportFormat, NewAgent};
use tgdesk_fleet::pump::PumpMetrics;
use tgdesk_local::WsHub;
use tokio::sync::oneshot;

/// Password of every bench agent.
const PASSWORD: &str = "bench-agent-password";
/// Password of the demo tenant's admin.
const ADMIN_PASSWORD: &str = "bench-admin-password";
/// Agents created or logged in at once (argon2 keeps both cores busy).
const PARALLEL_AUTH: usize = 4;

/// Where the simulated Telegram cloud runs.
pub enum Sim {
    /// In this process, injected into directly.
    Embedded(SimHandle),
    /// The `tg-sim` binary, written to over its control API.
    Process(SimProcess),
}

impl Sim {
    /// Base URL of its control API.
    pub fn control_url(&self) -> String {
        match self {
            Sim::Embedded(sim) => sim.control_url(),
            Sim::Process(sim) => sim.control.clone(),
        }
    }

    /// The cloud, when it runs in this process.
    pub fn cloud(&self) -> Option<Arc<Cloud>> {
        match self {
            Sim::Embedded(sim) => Some(sim.cloud().clone()),
            Sim::Process(_) => None,
        }
    }

    /// Its process id, when it runs apart.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Sim::Embedded(_) => None,
            Sim::Process(sim) => Some(sim.pid),
        }
    }
}

/// The running deployment and what the scenario needs to check it.
pub struct Deployment {
    /// The simulator.
    pub sim: Sim,
    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub base: String,
    /// Counters of the ingest pump.
    pub pump: Arc<PumpMetrics>,
    /// The push hub, for its counters.
    pub hub: Arc<WsHub>,
    /// Account phones; the index is the account number.
    pub phones: Vec<String>,
    /// Store ids of the accounts, by account number.
    pub account_ids: Vec<String>,
    /// Owning agent of each account, by account number.
    pub owner_of: Vec<usize>,
    /// Each agent's team leader (an agent number), by agent number; `None` for leaders.
    pub leader_of: Vec<Option<usize>>,
    /// A JWT per agent, by agent number.
    pub tokens: Vec<String>,
    /// Seconds each set-up step took.
    pub timings: serde_json::Map<String, Value>,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dirs: [tempfile::TempDir; 2],
}

impl Deployment {
    /// Starts everything and waits until every account's session is online;
    /// `sim_apart` runs the simulator as a child process. The first `leaders`
    /// of the `agents` lead teams, the others are spread over their teams
    /// (none when `leaders` is 0) and own the accounts.
    pub async fn start(accounts: usize, agents: usize, leaders: usize, sim_apart: bool) -> anyhow::Result<Self> {
        anyhow::ensure!(leaders < agents, "{leaders} leaders leave no agent to own accounts");
        let mut timings = serde_json::Map::new();
        let mut step = Step::default();
        let sim_dir = tempfile::tempdir()?;
        // Telegram's own storage is not the pipeline's cost: the simulator keeps messages in memory only.
        let sim = if sim_apart {
            Sim::Process(SimProcess::start()?)
        } else {
            Sim::Embedded(
                Simulator::start(SimConfig {
                    snapshots: false,
                    ..SimConfig::new("127.0.0.1:0".parse()?, sim_dir.path())
                })
                .await?,
            )
        };
        let phones = simctl::phones(6, accounts);
        let sessions = simctl::create_accounts(&sim.control_url(), &phones).await?;
        step.done(&mut timings, "sim_accounts_seconds");

        let dir = tempfile::tempdir()?;
        let mut config = ServerConfig::for_dir(dir.path().to_path_buf(), "127.0.0.1:0".parse()?);
        config.sim_url = Some(sim.control_url());
        config.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
        config.jwt_secret = Some(SecretString::from("bench-jwt-secret-0123456789abcdef"));
        let app = App::build(config).await?;
        let admin = admin_actor(&app.desk).await?;
        let leader_of = teams(agents, leaders);
        let names = create_agents(&app.desk, &admin, &leader_of).await?;
        step.done(&mut timings, "agents_seconds");

        let mut csv = String::from("phone,owner,session\n");
        for (i, (phone, session)) in phones.iter().zip(&sessions).enumerate() {
            csv.push_str(&format!("{phone},{},{session}\n", names[leaders + i % (agents - leaders)]));
        }
        let report = app.desk.import_accounts(&admin, ImportFormat::Csv, csv.as_bytes(), &|_| {}).await?;
        anyhow::ensure!(report.imported == accounts, "imported {} of {accounts} accounts", report.imported);
        let (account_ids, owner_of) = ownership(&app.desk, &admin.tenant, &phones).await?;
        step.done(&mut timings, "import_seconds");

        let (pump, hub) = (app.pump.clone(), app.hub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        wait_online(&base, accounts).await?;
        step.done(&mut timings, "sessions_online_seconds");

        let tokens = log_in(&base, &names).await?;
        step.done(&mut timings, "logins_seconds");
        Ok(Self {
            sim,
            base,
            pump,
            hub,
            phones,
            account_ids,
            owner_of,
            leader_of,
            tokens,
            timings,
            stop,
            server,
            _dirs: [sim_dir, dir],
        })
    }

    /// Stops the server (the fleet saves every session) and the simulator.
    pub async fn shut_down(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await??;
        if let Sim::Embedded(sim) = self.sim {
            sim.shutdown().await;
        }
        Ok(())
    }
}

/// Measures set-up steps one after another.
struct Step(Instant);

impl Default for Step {
    fn default() -> Self {
        Self(Instant::now())
    }
}

impl Step {
    fn done(&mut self, timings: &mut serde_json::Map<String, Value>, name: &str) {
        timings.insert(name.into(), json!((self.0.elapsed().as_secs_f64() * 100.0).round() / 100.0));
        self.0 = Instant::now();
    }
}

async fn admin_actor(desk: &Desk) -> anyhow::Result<Actor> {
    let tenant = TenantId::parse(tgdesk::DEMO_TENANT)?;
    let admin = desk
        .ports()
        .directory
        .find_user(&tenant, &tgdesk_core::domain::Username::parse(tgdesk::DEMO_ADMIN)?)
        .await?
        .context("the demo admin is missing")?;
    Ok(Actor::of(&admin))
}

/// Each agent's leader by agent number: the first `leaders` lead, the others
/// join their teams in turn.
fn teams(agents: usize, leaders: usize) -> Vec<Option<usize>> {
    (0..agents).map(|i| (i >= leaders && leaders > 0).then(|| (i - leaders) % leaders)).collect()
}

/// Creates agents `e2e0..` through the use case, leaders first, each agent in
/// the team `leader_of` names, and returns their usernames.
async fn create_agents(desk: &Desk, admin: &Actor, leader_of: &[Option<usize>]) -> anyhow::Result<Vec<String>> {
    let bar = simctl::progress(leader_of.len() as u64, "agents");
    let names: Vec<String> = (0..leader_of.len()).map(|i| format!("e2e{i}")).collect();
    let leaders = leader_of.iter().take_while(|l| l.is_none()).count();
    let create = |specs: Vec<NewAgent>| {
        futures::stream::iter(specs)
            .map(|input| {
                let (desk, admin, bar) = (desk.clone(), admin.clone(), bar.clone());
                // Spawned so the argon2 hashes run on both cores.
                tokio::spawn(async move {
                    let view = desk.create_agent(&admin, input).await?;
                    bar.inc(1);
                    anyhow::Ok(view.id)
                })
            })
            .buffered(PARALLEL_AUTH)
            .map(|joined| joined?)
            .try_collect::<Vec<UserId>>()
    };
    let spec = |i: usize, role: Role, leader_id: Option<UserId>| NewAgent {
        username: names[i].clone(),
        password: PASSWORD.into(),
        display_name: None,
        role,
        leader_id,
    };
    let leader_ids = create((0..leaders).map(|i| spec(i, Role::Leader, None)).collect()).await?;
    let agents = (leaders..names.len()).map(|i| spec(i, Role::Agent, leader_of[i].map(|l| leader_ids[l].clone())));
    create(agents.collect()).await?;
    bar.finish_and_clear();
    Ok(names)
}

/// Returns, in the order of `phones`, each account's store id and owning agent number.
async fn ownership(desk: &Desk, tenant: &TenantId, phones: &[String]) -> anyhow::Result<(Vec<String>, Vec<usize>)> {
    let users = desk.ports().directory.list_users(tenant, &UserQuery { limit: 100_000, ..Default::default() }).await?;
    let agent_no: HashMap<UserId, usize> = users
        .iter()
        .filter_map(|u| Some((u.id.clone(), u.username.as_str().strip_prefix("e2e")?.parse().ok()?)))
        .collect();
    let mut by_phone = HashMap::new();
    let mut query = AccountQuery::scoped(DialogScope::Tenant, 500);
    loop {
        let page = desk.ports().directory.list_accounts(tenant, &query).await?;
        let full = page.len() == query.limit;
        query.after = page.last().map(|a| a.id.clone());
        for a in page {
            let owner =
                a.owner_id.as_ref().and_then(|o| agent_no.get(o)).copied().context("an account has no owner")?;
            by_phone.insert(a.phone.to_string(), (a.id.to_string(), owner));
        }
        if !full {
            break;
        }
    }
    phones.iter().map(|p| by_phone.get(p).cloned().with_context(|| format!("account {p} was not imported"))).collect()
}

/// Waits until the fleet reports every session online (at most 10 minutes).
async fn wait_online(base: &str, accounts: usize) -> anyhow::Result<()> {
    let bar = simctl::progress(accounts as u64, "online");
    let started = Instant::now();
    loop {
        let online = crate::e2e::timeline::scrape(base).await.map(|m| m.sessions_online).unwrap_or(0);
        bar.set_position(online);
        if online as usize >= accounts {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "only {online} of {accounts} sessions online");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bar.finish_and_clear();
    Ok(())
}

/// Logs every agent in over REST and returns their tokens.
async fn log_in(base: &str, names: &[String]) -> anyhow::Result<Vec<String>> {
    let url = format!("{base}/api/auth/login");
    let requests = names
        .iter()
        .map(|name| (url.clone(), json!({"tenant": tgdesk::DEMO_TENANT, "username": name, "password": PASSWORD})));
    simctl::post_each(requests, "token", PARALLEL_AUTH, "logins").await
}
