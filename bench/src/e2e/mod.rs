//! The whole local pipeline with real parts, in one process: an embedded
//! tg-sim, accounts with authorized sessions imported into a tenant, the real
//! server (`tgdesk::App`: SQLite store, session fleet on GrammersConnector,
//! ingest pump, push hub, REST and `GET /ws` on 127.0.0.1:0) and a real
//! WebSocket client per agent, logged in with a JWT. Every customer first
//! writes once, so the timed traffic runs on conversations that exist, as in
//! a help desk that has been running (`cold` leaves that out); then customers
//! write at a target rate (see [`traffic`]); the scenario reports stored throughput,
//! send→WebSocket latency, what arrived against what was sent (each message
//! exactly once at its owner and at the owner's team leader, nowhere else),
//! memory and CPU, and a per-second series.

mod clients;
mod setup;
pub mod timeline;
mod traffic;

use crate::stats;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Seconds at the start of traffic left out of the steady-state figures.
const WARM_UP_S: u64 = 5;
/// The run ends when no message arrived for this long after traffic stopped.
const QUIET: Duration = Duration::from_secs(20);
/// Longest wait for the backlog after traffic stopped; what is still missing then counts as missing.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);
/// Messages per second that open the conversations: a gentle pace, since
/// the first contact of every customer at once is not what the run times.
const OPENING_RATE: f64 = 2_000.0;
/// Longest wait for the openings to arrive.
const OPENING_LIMIT: Duration = Duration::from_secs(300);

/// What the scenario runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Telegram accounts (sessions in the fleet).
    pub accounts: usize,
    /// Agents, one WebSocket each.
    pub agents: usize,
    /// How many of the agents lead a team (the others, in teams, own the
    /// accounts); each message then goes to two sockets.
    pub leaders: usize,
    /// Offered messages per second.
    pub rate: f64,
    /// How long customers write.
    pub duration: Duration,
    /// Runs the simulator as a child process instead of in this one.
    pub sim_apart: bool,
    /// Starts the timed traffic on new conversations: no customer wrote
    /// before, so the first seconds also create every dialog and profile.
    pub cold: bool,
}

