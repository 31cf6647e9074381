//! The node's one publisher: every session hands its envelopes here, and the
//! publisher puts them on the updates queue many at a time (one gzip body per
//! window, split to fit the queue's body limit). A session hands its
//! updates over without waiting for the queue, and before it saves its
//! update state it waits until everything it handed over is on the queue
//! ([`Publisher::flushed`]). One queue write per window instead of one per
//! session keeps the queue and ingest cost per message low at thousands of
//! busy accounts.

use crate::FleetMetrics;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{Queue, MAX_BODY_BYTES};
use tgdesk_core::usecases::{encode_batch, AccountUpdate, UpdateEnvelope, UPDATES_QUEUE};
use tokio::sync::{mpsc, oneshot, watch};

/// Most updates gathered into one write.
const MAX_UPDATES: usize = 2_000;

/// What the publishing task takes, in the order handed over.
struct Job {
    /// Updates to put on the queue; none for a mere barrier.
    envelope: Option<UpdateEnvelope>,
    /// Told once this job and every job handed over before it are on the queue.
    published: Option<oneshot::Sender<()>>,
}

impl Job {
    /// Updates this job puts on the queue.
    fn updates(&self) -> usize {
        self.envelope.as_ref().map_or(0, |e| e.updates.len())
    }
}

/// Hands envelopes to the publishing task.
pub(crate) struct Publisher {
    jobs: mpsc::Sender<Job>,
    inbox: std::sync::Mutex<Option<mpsc::Receiver<Job>>>,
    /// Set once an envelope could not be handed over: from then on no session
    /// of this node may save its update state (Telegram still holds those
    /// updates, and a session reconnected from the last saved state gets them).
    lost: std::sync::atomic::AtomicBool,
}

impl Publisher {
    pub(crate) fn new() -> Self {
        let (jobs, inbox) = mpsc::channel(8_192);
        Self { jobs, inbox: std::sync::Mutex::new(Some(inbox)), lost: Default::default() }
    }

