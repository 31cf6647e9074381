//! Samples the run once a second: what was injected, published by the fleet,
//! stored by ingest and received over WebSocket, the updates queue's depth,
//! and the process's memory and CPU. The series shows where messages pile up.

use crate::stats;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_fleet::pump::PumpMetrics;
use tokio::sync::watch;

/// The server's own counters, from `GET /metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServerMetrics {
    /// Sessions the fleet runs.
    pub sessions_online: u64,
    /// Updates the fleet published to the updates queue.
    pub updates_published: u64,
    /// Bodies waiting on the updates queue.
    pub updates_visible: u64,
    /// Bodies being ingested.
    pub updates_in_flight: u64,
    /// Events the push hub delivered (one per recipient user).
    pub push_events: u64,
}

/// Reads the server's Prometheus text from `base`/metrics.
pub async fn scrape(base: &str) -> anyhow::Result<ServerMetrics> {
    let text = reqwest::get(format!("{base}/metrics")).await?.error_for_status()?.text().await?;
    let mut m = ServerMetrics::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let value = value as u64;
        match name {
            "tgdesk_sessions_online" => m.sessions_online = value,
            "tgdesk_updates_published_total" => m.updates_published = value,
            "tgdesk_push_events_total" => m.push_events = value,
            r#"tgdesk_queue_depth{queue="updates",state="visible"}"# => m.updates_visible = value,
            r#"tgdesk_queue_depth{queue="updates",state="in_flight"}"# => m.updates_in_flight = value,
            _ => {}
        }
    }
    Ok(m)
}

/// One sample of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since traffic started.
    pub t: f64,
    /// Messages the simulator's customers sent.
    pub injected: u64,
    /// Updates the fleet published.
    pub published: u64,
    /// Messages stored for the first time.
    pub stored: u64,
    /// `message.new` events the agents' WebSockets received.
    pub received: u64,
    /// Bodies waiting on the updates queue.
    pub queue_visible: u64,
    /// Resident memory of this process (server, fleet, simulator, clients).
    pub rss_mib: f64,
    /// CPU used since the previous sample, in cores (2.0 = both cores busy).
    pub cpu_cores: f64,
}

/// The counters a sample reads besides the server's.
#[derive(Clone)]
pub struct Counters {
    /// Messages injected so far.
    pub injected: Arc<AtomicU64>,
    /// `message.new` events received so far.
    pub received: Arc<AtomicU64>,
    /// The ingest pump's counters.
    pub pump: Arc<PumpMetrics>,
}

/// Samples every second until `stop` turns true, and returns the series.
pub async fn record(base: String, counters: Counters, mut stop: watch::Receiver<bool>) -> Vec<Sample> {
    let started = Instant::now();
    let mut series = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut cpu = (Instant::now(), stats::cpu_seconds());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let server = scrape(&base).await.unwrap_or_default();
        let now = (Instant::now(), stats::cpu_seconds());
        let cores = (now.1 - cpu.1) / now.0.duration_since(cpu.0).as_secs_f64().max(1e-3);
        cpu = now;
        series.push(Sample {
            t: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            injected: counters.injected.load(Ordering::Relaxed),
            published: server.updates_published,
            stored: counters.pump.new_messages.load(Ordering::Relaxed),
            received: counters.received.load(Ordering::Relaxed),
            queue_visible: server.updates_visible,
            rss_mib: (stats::rss_mib() * 10.0).round() / 10.0,
            cpu_cores: (cores * 100.0).round() / 100.0,
        });
    }
    series
}
