//! The node's one publisher: every session hands its envelopes here, and the
//! publisher puts them on the updates queue many at a time (one gzip body per
//! window, split to fit the queue's body limit), then tells each session its
//! envelope is on the queue (only then may it save its update state). One
//! queue write per window instead of one per session keeps the queue and
//! ingest cost per message low at thousands of busy accounts.

use crate::FleetMetrics;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{Queue, MAX_BODY_BYTES};
use tgdesk_core::usecases::{encode_batch, UpdateEnvelope, UPDATES_QUEUE};
use tokio::sync::{mpsc, oneshot, watch};

/// Most updates gathered into one write.
const MAX_UPDATES: usize = 2_000;

struct Job {
    envelope: UpdateEnvelope,
    published: oneshot::Sender<()>,
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
            let mut jobs = vec![first];
            let mut updates = jobs[0].envelope.updates.len();
            let deadline = tokio::time::Instant::now() + window;
            while updates < MAX_UPDATES {
                match tokio::time::timeout_at(deadline, inbox.recv()).await {
                    Ok(Some(job)) => {
                        updates += job.envelope.updates.len();
                        jobs.push(job);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let (envelopes, waiting): (Vec<UpdateEnvelope>, Vec<oneshot::Sender<()>>) =
                jobs.into_iter().map(|j| (j.envelope, j.published)).unzip();
            put(queue.as_ref(), &envelopes).await;
            metrics.updates_published.fetch_add(updates as u64, Ordering::Relaxed);
            for w in waiting {
                // A session that stopped waiting has nothing to save.
                let _ = w.send(());
            }
        }
    }

    /// Hands over an envelope and waits until it is on the queue.
    pub(crate) async fn publish(&self, envelope: UpdateEnvelope) {
        let (published, on_queue) = oneshot::channel();
        let handed_over = match self.jobs.send(Job { envelope, published }).await {
            Ok(()) => on_queue.await.is_ok(),
            Err(_) => false,
        };
        if !handed_over {
            self.lost.store(true, Ordering::SeqCst);
            tracing::error!("the publisher stopped; updates stay with Telegram until the session reconnects");
        }
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

/// Encodes envelopes into bodies under the queue's limit, halving where needed.
fn bodies(envelopes: &[UpdateEnvelope]) -> Vec<Vec<u8>> {
    let body = encode_batch(envelopes);
    if body.len() <= MAX_BODY_BYTES || envelopes.len() == 1 {
        if body.len() > MAX_BODY_BYTES {
            tracing::warn!(bytes = body.len(), "one envelope exceeds the queue's body limit");
        }
        return vec![body];
    }
    let (left, right) = envelopes.split_at(envelopes.len() / 2);
    let mut out = bodies(left);
    out.extend(bodies(right));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::domain::{AccountId, Dialog, PeerKind, TenantId};
    use tgdesk_core::usecases::{decode_batch, AccountUpdate};

    /// An envelope of about 40 KiB that gzip cannot shrink much.
    fn bulky(n: u64) -> UpdateEnvelope {
        let mut state = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let title: String = (0..40_000)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                char::from(b'!' + (state >> 58) as u8)
            })
            .collect();
        let account = AccountId::generate();
        let dialog = Dialog {
            account_id: account.clone(),
            peer: n as i64,
            kind: PeerKind::User,
            title,
            last_message_at: None,
            last_message_id: None,
            preview: String::new(),
            unread_count: 0,
        };
        UpdateEnvelope {
            tenant: TenantId::parse("demo").unwrap(),
            account_id: account,
            updates: vec![AccountUpdate::Dialog { dialog }],
        }
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

    #[tokio::test]
    async fn an_envelope_that_cannot_reach_the_queue_stops_sessions_from_saving() {
        let publisher = Publisher::new();
        assert!(!publisher.lost_updates());
        drop(publisher.inbox.lock().unwrap().take());
        publisher.publish(bulky(1)).await;
        assert!(publisher.lost_updates());
    }
}
