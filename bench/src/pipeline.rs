//! The local ingest pipeline without Telegram: update batches are put on the
//! durable queue as the fleet would publish them, the ingest pump stores them
//! and pushes every new message to the agents allowed to see it, while
//! `subscribers` hub subscriptions drain their events. The producer is paced
//! at `rate` messages/s. Reports messages/s, the CPU time per message of the
//! whole process (producer included) while it runs, and the delay from
//! enqueue to push (p50/p99/p999). The default shape sends 100 messages per
//! envelope; `--pipeline-per-envelope 1 --pipeline-envelopes-per-body 240
//! --pipeline-peers 3` is the shape of the e2e scenario's live traffic.

use crate::stats;
use chrono::Timelike;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_core::domain::{AccountId, Message, Role, TenantId, UserId};
use tgdesk_core::usecases::{encode_batch, AccountUpdate, UpdateEnvelope, UPDATES_QUEUE};

/// What the pipeline scenario sends.
#[derive(Clone, Copy)]
pub struct Shape {
    /// Messages in all.
    pub messages: usize,
    /// Accounts they go to, round-robin.
    pub accounts: usize,
    /// Dialogs per account.
    pub peers: i64,
    /// Messages per envelope (all of one account).
    pub per_envelope: usize,
    /// Envelopes per queue body.
    pub envelopes_per_body: usize,
    /// Agents subscribed to the hub (the accounts' owners).
    pub subscribers: usize,
    /// Offered rate, messages/s.
    pub rate: f64,
}

impl Shape {
    /// True for the shape the README's figure is measured with.
    pub fn is_default(&self) -> bool {
        (self.per_envelope, self.envelopes_per_body, self.peers) == (100, 10, 50)
    }
}

/// Runs the scenario on the local adapters, or on the AWS ones at `aws`
/// (then the report adds what AWS was asked per message).
pub async fn run(shape: &Shape, aws: Option<&tgdesk_aws::AwsContext>) -> anyhow::Result<Value> {
    run_beside(shape, 0, None, aws).await
}

