//! [`WsHub`]: the local push hub. Each user has a sequence of events
//! (`{"type","seq","data"}`, seq counting from 1 per user), the last events
//! kept in a ring so a reconnecting client resumes from its last seq, and
//! bounded per-connection buffers: a client that cannot keep up is dropped
//! (and resumes on reconnect) instead of slowing ingest or growing memory.
//!
//! Sequences live in memory. Each process numbers from its own epoch (the
//! microsecond it started: below 2^53, so a browser's number holds it), so
//! a client's `since` from before a restart is below everything this
//! process kept and gets a `resync` (refetch over REST), never a silent gap;
//! one that is ahead gets a `resync` too.

use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tgdesk_core::domain::{TenantId, UserId};
use tgdesk_core::ports::{PortError, PushEvent, PushHub};
use tokio::sync::mpsc;

/// Sizes of the hub's buffers.
#[derive(Clone, Copy, Debug)]
pub struct HubConfig {
    /// Events kept per user for resuming clients. 512 covers about 20 s of
    /// a busy agent (a dozen messages a second, two events each) and bounds
    /// the hub at roughly 300 MB for 1,000 agents; a client further behind
    /// gets `resync` and refetches over REST.
    pub history: usize,
    /// Events buffered per connection before the connection is dropped as slow.
    pub client_buffer: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self { history: 512, client_buffer: 512 }
    }
}

/// Where a new subscription starts.
#[derive(Debug, PartialEq, Eq)]
pub enum Backlog {
    /// The events after `since`, oldest first (empty when nothing was missed).
    Events(Vec<Arc<str>>),
    /// The missed events are gone: the client must refetch over REST.
    /// Carries the resync event to send (its seq is the current one).
    Resync(Arc<str>),
}

