//! Push through a queue, for processes that do not hold the agents'
//! sockets: a `tgdesk-fleet` node beside a local server (whose relay
//! publishes the events to its hub), and on AWS the `ingest` function,
//! whose events the `push` function posts to API Gateway connections.
//!
//! A queue body is a JSON array of events, in the order they were raised.
//! [`QueuedPush`] sends each event as it comes (a fleet raises few, and each
//! should show at once); [`BufferedPush`] keeps a batch handler's events
//! and sends them with [`BufferedPush::flush`] in as few bodies as fit, so
//! a batch of 500 messages costs one queue request, not a thousand.

use crate::domain::{TenantId, UserId};
use crate::ports::{PortError, PortErrorKind, PushEvent, PushHub, Queue, MAX_BODY_BYTES};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::{Arc, Mutex};

/// The queue events travel on.
pub const PUSH_QUEUE: &str = "push";

/// One event on the queue, with who gets it.
#[derive(Serialize, Deserialize)]
struct Relayed {
    tenant: TenantId,
    audience: Vec<UserId>,
    kind: String,
    data: Box<RawValue>,
}

/// An event read off the push queue.
#[derive(Debug)]
pub struct QueuedEvent {
    /// The tenant of the audience.
    pub tenant: TenantId,
    /// The users whose connections get it.
    pub audience: Vec<UserId>,
    /// The event.
    pub event: PushEvent,
}

/// One event as queue JSON.
fn encode(tenant: &TenantId, audience: &[UserId], event: PushEvent) -> Result<Vec<u8>, PortError> {
    let relayed =
        Relayed { tenant: tenant.clone(), audience: audience.to_vec(), kind: event.kind.to_owned(), data: event.data };
    serde_json::to_vec(&relayed)
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "push event does not serialise", e))
}

/// Packs encoded events into JSON arrays of at most [`MAX_BODY_BYTES`],
/// keeping their order. An event too large for a body on its own is
/// refused (the queue would refuse it too).
fn pack(events: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, PortError> {
    let mut bodies = Vec::new();
    let mut body = Vec::new();
    for event in events {
        if event.len() + 2 > MAX_BODY_BYTES {
            return Err(PortError::new(
                PortErrorKind::Invalid,
                format!("a push event of {} bytes is over the queue's {MAX_BODY_BYTES}", event.len()),
            ));
        }
        if !body.is_empty() && body.len() + event.len() + 2 > MAX_BODY_BYTES {
            body.push(b']');
            bodies.push(std::mem::take(&mut body));
        }
        body.push(if body.is_empty() { b'[' } else { b',' });
        body.extend_from_slice(&event);
    }
    if !body.is_empty() {
        body.push(b']');
        bodies.push(body);
    }
    Ok(bodies)
}

/// Reads a push queue body; `Err` says why it is unusable (the caller
/// dead-letters it with that reason).
pub fn decode_events(body: &[u8]) -> Result<Vec<QueuedEvent>, String> {
    let relayed: Vec<Relayed> = serde_json::from_slice(body).map_err(|e| format!("not a list of push events: {e}"))?;
    relayed
        .into_iter()
        .map(|r| {
            let kind = PushEvent::known_kind(&r.kind).ok_or_else(|| format!("unknown event type {:?}", r.kind))?;
            Ok(QueuedEvent { tenant: r.tenant, audience: r.audience, event: PushEvent { kind, data: r.data } })
        })
        .collect()
}

/// The push port of a process without the sockets: each event goes on the
/// push queue at once.
pub struct QueuedPush {
    queue: Arc<dyn Queue>,
}

impl QueuedPush {
    /// Sends events through `queue`.
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self { queue }
    }
}

#[async_trait]
impl PushHub for QueuedPush {
    async fn publish(&self, tenant: &TenantId, audience: &[UserId], event: PushEvent) -> Result<(), PortError> {
        let bodies = pack(vec![encode(tenant, audience, event)?])?;
        self.queue.send_batch(PUSH_QUEUE, bodies).await
    }
}

/// The push port of a batch handler: keeps the events published until
/// [`BufferedPush::flush`] sends them. One handler uses it at a time (a
/// Lambda instance runs one event at a time); events of a handler that
/// fails before its flush are dropped by [`BufferedPush::discard`].
pub struct BufferedPush {
    queue: Arc<dyn Queue>,
    pending: Mutex<Vec<Vec<u8>>>,
}

impl BufferedPush {
    /// Buffers events for `queue`.
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self { queue, pending: Mutex::default() }
    }

    fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Sends the events kept so far, in order; returns how many. On failure
    /// they are gone from the buffer (stored messages are still read over
    /// REST; a client learns of them at its next fetch).
    pub async fn flush(&self) -> Result<usize, PortError> {
        let events = self.take();
        let count = events.len();
        if count > 0 {
            self.queue.send_batch(PUSH_QUEUE, pack(events)?).await?;
        }
        Ok(count)
    }

    /// Drops the events kept so far.
    pub fn discard(&self) {
        self.take();
    }
}

#[async_trait]
impl PushHub for BufferedPush {
    async fn publish(&self, tenant: &TenantId, audience: &[UserId], event: PushEvent) -> Result<(), PortError> {
        let encoded = encode(tenant, audience, event)?;
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(encoded);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usecases::SESSION_REVOKED;
    use serde_json::json;

    fn event(n: usize, pad: usize) -> Vec<u8> {
        let data = json!({ "n": n, "pad": "x".repeat(pad) });
        let event = PushEvent::new("message.new", &data).unwrap();
        encode(&TenantId::parse("acme").unwrap(), &[UserId::generate()], event).unwrap()
    }

    #[test]
    fn events_are_packed_in_order_into_bodies_under_the_queue_limit() {
        let events: Vec<Vec<u8>> = (0..40).map(|n| event(n, 20_000)).collect();
        let bodies = pack(events).unwrap();
        assert!(bodies.len() > 1, "40 events of 20 KB need several bodies");
        let mut seen = Vec::new();
        for body in &bodies {
            assert!(body.len() <= MAX_BODY_BYTES, "a body of {} bytes", body.len());
            for e in decode_events(body).unwrap() {
                let data: serde_json::Value = serde_json::from_str(e.event.data.get()).unwrap();
                seen.push(data["n"].as_u64().unwrap());
            }
        }
        assert_eq!(seen, (0..40).collect::<Vec<u64>>());
    }

    #[test]
    fn an_event_larger_than_a_body_is_refused_and_nothing_is_packed_empty() {
        let err = pack(vec![event(1, MAX_BODY_BYTES)]).unwrap_err();
        assert_eq!(err.kind, PortErrorKind::Invalid);
        assert!(pack(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn revocations_travel_like_every_other_event() {
        let event = PushEvent::new(SESSION_REVOKED, &json!({ "valid_from": 3 })).unwrap();
        let body =
            pack(vec![encode(&TenantId::parse("acme").unwrap(), &[UserId::generate()], event).unwrap()]).unwrap();
        assert_eq!(decode_events(&body[0]).unwrap()[0].event.kind, SESSION_REVOKED);
    }

    #[test]
    fn bodies_that_are_not_event_lists_say_why() {
        assert!(decode_events(b"{\"kind\":\"forged\"}").unwrap_err().contains("not a list of push events"));
        let unknown = br#"[{"tenant":"acme","audience":[],"kind":"forged","data":{}}]"#;
        assert!(decode_events(unknown).unwrap_err().contains("unknown event type"));
    }
}
