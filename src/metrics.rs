//! `GET /metrics` in the Prometheus text format: ingest, queues, push and
//! sessions. The counters live in the pump, the hub and the fleet; this only
//! reads them at scrape time.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tgdesk_core::usecases::{Desk, IndexerStats, COMMANDS_QUEUE, UPDATES_QUEUE};
use tgdesk_fleet::pump::PumpMetrics;
use tgdesk_fleet::Fleet;
use tgdesk_local::WsHub;

/// What the scrape reads.
#[derive(Clone)]
pub struct MetricsState {
    /// For queue depths.
    pub desk: Desk,
    /// Push counters.
    pub hub: Arc<WsHub>,
    /// Ingest counters.
    pub pump: Arc<PumpMetrics>,
    /// Search indexer counters.
    pub index: Arc<IndexerStats>,
    /// Session counters.
    pub fleet: Arc<Fleet>,
    /// Bearer token a scrape must carry (`None`: open to whoever reaches the port).
    pub token: Option<SecretString>,
}

/// True when the request may scrape: no token configured, or the right one
/// (compared in constant time).
fn allowed(expected: Option<&SecretString>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else { return true };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .as_bytes();
    let expected = expected.expose_secret().as_bytes();
    !expected.is_empty()
        && given.len() == expected.len()
        && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Appends one sample with its HELP and TYPE lines.
fn sample(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Renders every metric.
pub async fn scrape(State(s): State<MetricsState>, headers: HeaderMap) -> Response {
    if !allowed(s.token.as_ref(), &headers) {
        return (StatusCode::UNAUTHORIZED, "a bearer token is required for /metrics\n").into_response();
    }
    let mut out = String::with_capacity(2048);
    let (pump, fleet, hub) = (&s.pump, &s.fleet.metrics, &s.hub.metrics);
    sample(
        &mut out,
        "tgdesk_ingest_messages_total",
        "counter",
        "Messages stored for the first time.",
        read(&pump.new_messages),
    );
    sample(
        &mut out,
        "tgdesk_ingest_duplicates_total",
        "counter",
        "Redelivered messages ignored.",
        read(&pump.duplicates),
    );
    sample(
        &mut out,
        "tgdesk_ingest_retries_total",
        "counter",
        "Update batches put back after a failure.",
        read(&pump.retries),
    );
    sample(
        &mut out,
        "tgdesk_ingest_dead_lettered_total",
        "counter",
        "Update batches dead-lettered.",
        read(&pump.dead_lettered),
    );
    sample(
        &mut out,
        "tgdesk_ingest_lag_milliseconds",
        "gauge",
        "Age of the newest new message when it was stored (Telegram dates have whole seconds).",
        read(&pump.lag_ms),
    );
    sample(
        &mut out,
        "tgdesk_push_failures_total",
        "counter",
        "Stored update batches whose pushes failed.",
        read(&pump.push_failures),
    );
    sample(&mut out, "tgdesk_push_events_total", "counter", "Events delivered to users.", read(&hub.delivered));
    sample(
        &mut out,
        "tgdesk_push_dropped_slow_clients_total",
        "counter",
        "WebSocket clients dropped as too slow.",
        read(&hub.dropped_slow_clients),
    );
    sample(
        &mut out,
        "tgdesk_sessions_online",
        "gauge",
        "Telegram sessions running on this node.",
        read(&fleet.sessions_online),
    );
    sample(
        &mut out,
        "tgdesk_sessions_connecting",
        "gauge",
        "Telegram sessions connecting or reconnecting on this node.",
        read(&fleet.sessions_connecting),
    );
    sample(
        &mut out,
        "tgdesk_logins_pending",
        "gauge",
        "Account logins waiting for a code or password on this node.",
        s.fleet.logins_pending() as u64,
    );
    sample(
        &mut out,
        "tgdesk_updates_published_total",
        "counter",
        "Telegram updates published by this node.",
        read(&fleet.updates_published),
    );
    sample(&mut out, "tgdesk_sends_ok_total", "counter", "Messages sent.", read(&fleet.sends_ok));
    sample(&mut out, "tgdesk_sends_failed_total", "counter", "Sends that failed for good.", read(&fleet.sends_failed));
    sample(
        &mut out,
        "tgdesk_sends_repeated_total",
        "counter",
        "Messages Telegram already had from an earlier attempt of their send (not posted twice).",
        read(&fleet.sends_repeated),
    );
    sample(&mut out, "tgdesk_flood_waits_total", "counter", "FLOOD_WAITs met while sending.", read(&fleet.flood_waits));
    sample(
        &mut out,
        "tgdesk_commands_passed_on_total",
        "counter",
        "Commands this node passed to the node holding their account (or to the shared queue).",
        read(&fleet.commands_passed_on),
    );
    sample(
        &mut out,
        "tgdesk_sqlite_page_cache_wrapped",
        "gauge",
        "1 when SQLite's page cache runs through tgdesk's wrapper (commits do not walk the whole cache).",
        u64::from(tgdesk_local::page_cache::installed()),
    );
    sample(
        &mut out,
        "tgdesk_sqlite_pages_parked_total",
        "counter",
        "Pages B-tree balancing parked at the temporary number the wrapper renames.",
        tgdesk_local::page_cache::parked_pages(),
    );
    let index = &s.index;
    sample(
        &mut out,
        "tgdesk_search_lag_seconds",
        "gauge",
        "How long ago the oldest stored change not yet searchable was stored (0: search has caught up).",
        index.lag_ms.load(Ordering::Relaxed) as f64 / 1000.0,
    );
    sample(
        &mut out,
        "tgdesk_search_indexed_total",
        "counter",
        "Message changes applied to the search index.",
        index.applied.load(Ordering::Relaxed),
    );
    sample(
        &mut out,
        "tgdesk_search_indexer_failures_total",
        "counter",
        "Indexer failures (each retried from the last committed position).",
        index.failures.load(Ordering::Relaxed),
    );
    sample(
        &mut out,
        "tgdesk_aws_throttled_total",
        "counter",
        "AWS requests refused as throttled after the SDK's jittered retries (the caller retries them).",
        tgdesk_aws::THROTTLED.load(std::sync::atomic::Ordering::Relaxed),
    );
    sample(
        &mut out,
        "tgdesk_aws_unavailable_total",
        "counter",
        "AWS requests that found the endpoint out of reach or failing after the SDK's retries.",
        tgdesk_aws::UNAVAILABLE.load(std::sync::atomic::Ordering::Relaxed),
    );
    let _ = writeln!(out, "# HELP tgdesk_queue_depth Bodies waiting (visible) or being handled (in_flight).\n# TYPE tgdesk_queue_depth gauge");
    for queue in [UPDATES_QUEUE, COMMANDS_QUEUE] {
        match s.desk.ports().queue.depth(queue).await {
            Ok(d) => {
                let _ = writeln!(out, "tgdesk_queue_depth{{queue=\"{queue}\",state=\"visible\"}} {}", d.visible);
                let _ = writeln!(out, "tgdesk_queue_depth{{queue=\"{queue}\",state=\"in_flight\"}} {}", d.in_flight);
            }
            Err(e) => tracing::warn!(queue, error = %e, "cannot read the queue depth"),
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
