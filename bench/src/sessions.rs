//! Many real grammers sessions online through the session fleet, against
//! tg-sim running as a child process: how long until all are online, and the
//! fleet's memory per session (this process's RSS growth; the simulator's
//! memory is read from its own process and reported apart).

use crate::sim_process::SimProcess;
use crate::{simctl, stats};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_core::auth::TokenService;
use tgdesk_core::usecases::{Desk, ImportFormat};
use tgdesk_fleet::{Fleet, FleetConfig};
use tgdesk_local::{LocalPorts, SqliteLeases};
use tgdesk_telegram::{GrammersConfig, GrammersConnector, SessionCipher, StringSessionImporter};

/// Longest wait for every session to come online.
const ONLINE_TIMEOUT: Duration = Duration::from_secs(900);
/// Pause after the last session came online before memory is read (and idle CPU is measured).
const SETTLE: Duration = Duration::from_secs(5);

/// One sample while sessions come online.
#[derive(Serialize)]
struct Sample {
    /// Seconds since the fleet started.
    t: f64,
    /// Sessions the fleet reports online.
    online: u64,
    /// This process's resident memory (store + fleet).
    rss_mib: f64,
    /// The simulator process's resident memory.
    sim_rss_mib: f64,
}

/// Runs the scenario with `sessions` accounts.
pub async fn run(sessions: usize) -> anyhow::Result<Value> {
    if let Err(e) = tgdesk_telegram::raise_nofile_limit() {
        eprintln!("cannot raise the open-files limit: {e}");
    }
    let sim = SimProcess::start()?;
    let sim_idle_mib = stats::rss_mib_of(sim.pid);
    let started = Instant::now();
    let phones = simctl::phones(7, sessions);
    let strings = simctl::create_accounts(&sim.control, &phones).await?;
    let create_seconds = started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir()?;
    let LocalPorts { mut ports, .. } = LocalPorts::open(dir.path())?;
    let sealer = Arc::new(SessionCipher::load_or_create(&dir.path().join("session.key"))?);
    ports.sessions = Some(Arc::new(StringSessionImporter::for_simulator(sealer.clone())));
    let desk = Desk::new(ports, TokenService::new(b"bench-secret-bench-secret-bench!", Duration::from_secs(3600)));
    let admin = crate::import::admin_of(&desk, "bench").await?;
    let mut csv = String::from("phone,session\n");
    for (phone, session) in phones.iter().zip(&strings) {
        csv.push_str(&format!("{phone},{session}\n"));
    }
    drop(strings);
    let report = desk.import_accounts(&admin, ImportFormat::Csv, csv.as_bytes(), &|_| {}).await?;
    anyhow::ensure!(report.imported == sessions, "imported {} of {sessions}", report.imported);
    drop(csv);

    let leases = Arc::new(SqliteLeases::open(dir.path().join("leases.db"))?);
    let connector = Arc::new(GrammersConnector::new(GrammersConfig::new(1, secrecy::SecretString::from("tg-sim"))));
    let config = FleetConfig { scan_every: Duration::from_secs(1), ..FleetConfig::new("bench") };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_before, sim_before) = (stats::rss_mib(), stats::rss_mib_of(sim.pid));
    let cpu_before = stats::cpu_seconds();
    let fleet = Fleet::new(desk, leases, connector, sealer, config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(fleet.clone().run(stopped));

    let (series, all_online) = watch_online(&fleet, sessions, sim.pid).await;
    let cpu_to_online = stats::cpu_seconds() - cpu_before;
    // What the online fleet costs while nothing happens: timers, pings, lease renewals.
    let idle_from = stats::cpu_seconds();
    tokio::time::sleep(SETTLE).await;
    let idle_cores = (stats::cpu_seconds() - idle_from) / SETTLE.as_secs_f64();
    let online = fleet.metrics.sessions_online.load(Ordering::Relaxed);
    let (rss_after, sim_after) = (stats::rss_mib(), stats::rss_mib_of(sim.pid));
    let per_session_kib = |before: f64, after: f64| ((after - before) * 1024.0 / online.max(1) as f64).round();

    let stopping = Instant::now();
    let _ = stop.send(true);
    running.await?;
    let stop_seconds = stopping.elapsed().as_secs_f64();
    Ok(json!({
        "sessions": sessions,
        "online": online,
        "sim_accounts_seconds": create_seconds,
        "all_online_seconds": all_online.map(|d| d.as_secs_f64()),
        "sessions_per_second": all_online.map(|d| (sessions as f64 / d.as_secs_f64()).round()),
        "fleet_cpu_seconds_to_online": cpu_to_online,
        "fleet_idle_cpu_cores_when_online": (idle_cores * 1000.0).round() / 1000.0,
        "fleet_rss_before_mib": rss_before,
        "fleet_rss_after_mib": rss_after,
        "fleet_peak_rss_mib": stats::peak_rss_mib(),
        "fleet_kib_per_session": per_session_kib(rss_before, rss_after),
        "sim_rss_idle_mib": sim_idle_mib,
        "sim_rss_before_mib": sim_before,
        "sim_rss_after_mib": sim_after,
        "sim_kib_per_session": per_session_kib(sim_before, sim_after),
        "sim_peak_rss_mib": stats::peak_rss_mib_of(sim.pid),
        "stop_seconds": stop_seconds,
        "timeline": series,
    }))
}

/// Samples sessions online and memory until all are online (or the timeout),
/// with a progress bar; returns the series and when the last came online.
async fn watch_online(fleet: &Fleet, sessions: usize, sim_pid: u32) -> (Vec<Sample>, Option<Duration>) {
    let bar = simctl::progress(sessions as u64, "online");
    let began = Instant::now();
    let mut series = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let online = fleet.metrics.sessions_online.load(Ordering::Relaxed);
        bar.set_position(online);
        series.push(Sample {
            t: (began.elapsed().as_secs_f64() * 100.0).round() / 100.0,
            online,
            rss_mib: stats::rss_mib(),
            sim_rss_mib: stats::rss_mib_of(sim_pid),
        });
        if online as usize >= sessions {
            bar.finish_and_clear();
            return (series, Some(began.elapsed()));
        }
        if began.elapsed() > ONLINE_TIMEOUT {
            bar.abandon();
            return (series, None);
        }
    }
}