/// Runs the scenario and returns its results.
pub async fn run(opts: &Options) -> anyhow::Result<Value> {
    let deployment = setup::Deployment::start(opts.accounts, opts.agents, opts.leaders, opts.sim_apart).await?;
    let target = match deployment.sim.cloud() {
        Some(cloud) => {
            traffic::add_customers(&cloud, opts.accounts)?;
            traffic::Target::Cloud(cloud)
        }
        None => traffic::Target::Control(deployment.sim.control_url()),
    };
    let sim_pid = deployment.sim.pid().map(|pid| pid.to_string());
    let sim_cpu = || sim_pid.as_deref().map_or(0.0, stats::cpu_seconds_of);
    // Each account once per agent: its owner and the owner's leader differ.
    let mut visible = vec![Vec::new(); opts.agents];
    for (id, &owner) in deployment.account_ids.iter().zip(&deployment.owner_of) {
        visible[owner].push(id.clone());
        if let Some(leader) = deployment.leader_of[owner] {
            visible[leader].push(id.clone());
        }
    }
    let counter = || Arc::new(AtomicU64::new(0));
    let (received, opened) = (counter(), counter());
    let at_leaders: clients::Counters = (counter(), counter());
    let counters = (0..opts.agents)
        .map(|i| if i < opts.leaders { at_leaders.clone() } else { (received.clone(), opened.clone()) })
        .collect();
    let (stop, stopped) = watch::channel(false);
    let sockets =
        clients::connect_all(&deployment.base, &deployment.tokens, visible, counters, stopped.clone()).await?;
    let copies = Copies((opts.leaders > 0).then_some(at_leaders));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut setup = deployment.timings.clone();
    let openings = if opts.cold {
        0
    } else {
        let started = Instant::now();
        let n = open_conversations(&deployment, &target, &opened, &copies).await?;
        setup.insert("conversations_opened_seconds".into(), json!(round3(started.elapsed().as_secs_f64())));
        n
    };

    let injected = Arc::new(AtomicU64::new(0));
    let stored_before = deployment.pump.new_messages.load(Ordering::Relaxed);
    let counters =
        timeline::Counters { injected: injected.clone(), received: received.clone(), pump: deployment.pump.clone() };
    let sampler = tokio::spawn(timeline::record(deployment.base.clone(), counters, stopped.clone()));
    let (started, started_us, cpu_before, sim_cpu_before) =
        (Instant::now(), traffic::now_us(), stats::cpu_seconds(), sim_cpu());
    let plan = traffic::Plan { phones: Arc::new(deployment.phones.clone()), rate: opts.rate, duration: opts.duration };
    // A line scripts wait for to measure the timed traffic alone (perf stat -p, say).
    eprintln!("e2e: timed traffic starts: {} msg/s for {:?}", opts.rate, opts.duration);
    let injector = tokio::spawn(traffic::run(target, plan, injected.clone()));
    let expected_total = (opts.rate * opts.duration.as_secs_f64()).round() as u64;
    let bar = crate::simctl::progress(expected_total, "received");
    while !injector.is_finished() {
        bar.set_position(received.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let per_account = injector.await??;
    let injection = started.elapsed();
    let cpu_injection = stats::cpu_seconds() - cpu_before;
    let sim_cpu_injection = sim_cpu() - sim_cpu_before;
    let total: u64 = per_account.iter().sum();
    let drain = drain(&deployment, &received, &copies, stored_before, total, started, &bar).await;
    bar.finish_and_clear();
    let _ = stop.send(true);
    let mut reports = Vec::with_capacity(sockets.len());
    for socket in sockets {
        reports.push(socket.await?);
    }
    // Sockets are in agent order, leaders first.
    let owner_reports = reports.split_off(opts.leaders);
    let (leader_reports, reports) = (reports, owner_reports);
    let series = sampler.await?;
    let slow_dropped = deployment.hub.metrics.dropped_slow_clients.load(Ordering::Relaxed);
    let dead_lettered = deployment.pump.dead_lettered.load(Ordering::Relaxed);
    let stored = deployment.pump.new_messages.load(Ordering::Relaxed) - stored_before;
    let setup = Value::Object(setup);
    let accounts = accounts_check(&deployment.account_ids, &per_account, &reports, &leader_reports);
    let sim_peak_rss = deployment.sim.pid().map(stats::peak_rss_mib_of);
    deployment.shut_down().await?;

    let every_receipt = || reports.iter().chain(&leader_reports).flat_map(|r| r.samples.iter());
    let mut latencies = latencies_of(every_receipt());
    let mut at_leaders = latencies_of(leader_reports.iter().flat_map(|r| r.samples.iter()));
    let mut steady = latencies_of(every_receipt().filter(|s| s.0 >= started_us + WARM_UP_S * 1_000_000));
    let sum = |f: fn(&clients::ClientReport) -> u64| reports.iter().map(f).sum::<u64>();
    let sum_leaders = |f: fn(&clients::ClientReport) -> u64| leader_reports.iter().map(f).sum::<u64>();
    let sum_all = |f: fn(&clients::ClientReport) -> u64| sum(f) + sum_leaders(f);
    let expected_at_leaders = if opts.leaders > 0 { total } else { 0 };
    Ok(json!({
        "accounts": opts.accounts,
        "agents": opts.agents,
        "leaders": opts.leaders,
        "websockets": reports.len() + leader_reports.len(),
        "offered_rate": opts.rate,
        "duration_s": opts.duration.as_secs_f64(),
        "setup_seconds": setup,
        "injected": total,
        "injection_seconds": round3(injection.as_secs_f64()),
        "stored": stored,
        "stored_seconds": drain.stored.map(|d| round3(d.as_secs_f64())),
        "received_seconds": round3(drain.received.as_secs_f64()),
        "throughput": throughput(&series, total, injection, drain.stored),
        "conversations": if opts.cold { "new: the timed traffic opens them" } else { "open: every customer wrote once before the timed traffic" },
        "delivery": {
            "openings_sent": openings,
            "openings_received_by_owner": sum(|r| r.openings),
            "expected": total,
            "received_by_owner": sum(|r| r.received),
            "openings_received_by_leaders": sum_leaders(|r| r.openings),
            "expected_at_leaders": expected_at_leaders,
            "received_by_leaders": sum_leaders(|r| r.received),
            "missing": total.saturating_sub(sum(|r| r.received))
                + expected_at_leaders.saturating_sub(sum_leaders(|r| r.received)),
            "duplicates": sum_all(|r| r.duplicates),
            "wrong_owner": sum_all(|r| r.wrong_owner),
            "unreadable": sum_all(|r| r.unreadable),
            "sockets_closed_early": reports.iter().chain(&leader_reports).filter(|r| r.closed_early).count(),
            "slow_clients_dropped": slow_dropped,
            "dead_lettered": dead_lettered,
            "accounts_with_exact_count": accounts.0,
            "accounts_with_wrong_count": accounts.1,
        },
        "latency_send_to_ws": stats::latency_with_p999(&mut latencies),
        "latency_send_to_ws_after_warm_up": stats::latency_with_p999(&mut steady),
        "latency_send_to_leaders_ws": (opts.leaders > 0).then(|| stats::latency_with_p999(&mut at_leaders)),
        "latency_by_second": by_second(every_receipt(), started_us),
        "cpu_cores_during_injection": round3((cpu_injection + sim_cpu_injection) / injection.as_secs_f64()),
        "simulator": if opts.sim_apart { "child process" } else { "in process" },
        "simulator_cpu_cores_during_injection": sim_pid.as_ref().map(|_| round3(sim_cpu_injection / injection.as_secs_f64())),
        "peak_rss_mib": stats::peak_rss_mib(),
        "simulator_peak_rss_mib": sim_peak_rss,
        "rss_note": if opts.sim_apart {
            "peak_rss_mib: server, fleet and the 1,000 clients; the simulator apart"
        } else {
            "one process: server, fleet, simulator and the 1,000 clients together"
        },
        "timeline": series,
    }))
}

/// The second copy of each message, at the owner's team leader: what the
/// leaders' sockets received, `None` when there are no leaders.
struct Copies(Option<clients::Counters>);

impl Copies {
    /// Whether the leaders got `n` messages and `openings` openings (or there are none).
    fn arrived(&self, n: u64, openings: u64) -> bool {
        self.0.as_ref().is_none_or(|(messages, opened)| {
            messages.load(Ordering::Relaxed) >= n && opened.load(Ordering::Relaxed) >= openings
        })
    }
}

/// The send→receipt latencies of these samples.
fn latencies_of<'a>(samples: impl Iterator<Item = &'a (u64, u32)>) -> Vec<Duration> {
    samples.map(|s| Duration::from_micros(s.1 as u64)).collect()
}

/// Has every customer write once and waits until each of those messages
/// reached its owner's WebSocket (and its leader's) and the updates queue is
/// empty; returns how many there were.
async fn open_conversations(
    deployment: &setup::Deployment,
    target: &traffic::Target,
    opened: &AtomicU64,
    copies: &Copies,
) -> anyhow::Result<u64> {
    let started = Instant::now();
    let n = traffic::open_conversations(target, &deployment.phones, OPENING_RATE).await?;
    let bar = crate::simctl::progress(n, "conversations opened");
    loop {
        let arrived = opened.load(Ordering::Relaxed);
        bar.set_position(arrived);
        let queue = timeline::scrape(&deployment.base).await?;
        if arrived >= n && copies.arrived(0, n) && queue.updates_visible + queue.updates_in_flight == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < OPENING_LIMIT,
            "{arrived} of {n} conversation openings arrived in {OPENING_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bar.finish_and_clear();
    Ok(n)
}

/// When everything was stored, and when the last message arrived.
struct Drained {
    stored: Option<Duration>,
    received: Duration,
}

/// Waits until every message arrived (at owners and leaders), or none arrived
/// at owners for [`QUIET`].
async fn drain(
    deployment: &setup::Deployment,
    received: &AtomicU64,
    copies: &Copies,
    stored_before: u64,
    total: u64,
    started: Instant,
    bar: &indicatif::ProgressBar,
) -> Drained {
    let mut stored_at = None;
    let drain_until = started.elapsed() + DRAIN_LIMIT;
    let (mut last, mut last_change) = (received.load(Ordering::Relaxed), Instant::now());
    loop {
        let now = received.load(Ordering::Relaxed);
        bar.set_position(now);
        if stored_at.is_none() && deployment.pump.new_messages.load(Ordering::Relaxed) - stored_before >= total {
            stored_at = Some(started.elapsed());
        }
        if now != last {
            (last, last_change) = (now, Instant::now());
        }
        if (now >= total && copies.arrived(total, 0))
            || last_change.elapsed() > QUIET
            || started.elapsed() > drain_until
        {
            return Drained { stored: stored_at, received: started.elapsed() };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Returns how many accounts got exactly their injected count at their owner
/// (and at their leader, when there are leaders), and how many did not.
fn accounts_check(
    ids: &[String],
    injected: &[u64],
    owners: &[clients::ClientReport],
    leaders: &[clients::ClientReport],
) -> (usize, usize) {
    let per_account = |reports: &[clients::ClientReport]| {
        let mut got: HashMap<String, u64> = HashMap::new();
        for (account, n) in reports.iter().flat_map(|r| &r.per_account) {
            *got.entry(account.clone()).or_default() += n;
        }
        got
    };
    let (at_owners, at_leaders) = (per_account(owners), per_account(leaders));
    let exact = |got: &HashMap<String, u64>, id: &str, n: u64| got.get(id).copied().unwrap_or(0) == n;
    let exact = ids
        .iter()
        .zip(injected)
        .filter(|(id, &n)| exact(&at_owners, id, n) && (leaders.is_empty() || exact(&at_leaders, id, n)))
        .count();
    (exact, ids.len() - exact)
}

/// Stored messages per second: overall, and in steady state from the series.
fn throughput(series: &[timeline::Sample], total: u64, injection: Duration, stored: Option<Duration>) -> Value {
    let end = injection.as_secs_f64();
    let window: Vec<&timeline::Sample> =
        series.iter().filter(|s| s.t >= WARM_UP_S as f64 && s.t <= end + 0.5).collect();
    let steady = match (window.first(), window.last()) {
        (Some(a), Some(b)) if b.t > a.t => Some(((b.stored - a.stored) as f64 / (b.t - a.t)).round()),
        _ => None,
    };
    json!({
        "injected_per_second": (total as f64 / end).round(),
        "stored_per_second_overall": stored.map(|d| (total as f64 / d.as_secs_f64()).round()),
        "stored_per_second_steady": steady,
    })
}

/// Latency percentiles of the messages sent in each second of traffic.
fn by_second<'a>(receipts: impl Iterator<Item = &'a (u64, u32)>, started_us: u64) -> Value {
    let mut buckets: Vec<Vec<Duration>> = Vec::new();
    for &(sent, latency) in receipts {
        let second = (sent.saturating_sub(started_us) / 1_000_000) as usize;
        if buckets.len() <= second {
            buckets.resize_with(second + 1, Vec::new);
        }
        buckets[second].push(Duration::from_micros(latency as u64));
    }
    buckets
        .iter_mut()
        .enumerate()
        .map(|(t, b)| {
            b.sort();
            json!({
                "t": t,
                "n": b.len(),
                "p50_ms": stats::quantile_ms(b, 0.5),
                "p99_ms": stats::quantile_ms(b, 0.99),
                "max_ms": stats::quantile_ms(b, 1.0),
            })
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