/// A live subscription of one connection.
pub struct Subscription {
    /// What to send first.
    pub backlog: Backlog,
    /// Live events; `None` once the hub dropped this connection as slow.
    pub events: mpsc::Receiver<Arc<str>>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct HubMetrics {
    /// Events published (one per recipient user).
    pub delivered: AtomicU64,
    /// Connections dropped because their buffer was full.
    pub dropped_slow_clients: AtomicU64,
}

#[derive(Default)]
struct UserStream {
    last_seq: u64,
    recent: VecDeque<(u64, Arc<str>)>,
    clients: Vec<mpsc::Sender<Arc<str>>>,
}

/// The in-process push hub behind `GET /ws`.
pub struct WsHub {
    config: HubConfig,
    users: Mutex<HashMap<TenantId, HashMap<UserId, UserStream>>>,
    /// Counters, read by `/metrics`.
    pub metrics: HubMetrics,
    /// The seq every user's numbering continues from in this process.
    epoch: u64,
}

impl Default for WsHub {
    fn default() -> Self {
        Self::new(HubConfig::default())
    }
}

/// Microseconds since the Unix epoch: a later process starts higher.
fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl WsHub {
    /// Builds a hub with these buffer sizes, numbering from now.
    pub fn new(config: HubConfig) -> Self {
        Self::starting_at(config, epoch_now())
    }

    /// Builds a hub whose users' first events are numbered `epoch + 1`.
    pub fn starting_at(config: HubConfig, epoch: u64) -> Self {
        Self { config, users: Mutex::default(), metrics: HubMetrics::default(), epoch }
    }

    /// Subscribes a connection of `user`. With `since` (the last seq the
    /// client saw) it first gets what it missed, or a resync when that is no
    /// longer kept; without it, live events only.
    pub fn subscribe(&self, tenant: &TenantId, user: &UserId, since: Option<u64>) -> Subscription {
        let mut users = self.lock();
        self.join(stream_of(&mut users, tenant, user, self.epoch), since)
    }

    /// Adds a connection to `stream` (its lock held by the caller).
    fn join(&self, stream: &mut UserStream, since: Option<u64>) -> Subscription {
        let (tx, rx) = mpsc::channel(self.config.client_buffer.max(1));
        let backlog = match since {
            None => Backlog::Events(Vec::new()),
            Some(s) if s == stream.last_seq => Backlog::Events(Vec::new()),
            Some(s) if s < stream.last_seq && stream.recent.front().is_some_and(|(first, _)| *first <= s + 1) => {
                Backlog::Events(stream.recent.iter().filter(|(seq, _)| *seq > s).map(|(_, e)| e.clone()).collect())
            }
            Some(_) => Backlog::Resync(encode("resync", stream.last_seq, "{}")),
        };
        stream.clients.push(tx);
        Subscription { backlog, events: rx }
    }

    /// Subscribes like [`WsHub::subscribe`] unless `user` already holds
    /// `max` open connections; `None` then. The count and the subscription
    /// are one step, so concurrent upgrades cannot pass the cap together.
    pub fn subscribe_capped(
        &self,
        tenant: &TenantId,
        user: &UserId,
        since: Option<u64>,
        max: usize,
    ) -> Option<Subscription> {
        let mut users = self.lock();
        let stream = stream_of(&mut users, tenant, user, self.epoch);
        // A connection that ended dropped its receiver; only live ones count.
        stream.clients.retain(|c| !c.is_closed());
        if stream.clients.len() >= max {
            return None;
        }
        Some(self.join(stream, since))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, HashMap<UserId, UserStream>>> {
        // The map stays consistent even if a holder panicked: every update is one push or retain.
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Returns the user's stream, created when missing (keys are cloned only then:
/// publishing runs per recipient of every event).
fn stream_of<'a>(
    users: &'a mut HashMap<TenantId, HashMap<UserId, UserStream>>,
    tenant: &TenantId,
    user: &UserId,
    epoch: u64,
) -> &'a mut UserStream {
    if !users.contains_key(tenant) {
        users.insert(tenant.clone(), HashMap::new());
    }
    let streams = users.get_mut(tenant).unwrap_or_else(|| unreachable!("inserted above"));
    if !streams.contains_key(user) {
        streams.insert(user.clone(), UserStream { last_seq: epoch, ..UserStream::default() });
    }
    streams.get_mut(user).unwrap_or_else(|| unreachable!("inserted above"))
}

fn encode(kind: &str, seq: u64, data: &str) -> Arc<str> {
    use std::fmt::Write;
    // Sized once: this runs for every recipient of every event.
    let mut text = String::with_capacity(kind.len() + data.len() + 48);
    write!(text, "{{\"type\":\"{kind}\",\"seq\":{seq},\"data\":{data}}}")
        .unwrap_or_else(|e| unreachable!("writing to a String cannot fail: {e}"));
    text.into()
}

#[async_trait]
impl PushHub for WsHub {
    async fn publish(&self, tenant: &TenantId, audience: &[UserId], event: PushEvent) -> Result<(), PortError> {
        let data = event.data.get();
        let mut users = self.lock();
        for user in audience {
            let stream = stream_of(&mut users, tenant, user, self.epoch);
            stream.last_seq += 1;
            let text = encode(event.kind, stream.last_seq, data);
            stream.recent.push_back((stream.last_seq, text.clone()));
            if stream.recent.len() > self.config.history {
                stream.recent.pop_front();
            }
            let before = stream.clients.len();
            stream.clients.retain(|c| c.try_send(text.clone()).is_ok());
            let dropped = (before - stream.clients.len()) as u64;
            if dropped > 0 {
                self.metrics.dropped_slow_clients.fetch_add(dropped, Ordering::Relaxed);
            }
            self.metrics.delivered.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids() -> (TenantId, UserId, UserId) {
        (TenantId::parse("acme").unwrap(), UserId::generate(), UserId::generate())
    }

    fn event(n: i64) -> PushEvent {
        PushEvent::new("message.new", &json!({"n": n})).unwrap()
    }

    fn seq_of(text: &str) -> u64 {
        serde_json::from_str::<serde_json::Value>(text).unwrap()["seq"].as_u64().unwrap()
    }

    #[tokio::test]
    async fn each_user_gets_its_own_sequence_and_only_its_events() {
        let hub = WsHub::starting_at(HubConfig::default(), 0);
        let (t, alice, bob) = ids();
        let mut a = hub.subscribe(&t, &alice, None);
        let mut b = hub.subscribe(&t, &bob, None);
        hub.publish(&t, std::slice::from_ref(&alice), event(1)).await.unwrap();
        hub.publish(&t, &[alice.clone(), bob.clone()], event(2)).await.unwrap();
        assert_eq!(&*a.events.recv().await.unwrap(), r#"{"type":"message.new","seq":1,"data":{"n":1}}"#);
        assert_eq!(seq_of(&a.events.recv().await.unwrap()), 2);
        assert_eq!(&*b.events.recv().await.unwrap(), r#"{"type":"message.new","seq":1,"data":{"n":2}}"#);
        assert!(b.events.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_client_resuming_from_its_last_seq_gets_exactly_what_it_missed() {
        let hub = WsHub::starting_at(HubConfig::default(), 0);
        let (t, alice, _) = ids();
        for n in 1..=5 {
            hub.publish(&t, std::slice::from_ref(&alice), event(n)).await.unwrap();
        }
        let sub = hub.subscribe(&t, &alice, Some(2));
        let Backlog::Events(missed) = sub.backlog else { panic!("expected events") };
        assert_eq!(missed.iter().map(|e| seq_of(e)).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(hub.subscribe(&t, &alice, Some(5)).backlog, Backlog::Events(vec![]));
    }

    #[tokio::test]
    async fn a_client_too_far_behind_or_ahead_is_told_to_resync() {
        let hub = WsHub::starting_at(HubConfig { history: 3, client_buffer: 8 }, 0);
        let (t, alice, _) = ids();
        for n in 1..=10 {
            hub.publish(&t, std::slice::from_ref(&alice), event(n)).await.unwrap();
        }
        assert!(matches!(hub.subscribe(&t, &alice, Some(2)).backlog, Backlog::Resync(_)));
        let Backlog::Resync(ahead) = hub.subscribe(&t, &alice, Some(99)).backlog else { panic!("expected resync") };
        assert_eq!(&*ahead, r#"{"type":"resync","seq":10,"data":{}}"#);
        let Backlog::Events(kept) = hub.subscribe(&t, &alice, Some(7)).backlog else { panic!("expected events") };
        assert_eq!(kept.len(), 3);
    }

    #[tokio::test]
    async fn a_client_from_before_a_restart_is_told_to_resync_not_given_a_gap() {
        let (t, alice, _) = ids();
        let before = WsHub::new(HubConfig::default());
        let mut client = before.subscribe(&t, &alice, None);
        let mut seen = 0;
        for n in 1..=5 {
            before.publish(&t, std::slice::from_ref(&alice), event(n)).await.unwrap();
            seen = seq_of(&client.events.recv().await.unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        // The restarted process numbers from its own, later epoch.
        let after = WsHub::new(HubConfig::default());
        for n in 1..=8 {
            after.publish(&t, std::slice::from_ref(&alice), event(n)).await.unwrap();
        }
        let resumed = after.subscribe(&t, &alice, Some(seen)).backlog;
        assert!(matches!(resumed, Backlog::Resync(_)), "{resumed:?}");
        let first = after.subscribe(&t, &alice, None);
        assert!(first.backlog == Backlog::Events(vec![]));
        assert!(seen < after.epoch, "a later process numbers above every earlier seq");
        assert!(after.epoch < (1 << 53), "a browser's number holds every seq");
    }

    #[tokio::test]
    async fn a_slow_client_is_dropped_without_blocking_the_publisher() {
        let hub = WsHub::starting_at(HubConfig { history: 100, client_buffer: 2 }, 0);
        let (t, alice, _) = ids();
        let mut slow = hub.subscribe(&t, &alice, None);
        for n in 1..=5 {
            hub.publish(&t, std::slice::from_ref(&alice), event(n)).await.unwrap();
        }
        assert_eq!(hub.metrics.dropped_slow_clients.load(Ordering::Relaxed), 1);
        assert_eq!(seq_of(&slow.events.recv().await.unwrap()), 1);
        assert_eq!(seq_of(&slow.events.recv().await.unwrap()), 2);
        assert!(slow.events.recv().await.is_none(), "the dropped connection ends");
        let Backlog::Events(missed) = hub.subscribe(&t, &alice, Some(2)).backlog else { panic!("expected events") };
        assert_eq!(missed.len(), 3, "it resumes from its last seq");
    }

    #[tokio::test]
    async fn a_capped_subscription_is_refused_while_the_user_holds_the_cap_and_not_after_one_ends() {
        let hub = WsHub::starting_at(HubConfig::default(), 0);
        let (t, alice, bob) = ids();
        let first = hub.subscribe_capped(&t, &alice, None, 2).expect("first");
        let _second = hub.subscribe_capped(&t, &alice, None, 2).expect("second");

        let third = hub.subscribe_capped(&t, &alice, None, 2);

        assert!(third.is_none());
        assert!(hub.subscribe_capped(&t, &bob, None, 2).is_some(), "the cap is per user");
        drop(first);
        assert!(hub.subscribe_capped(&t, &alice, None, 2).is_some(), "an ended connection frees its place");
    }
}
