//! Push across processes on one data dir. A fleet node in its own process
//! (`tgdesk-fleet`) raises `account.status`, `send.status` and
//! `batch.progress`, but the agents' WebSockets are held by the server.
//! That process's push port puts each event on the durable `push` queue
//! (`tgdesk_core::push_queue::QueuedPush`), and the server's [`relay`]
//! publishes them to its hub in order.

use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::ports::{PushHub, Queue};
use tgdesk_core::push_queue::{decode_events, PUSH_QUEUE};
use tokio::sync::watch;

/// Bodies relayed per receive.
const BATCH: usize = 100;
/// How long a relayed batch stays claimed.
const VISIBILITY: Duration = Duration::from_secs(30);

/// Publishes the events on the `push` queue to `hub`, in order, until
/// `shutdown`. An unreadable event is dead-lettered with its reason; a
/// failing hub or queue is retried.
pub async fn relay(queue: Arc<dyn Queue>, hub: Arc<dyn PushHub>, shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        // Not raced against the shutdown: a receive dropped midway may have
        // claimed events, which would wait out their visibility.
        let received = queue.receive(PUSH_QUEUE, BATCH, Duration::from_secs(1), VISIBILITY).await;
        let deliveries = match received {
            Ok(deliveries) => deliveries,
            Err(e) => {
                tracing::warn!(error = %e, "push queue unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut done = Vec::with_capacity(deliveries.len());
        'bodies: for delivery in &deliveries {
            match decode_events(&delivery.body) {
                Ok(events) => {
                    for queued in events {
                        if let Err(e) = hub.publish(&queued.tenant, &queued.audience, queued.event).await {
                            // The rest of the batch comes back after its visibility timeout, in order.
                            tracing::warn!(error = %e, "relayed push failed; retried");
                            break 'bodies;
                        }
                    }
                    done.push(delivery.receipt.clone());
                }
                Err(reason) => {
                    tracing::warn!(reason, "push event dead-lettered");
                    if let Err(e) = queue.dead_letter(PUSH_QUEUE, delivery, &reason).await {
                        tracing::warn!(error = %e, "cannot dead-letter a push event");
                    }
                }
            }
        }
        if let Err(e) = queue.ack(PUSH_QUEUE, &done).await {
            // Unacked events come back: a client may see one twice, with a new seq.
            tracing::warn!(error = %e, "cannot acknowledge relayed push events");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::WsHub;
    use crate::SqliteQueue;
    use serde_json::json;
    use tgdesk_core::domain::{TenantId, UserId};
    use tgdesk_core::ports::PushEvent;
    use tgdesk_core::push_queue::QueuedPush;

    #[tokio::test]
    async fn events_raised_in_another_process_reach_the_hubs_subscribers_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        // Two instances on one file: the fleet process's and the server's.
        let fleet_side = QueuedPush::new(Arc::new(SqliteQueue::open(&path).unwrap()));
        let server_queue: Arc<dyn Queue> = Arc::new(SqliteQueue::open(&path).unwrap());
        let hub = Arc::new(WsHub::starting_at(crate::push::HubConfig::default(), 0));
        let (tenant, alice, bob) = (TenantId::parse("acme").unwrap(), UserId::generate(), UserId::generate());
        let mut alices = hub.subscribe(&tenant, &alice, None);
        let mut bobs = hub.subscribe(&tenant, &bob, None);
        let (stop, stopped) = watch::channel(false);
        let relaying = tokio::spawn(relay(server_queue.clone(), hub.clone(), stopped));

        for n in 0..3 {
            let event = PushEvent::new("send.status", &json!({"send_id": n, "status": "sent"})).unwrap();
            fleet_side.publish(&tenant, std::slice::from_ref(&alice), event).await.unwrap();
        }
        let status = PushEvent::new("account.status", &json!({"status": "online"})).unwrap();
        fleet_side.publish(&tenant, &[alice.clone(), bob.clone()], status).await.unwrap();
        server_queue.send_batch(PUSH_QUEUE, vec![b"{\"kind\":\"forged\"}".to_vec()]).await.unwrap();

        for n in 0..3 {
            let got = alices.events.recv().await.unwrap();
            assert_eq!(
                &*got,
                format!(r#"{{"type":"send.status","seq":{},"data":{{"send_id":{n},"status":"sent"}}}}"#, n + 1)
            );
        }
        assert_eq!(
            &*alices.events.recv().await.unwrap(),
            r#"{"type":"account.status","seq":4,"data":{"status":"online"}}"#
        );
        assert_eq!(
            &*bobs.events.recv().await.unwrap(),
            r#"{"type":"account.status","seq":1,"data":{"status":"online"}}"#
        );
        let mut dead = Vec::new();
        for _ in 0..50 {
            dead = server_queue.receive("push-dlq", 10, Duration::from_millis(100), VISIBILITY).await.unwrap();
            if !dead.is_empty() {
                break;
            }
        }
        assert_eq!(dead.len(), 1, "the unreadable event is dead-lettered");
        assert!(dead[0].reason.as_deref().unwrap_or_default().contains("not a list of push events"));
        stop.send(true).unwrap();
        relaying.await.unwrap();
        assert!(alices.events.try_recv().is_err() && bobs.events.try_recv().is_err(), "nothing twice");
    }
}
