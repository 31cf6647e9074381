//! Customers writing to the accounts at a target rate: injected in-process
//! into an embedded simulator's cloud (the same `State::post` the control
//! API's `POST /control/messages` runs, without an HTTP request per message,
//! which could not reach 12k/s on two cores beside everything else), or to a
//! simulator process through `POST /control/messages/batch`, one request per tick.
//!
//! Each text carries its send time in microseconds since the Unix epoch
//! (`e2e <micros> …`), read back by the agents' WebSocket clients on the
//! same machine's clock.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tg_sim::cloud::delivery::NewMsg;
use tg_sim::cloud::model::PeerKey;
use tg_sim::Cloud;

/// Customer user ids start here (far from the simulator's own ranges).
const CUSTOMER_BASE: i64 = 700_000_000;
/// Customers writing to each account, taking turns.
pub const CUSTOMERS: usize = 3;
/// How the texts of [`open_conversations`] start.
pub const OPENING: &str = "opening ";
/// How often the injector wakes up; each wake sends what is due.
const TICK: Duration = Duration::from_millis(5);

/// What to inject.
pub struct Plan {
    /// Phones of the accounts, written to round-robin.
    pub phones: Arc<Vec<String>>,
    /// Messages per second.
    pub rate: f64,
    /// How long.
    pub duration: Duration,
}

/// Returns microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Reads the send stamp back from a message text.
pub fn stamp_of(text: &str) -> Option<u64> {
    text.strip_prefix("e2e ")?.split(' ').next()?.parse().ok()
}

/// Where the messages go.
pub enum Target {
    /// The cloud of an embedded simulator.
    Cloud(Arc<Cloud>),
    /// The control API of a simulator process.
    Control(String),
}

/// Returns the customer who writes the `k`-th message, and the account number.
fn writer_of(k: u64, accounts: usize) -> (i64, usize) {
    let account = (k % accounts as u64) as usize;
    let turn = (k / accounts as u64) % CUSTOMERS as u64;
    (CUSTOMER_BASE + (account * CUSTOMERS) as i64 + turn as i64, account)
}

/// Registers the customers once, so injection only posts.
pub fn add_customers(cloud: &Cloud, accounts: usize) -> anyhow::Result<()> {
    cloud.with(|st| {
        for c in 0..(accounts * CUSTOMERS) as i64 {
            st.ensure_customer(CUSTOMER_BASE + c, Some(&format!("Customer {c}")))?;
        }
        Ok(())
    })
}

/// Injects the plan, counting into `injected`; returns the messages each
/// account got, by account number.
pub async fn run(target: Target, plan: Plan, injected: Arc<AtomicU64>) -> anyhow::Result<Vec<u64>> {
    let total = (plan.rate * plan.duration.as_secs_f64()).round() as u64;
    inject(&target, &plan.phones, plan.rate, total, text, &injected).await
}

/// Has every customer write once, at `rate` messages per second, so the
/// timed traffic runs on conversations that exist (their dialogs and the
/// customers' profiles stored), as in a help desk that has been running.
/// Returns how many messages that was; their texts start with [`OPENING`].
pub async fn open_conversations(target: &Target, phones: &[String], rate: f64) -> anyhow::Result<u64> {
    let total = (phones.len() * CUSTOMERS) as u64;
    inject(target, phones, rate, total, |k| format!("{OPENING}{k}"), &AtomicU64::new(0)).await?;
    Ok(total)
}

/// Sends `total` messages at `rate` round-robin over the accounts, the
/// `k`-th with text `text(k)`, counting into `injected`; returns the
/// messages each account got, by account number.
async fn inject(
    target: &Target,
    phones: &[String],
    rate: f64,
    total: u64,
    text: fn(u64) -> String,
    injected: &AtomicU64,
) -> anyhow::Result<Vec<u64>> {
    let n = phones.len();
    let mut per_account = vec![0u64; n];
    let mut sent = 0u64;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while sent < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * rate) as u64).min(total);
        match target {
            Target::Cloud(cloud) => cloud.with(|st| {
                for k in sent..due {
                    let (customer, account) = writer_of(k, n);
                    let m = NewMsg {
                        from: customer,
                        text: text(k),
                        media: None,
                        reply_to: None,
                        date: tg_sim::cloud::now(),
                    };
                    st.post(&phones[account], PeerKey::User(customer), &m, None)?;
                    per_account[account] += 1;
                }
                anyhow::Ok(())
            })?,
            Target::Control(base) => {
                let messages: Vec<Value> = (sent..due)
                    .map(|k| {
                        let (customer, account) = writer_of(k, n);
                        per_account[account] += 1;
                        json!({
                            "account_phone": phones[account],
                            "from": { "user_id": customer, "name": format!("Customer {}", customer - CUSTOMER_BASE) },
                            "text": text(k),
                        })
                    })
                    .collect();
                if !messages.is_empty() {
                    http.post(format!("{base}/control/messages/batch"))
                        .json(&json!({ "messages": messages }))
                        .send()
                        .await?
                        .error_for_status()?;
                }
            }
        }
        sent = due;
        injected.store(sent, Ordering::Relaxed);
    }
    Ok(per_account)
}

/// The `k`-th message, stamped with the time it is sent.
fn text(k: u64) -> String {
    format!("e2e {} hello, order #{k} has a question", now_us())
}