/// Runs the scenario with `flood_clients` clients flooding the login route
/// meanwhile (none when 0; see `login_flood`), argon2 on `pool_threads`
/// threads (the desk's default when `None`), on the adapters `aws` names.
pub async fn run_beside(
    shape: &Shape,
    flood_clients: usize,
    pool_threads: Option<usize>,
    aws: Option<&tgdesk_aws::AwsContext>,
) -> anyhow::Result<Value> {
    let Shape { messages, accounts, peers, per_envelope, envelopes_per_body, subscribers, rate } = *shape;
    let dir = tempfile::tempdir()?;
    let (desk, admin, hub, indexer) = match aws {
        None => crate::import::fresh_desk_with_hub(dir.path()).await?,
        Some(ctx) => crate::import::aws_desk_with_hub(ctx).await?,
    };
    let store = desk.ports().directory.clone();
    let owners = crate::import::agents(&desk, &admin, subscribers.max(1)).await?;
    let csv = crate::import::csv(accounts, &owners);
    desk.import_accounts(&admin, tgdesk_core::usecases::ImportFormat::Csv, csv.as_bytes(), &|_| {}).await?;
    let tenant = TenantId::parse("bench")?;
    let ids: Vec<AccountId> = store
        .list_accounts(
            &tenant,
            &tgdesk_core::ports::AccountQuery::scoped(tgdesk_core::ports::DialogScope::Tenant, accounts),
        )
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    // One subscription per agent, drained as a browser would; each records enqueue→push delay.
    let delays = Arc::new(std::sync::Mutex::new(Vec::with_capacity(messages)));
    let received = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let users = desk
        .ports()
        .directory
        .list_users(&tenant, &tgdesk_core::ports::UserQuery { limit: 10_000, ..Default::default() })
        .await?;
    for user in users.iter().filter(|u| u.role == Role::Agent) {
        let mut sub = hub.subscribe(&tenant, &UserId::parse(user.id.as_str())?, None);
        let (delays, received) = (delays.clone(), received.clone());
        tokio::spawn(async move {
            while let Some(event) = sub.events.recv().await {
                if let Some(at) = sent_at(&event) {
                    let now = start.elapsed().as_micros() as u64;
                    delays
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Duration::from_micros(now.saturating_sub(at)));
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let mut desk = desk;
    desk.passwords = match pool_threads {
        // As the server runs it (lowered priority), or plain threads of the given count.
        None => tgdesk::password_pool(),
        Some(threads) => tgdesk_core::auth::PasswordPool::new(threads, 16),
    };
    let flood = match flood_clients {
        0 => None,
        n => Some(crate::login_flood::start(desk.clone(), n).await?),
    };
    let metrics = Arc::new(tgdesk_fleet::pump::PumpMetrics::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let pump = tokio::spawn(tgdesk_fleet::pump::run_ingest(desk.clone(), metrics.clone(), stopped.clone()));
    // The indexer beside ingest, as the server runs it; its lag sampled every 100 ms.
    let index_stats = indexer.as_ref().map(|i| i.stats());
    let indexing = indexer.map(|indexer| {
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            indexer
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        })
    });
    let lag_samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = index_stats.clone().map(|s| {
        let samples = lag_samples.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let lag = Duration::from_millis(s.lag_ms.load(Ordering::Relaxed));
                samples.lock().unwrap_or_else(|p| p.into_inner()).push(lag);
            }
        })
    });
    let cpu_before = stats::cpu_seconds();
    let usage_before = tgdesk_aws::usage::snapshot();
    let began = Instant::now();
    let mut next_id = vec![0_i64; ids.len()];
    let mut sent = 0;
    while sent < messages {
        let mut envelopes = Vec::new();
        for _ in 0..envelopes_per_body {
            let a = (sent / per_envelope) % ids.len();
            let n = per_envelope.min(messages - sent);
            let stamp = start.elapsed().as_micros() as u64;
            let updates = (0..n)
                .map(|_| {
                    next_id[a] += 1;
                    AccountUpdate::Message { message: message(&ids[a], 1_000 + next_id[a] % peers, next_id[a], stamp) }
                })
                .collect();
            envelopes.push(UpdateEnvelope { tenant: tenant.clone(), account_id: ids[a].clone(), updates });
            sent += n;
            if sent >= messages {
                break;
            }
        }
        desk.ports().queue.send_batch(UPDATES_QUEUE, vec![encode_batch(&envelopes)]).await?;
        // Pace the producer at `rate` messages/s, as the fleet would publish them.
        let due = Duration::from_secs_f64(sent as f64 / rate);
        if let Some(wait) = due.checked_sub(began.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let enqueued = began.elapsed();
    while (metrics.new_messages.load(Ordering::Relaxed) as usize) < messages {
        anyhow::ensure!(began.elapsed() < Duration::from_secs(600), "pipeline stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = began.elapsed();
    let cpu = stats::cpu_seconds() - cpu_before;
    while (received.load(Ordering::Relaxed) as usize) < messages && began.elapsed() < stored + Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Searchable: every message applied and committed (lag back to 0).
    let searchable = match &index_stats {
        Some(s) => {
            while (s.applied.load(Ordering::Relaxed) as usize) < messages || s.lag_ms.load(Ordering::Relaxed) > 0 {
                anyhow::ensure!(began.elapsed() < Duration::from_secs(900), "indexer stalled");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Some(began.elapsed().as_secs_f64())
        }
        None => None,
    };
    let _ = stop.send(true);
    pump.await?;
    if let Some(indexing) = indexing {
        indexing.await?;
    }
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    let mut lags = lag_samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let flood = match flood {
        Some(f) => f.stop().await,
        None => Value::Null,
    };
    let usage = aws.map(|_| crate::aws_usage::per_message(&usage_before, &tgdesk_aws::usage::snapshot(), messages));
    let mut samples = delays.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(json!({
        "backend": if aws.is_some() { "aws (moto)" } else { "local" },
        "aws_per_message": usage,
        "messages": messages,
        "accounts": accounts,
        "messages_per_envelope": per_envelope,
        "envelopes_per_body": envelopes_per_body,
        "dialogs_per_account": peers,
        "offered_rate": rate,
        "agent_subscriptions": subscribers,
        "enqueue_seconds": enqueued.as_secs_f64(),
        "stored_seconds": stored.as_secs_f64(),
        "messages_per_second": (messages as f64 / stored.as_secs_f64()).round(),
        "cpu_us_per_message": (cpu * 1e6 / messages as f64).round(),
        "pushed_to_owner": samples.len(),
        "enqueue_to_push": stats::latency_with_p999(&mut samples),
        "searchable_seconds": searchable,
        "index_lag_sampled_every_100ms": stats::latency_with_p999(&mut lags),
        "dead_lettered": metrics.dead_lettered.load(Ordering::Relaxed),
        "peak_rss_mib": stats::peak_rss_mib(),
        "login_flood_clients": flood_clients,
        "password_pool_threads": pool_threads,
        "login_flood": flood,
    }))
}

/// Reads the enqueue stamp carried in `sender_id` of a `message.new` event.
fn sent_at(event: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(event).ok()?;
    (v["type"] == "message.new").then(|| v["data"]["sender_id"].as_u64()).flatten()
}

pub(crate) fn message(account: &AccountId, peer: i64, id: i64, stamp_us: u64) -> Message {
    Message {
        account_id: account.clone(),
        peer,
        id,
        sender_id: Some(stamp_us as i64),
        sender_name: Some("Customer".into()),
        outgoing: false,
        // Whole seconds, as Telegram dates are.
        date: chrono::Utc::now().with_nanosecond(0).unwrap_or_else(chrono::Utc::now),
        text: "Hello, I have a question about my order #12345, can you help?".into(),
        entities: json!([]),
        media: None,
        reply_to: None,
        edited_at: None,
        deleted: false,
        tags: Default::default(),
    }
}