    /// True once an envelope did not reach the queue; sessions must not save then.
    pub(crate) fn lost_updates(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Runs the publishing task until `stop` turns true and no envelope waits.
    pub(crate) async fn run(
        &self,
        queue: Arc<dyn Queue>,
        metrics: &FleetMetrics,
        window: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        let Some(mut inbox) = self.inbox.lock().ok().and_then(|mut i| i.take()) else {
            tracing::error!("the publisher runs once per node");
            return;
        };
        while let Some(first) = crate::next_job(&mut inbox, &mut stop).await {
            let mut updates = first.updates();
            let mut jobs = vec![first];
            let deadline = tokio::time::Instant::now() + window;
            while updates < MAX_UPDATES {
                match tokio::time::timeout_at(deadline, inbox.recv()).await {
                    Ok(Some(job)) => {
                        updates += job.updates();
                        jobs.push(job);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let (mut envelopes, mut waiting) = (Vec::with_capacity(jobs.len()), Vec::new());
            for job in jobs {
                envelopes.extend(job.envelope);
                waiting.extend(job.published);
            }
            if !envelopes.is_empty() {
                put(queue.as_ref(), &envelopes).await;
            }
            metrics.updates_published.fetch_add(updates as u64, Ordering::Relaxed);
            // Jobs are taken in order, so everything handed over before each
            // waiting job is on the queue now.
            for w in waiting {
                // A session that stopped waiting has nothing to save.
                let _ = w.send(());
            }
        }
    }

    /// Hands over an envelope and waits until it is on the queue.
    pub(crate) async fn publish(&self, envelope: UpdateEnvelope) {
        self.send(Some(envelope), true).await;
    }

    /// Hands over an envelope without waiting for the queue (waiting only
    /// while the publisher's inbox is full): a session waits once, with
    /// [`Publisher::flushed`], before it saves its update state.
    pub(crate) async fn hand_over(&self, envelope: UpdateEnvelope) {
        self.send(Some(envelope), false).await;
    }

    /// Waits until every envelope handed over before this call is on the
    /// queue; false when that is not sure (the publisher stopped).
    pub(crate) async fn flushed(&self) -> bool {
        self.send(None, true).await
    }

    /// Queues a job, waiting for the queue when `wait`; returns false (and
    /// marks updates lost) when the publisher is gone.
    async fn send(&self, envelope: Option<UpdateEnvelope>, wait: bool) -> bool {
        let (published, on_queue) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let handed_over = match self.jobs.send(Job { envelope, published }).await {
            Ok(()) => match on_queue {
                Some(on_queue) => on_queue.await.is_ok(),
                None => true,
            },
            Err(_) => false,
        };
        if !handed_over {
            self.lost.store(true, Ordering::SeqCst);
            tracing::error!("the publisher stopped; updates stay with Telegram until the session reconnects");
        }
        handed_over
    }
}

/// Puts envelopes on the queue as few bodies as fit, retrying until taken.
async fn put(queue: &dyn Queue, envelopes: &[UpdateEnvelope]) {
    let bodies = bodies(envelopes);
    let mut delay = Duration::from_millis(100);
    while let Err(e) = queue.send_batch(UPDATES_QUEUE, bodies.clone()).await {
        tracing::warn!(error = %e, "cannot publish updates; retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Encodes envelopes into bodies under the queue's limit, halving where
/// needed: a run of envelopes, then one envelope's updates. One update always
/// fits (`UpdateEnvelope::fit` bounds it, and the fleet fits every envelope
/// before it gets here); were it not to, the queue would refuse its body.
fn bodies(envelopes: &[UpdateEnvelope]) -> Vec<Vec<u8>> {
    let body = encode_batch(envelopes);
    if body.len() <= MAX_BODY_BYTES {
        return vec![body];
    }
    match envelopes {
        [one] if one.updates.len() > 1 => {
            let (left, right) = one.updates.split_at(one.updates.len() / 2);
            let part = |updates: &[AccountUpdate]| UpdateEnvelope {
                tenant: one.tenant.clone(),
                account_id: one.account_id.clone(),
                updates: updates.to_vec(),
            };
            let mut out = bodies(&[part(left)]);
            out.extend(bodies(&[part(right)]));
            out
        }
        [_] => {
            tracing::error!(bytes = body.len(), "one update exceeds the queue's body limit");
            vec![body]
        }
        _ => {
            let (left, right) = envelopes.split_at(envelopes.len() / 2);
            let mut out = bodies(left);
            out.extend(bodies(right));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::domain::{AccountId, PeerProfile, TenantId};
    use tgdesk_core::ports::{Delivery, PortError, QueueDepth};
    use tgdesk_core::testkit::fixtures;
    use tgdesk_core::usecases::decode_batch;

    /// `len` characters that gzip cannot shrink much.
    fn noise(seed: u64, len: usize) -> String {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                char::from(b'!' + (state >> 58) as u8)
            })
            .collect()
    }

    /// An envelope of about 40 KiB (three messages within the bounds).
    fn bulky(n: u64) -> UpdateEnvelope {
        let account = AccountId::generate();
        let updates = (0..3)
            .map(|i| {
                let mut message = fixtures::message(&account, n as i64, i + 1, 0, false);
                message.text = noise(n * 3 + i as u64, 13_000);
                AccountUpdate::Message { message }
            })
            .collect();
        UpdateEnvelope { tenant: TenantId::parse("demo").unwrap(), account_id: account, updates }
    }

    #[test]
    fn one_envelope_over_the_body_limit_is_split_by_its_updates_and_loses_nothing() {
        let mut envelope = bulky(1);
        for n in 2..12 {
            envelope.updates.extend(bulky(n).updates);
        }
        assert!(
            encode_batch(std::slice::from_ref(&envelope)).len() > MAX_BODY_BYTES,
            "the test needs more than one body"
        );
        let bodies = bodies(std::slice::from_ref(&envelope));
        assert!(bodies.len() > 1);
        assert!(bodies.iter().all(|b| b.len() <= MAX_BODY_BYTES));
        let back: Vec<UpdateEnvelope> = bodies.iter().flat_map(|b| decode_batch(b).unwrap()).collect();
        assert!(back.iter().all(|e| (&e.tenant, &e.account_id) == (&envelope.tenant, &envelope.account_id)));
        assert_eq!(back.into_iter().flat_map(|e| e.updates).collect::<Vec<_>>(), envelope.updates);
    }

    #[test]
    fn a_fitted_envelope_of_hostile_records_goes_in_bodies_that_fit() {
        let account = AccountId::generate();
        let hostile = |i: i64| {
            let mut message = fixtures::message(&account, 1, i, 0, false);
            message.text = noise(i as u64, 1_000_000);
            message.entities = serde_json::json!((0..5_000)
                .map(|o| serde_json::json!({"type": "text_url", "offset": o, "length": 1, "url": noise(o, 500)}))
                .collect::<Vec<_>>());
            AccountUpdate::Message { message }
        };
        let profile = |peer: i64| PeerProfile {
            account_id: account.clone(),
            peer,
            first_name: noise(peer as u64, 100_000),
            last_name: None,
            username: None,
            phone: None,
            is_contact: true,
            is_self: false,
            photo_id: None,
            synced_at: chrono::Utc::now(),
        };
        let mut envelope = UpdateEnvelope {
            tenant: TenantId::parse("demo").unwrap(),
            account_id: account.clone(),
            updates: vec![
                hostile(1),
                AccountUpdate::DeleteUnplaced { ids: (0..100_000).map(|i| i64::MAX - i).collect() },
                AccountUpdate::Profiles { profiles: (0..500).map(profile).collect() },
                hostile(2),
            ],
        };
        assert!(envelope.fit() > 0);
        let bodies = bodies(std::slice::from_ref(&envelope));
        assert!(bodies.iter().all(|b| b.len() <= MAX_BODY_BYTES));
        let back: Vec<AccountUpdate> =
            bodies.iter().flat_map(|b| decode_batch(b).unwrap()).flat_map(|e| e.updates).collect();
        assert_eq!(back, envelope.updates, "every fitted update arrives, in order");
        let ids: usize = back
            .iter()
            .map(|u| match u {
                AccountUpdate::DeleteUnplaced { ids } => ids.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(ids, 100_000, "no deleted id is lost");
    }

    #[test]
    fn envelopes_over_the_body_limit_are_split_into_bodies_that_fit_and_lose_nothing() {
        let envelopes: Vec<UpdateEnvelope> = (0..12).map(bulky).collect();
        assert!(encode_batch(&envelopes).len() > MAX_BODY_BYTES, "the test needs more than one body");
        let bodies = bodies(&envelopes);
        assert!(bodies.len() > 1);
        assert!(bodies.iter().all(|b| b.len() <= MAX_BODY_BYTES));
        let back: Vec<UpdateEnvelope> = bodies.iter().flat_map(|b| decode_batch(b).unwrap()).collect();
        assert_eq!(back, envelopes);
    }

    /// The real SQLite queue behind a gate: no write completes until the test
    /// opens it, so a publisher that answered before its write would be caught.
    struct GatedQueue {
        inner: tgdesk_local::SqliteQueue,
        gate: tokio::sync::Semaphore,
    }

    #[async_trait::async_trait]
    impl Queue for GatedQueue {
        async fn send_batch(&self, queue: &str, bodies: Vec<Vec<u8>>) -> Result<(), PortError> {
            self.gate.acquire().await.expect("the gate is never closed").forget();
            self.inner.send_batch(queue, bodies).await
        }
        async fn receive(
            &self,
            q: &str,
            max: usize,
            wait: Duration,
            vis: Duration,
        ) -> Result<Vec<Delivery>, PortError> {
            self.inner.receive(q, max, wait, vis).await
        }
        async fn ack(&self, queue: &str, receipts: &[String]) -> Result<(), PortError> {
            self.inner.ack(queue, receipts).await
        }
        async fn nack(&self, queue: &str, receipt: &str, delay: Duration) -> Result<(), PortError> {
            self.inner.nack(queue, receipt, delay).await
        }
        async fn dead_letter(&self, queue: &str, delivery: &Delivery, reason: &str) -> Result<(), PortError> {
            self.inner.dead_letter(queue, delivery, reason).await
        }
        async fn depth(&self, queue: &str) -> Result<QueueDepth, PortError> {
            self.inner.depth(queue).await
        }
    }

    fn peer_of(e: &UpdateEnvelope) -> i64 {
        match &e.updates[0] {
            AccountUpdate::Message { message } => message.peer,
            other => panic!("not a message update: {other:?}"),
        }
    }

    #[tokio::test]
    async fn handing_over_does_not_wait_and_a_flush_waits_for_everything_handed_over_before() {
        let dir = tempfile::tempdir().unwrap();
        let inner = tgdesk_local::SqliteQueue::open(dir.path().join("queue.db")).unwrap();
        let queue = Arc::new(GatedQueue { inner, gate: tokio::sync::Semaphore::new(0) });
        let publisher = Arc::new(Publisher::new());
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn({
            let (publisher, queue) = (publisher.clone(), queue.clone() as Arc<dyn Queue>);
            async move { publisher.run(queue, &FleetMetrics::default(), Duration::ZERO, stopped).await }
        });
        let sent: Vec<UpdateEnvelope> = (0..40).map(bulky).collect();
        for envelope in &sent {
            // Returns although no write can complete.
            publisher.hand_over(envelope.clone()).await;
        }
        let flushed = tokio::spawn({
            let publisher = publisher.clone();
            async move { publisher.flushed().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!flushed.is_finished(), "no flush while the writes are held");
        assert_eq!(queue.depth(UPDATES_QUEUE).await.unwrap().visible, 0);

        queue.gate.add_permits(1_000);
        assert!(flushed.await.unwrap(), "flushed once the writes went through");
        let mut on_queue = Vec::new();
        loop {
            let got = queue.receive(UPDATES_QUEUE, 10, Duration::ZERO, Duration::from_secs(60)).await.unwrap();
            if got.is_empty() {
                break;
            }
            on_queue.extend(got.iter().flat_map(|d| decode_batch(&d.body).unwrap()));
        }
        on_queue.sort_by_key(peer_of);
        assert_eq!(on_queue, sent, "every envelope handed over before the flush, each once");
        assert!(!publisher.lost_updates());
        stop.send(true).unwrap();
        running.await.unwrap();
    }

    #[tokio::test]
    async fn an_envelope_that_cannot_reach_the_queue_stops_sessions_from_saving() {
        let publisher = Publisher::new();
        assert!(!publisher.lost_updates());
        drop(publisher.inbox.lock().unwrap().take());
        publisher.publish(bulky(1)).await;
        assert!(publisher.lost_updates());
    }
}
