//! The traffic generator: customers writing to accounts at a target rate with a
//! realistic shape — bursts, a few very hot chats, a long tail of quiet ones,
//! and some media, edits and deletes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::task::JoinHandle;
use tracing::info;

use crate::cloud::delivery::NewMsg;
use crate::cloud::model::PeerKey;
use crate::cloud::{now, Cloud, State};
use crate::error::SimError;

/// Customer ids of generated traffic start here.
const CUSTOMER_BASE: i64 = 100_000_000;
/// Customers per account in the long tail.
const TAIL: i64 = 200;
/// Hot customers per account, who write half of that account's messages.
const HOT: i64 = 5;
const TICK: Duration = Duration::from_millis(20);

/// What to generate.
#[derive(Debug, Clone)]
pub struct TrafficSpec {
    /// Mean messages per second across all accounts.
    pub rate: f64,
    /// How long to run.
    pub duration: Duration,
    /// Phones of the target accounts.
    pub accounts: Vec<String>,
}

/// Returns the phones to target: the given ones (checked) or every account.
pub fn pick_accounts(cloud: &Cloud, wanted: Option<Vec<String>>) -> Result<Vec<String>, SimError> {
    let st = cloud.lock();
    let phones = match wanted {
        Some(list) => {
            if let Some(missing) = list.iter().find(|p| !st.data.accounts.contains_key(*p)) {
                return Err(SimError::NotFound(format!("account {missing}")));
            }
            list
        }
        None => st.data.accounts.keys().cloned().collect(),
    };
    if phones.is_empty() {
        return Err(SimError::Invalid("no accounts to send traffic to".into()));
    }
    Ok(phones)
}

/// Starts generating in the background; the task ends after `spec.duration`.
pub fn spawn(cloud: Arc<Cloud>, spec: TrafficSpec) -> JoinHandle<()> {
    tokio::spawn(async move {
        info!(rate = spec.rate, secs = spec.duration.as_secs_f64(), accounts = spec.accounts.len(), "traffic started");
        let started = Instant::now();
        let mut budget = 0.0f64;
        let mut burst = 1.0f64;
        let mut last_second = 0u64;
        let mut sent = 0u64;
        let mut ticker = tokio::time::interval(TICK);
        while started.elapsed() < spec.duration {
            ticker.tick().await;
            let second = started.elapsed().as_secs();
            if second != last_second {
                last_second = second;
                // 10% of seconds are bursts at 4x; the rest run slower so the mean holds.
                burst = if rand::thread_rng().gen_bool(0.1) { 4.0 } else { 0.6 / 0.9 };
            }
            budget += spec.rate * TICK.as_secs_f64() * burst;
            let n = budget.floor() as usize;
            budget -= n as f64;
            if n > 0 {
                cloud.with(|st| (0..n).for_each(|_| one(st, &spec.accounts)));
                sent += n as u64;
            }
        }
        info!(sent, "traffic finished");
    })
}

/// Generates one event: mostly a new message, sometimes media, an edit or a delete.
fn one(st: &mut State, accounts: &[String]) {
    let mut rng = rand::thread_rng();
    // Squaring a uniform skews picks towards the first accounts: a few are very busy.
    let idx = ((rng.gen::<f64>().powi(2)) * accounts.len() as f64) as usize;
    let phone = &accounts[idx.min(accounts.len() - 1)];
    let roll: f64 = rng.gen();
    if roll < 0.03 {
        if let Some((peer, id)) = recent_incoming(st, phone) {
            let _ = st.delete(phone, None, &[id], None).map(|_| peer);
            return;
        }
    } else if roll < 0.05 {
        if let Some((peer, id)) = recent_incoming(st, phone) {
            let _ = st.edit(phone, peer, id, "(edited) sorry, typo", None);
            return;
        }
    }
    let c = if rng.gen_bool(0.5) { rng.gen_range(0..HOT) } else { rng.gen_range(HOT..TAIL) };
    let customer = CUSTOMER_BASE + idx as i64 * TAIL + c;
    if st.ensure_customer(customer, Some(&format!("Customer {c}"))).is_err() {
        return;
    }
    let media = (roll > 0.97).then(|| {
        let bytes: Vec<u8> = (0..256).map(|_| rng.gen()).collect();
        let name = format!("receipt-{}.pdf", rng.gen_range(10_000..99_999));
        st.add_file("document", name, "application/pdf".into(), bytes)
    });
    let text = format!("Hello, order #{} has a problem ({})", rng.gen_range(1000..99999), c);
    let m = NewMsg { from: customer, text, media, reply_to: None, date: now() };
    let _ = st.post(phone, PeerKey::User(customer), &m, None);
}

fn recent_incoming(st: &State, phone: &str) -> Option<(PeerKey, i32)> {
    let acc = st.data.accounts.get(phone)?;
    acc.msgs.iter().rev().take(20).find(|m| !m.deleted && m.from != acc.user_id).map(|m| (m.peer, m.id))
}
