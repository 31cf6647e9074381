//! The `push` function: events from the push queue (put there by the
//! `ingest` and `api` functions and the fleet, each with its audience) to
//! the audience's API Gateway WebSocket connections.
//!
//! Why from the ingest path and not the messages table's stream: the use
//! cases already chose each event's audience and built its payload; from
//! the stream this function would read every account's owner and team and
//! every dialog again. One push-queue body carries a whole ingest batch.
//!
//! Cost is per WebSocket message (32 KB units), so one invocation's events
//! for a connection go out together, as a JSON array of the events the
//! server's `/ws` sends one by one (`{"type","seq","data"}`), in order, up
//! to [`MAX_FRAME`] per message. Each event is numbered from the
//! connection's own counter, so a client applies them as it would the
//! server's; a connection resumed with `since=` first gets a `resync`.
//!
//! A push is worth little late and is never retried into duplicates: a
//! failed post is counted and the client catches up over REST when it
//! reconnects. Only a failure to list connections brings records back.

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use tgdesk_aws::AwsContext;
use tgdesk_core::domain::{TenantId, UserId};
use tgdesk_core::ports::{Connection, Connections, Delivery, PortError, PortErrorKind, Queue};
use tgdesk_core::push_queue::{decode_events, QueuedEvent, PUSH_QUEUE};
use tgdesk_core::usecases::SESSION_REVOKED;

/// Largest WebSocket message posted (API Gateway takes 128 KiB).
pub const MAX_FRAME: usize = 120 * 1024;

/// Posts to and closes connections of the WebSocket API.
#[async_trait]
pub trait Poster: Send + Sync {
    /// Posts one message to connection `id`; `Ok(false)` when the gateway
    /// says the connection is gone.
    async fn post(&self, id: &str, data: Vec<u8>) -> Result<bool, PortError>;
    /// Closes connection `id` (one already gone is no error).
    async fn close(&self, id: &str) -> Result<(), PortError>;
}

/// The `@connections` management API of a deployed WebSocket stage.
pub struct GatewayPoster {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl GatewayPoster {
    /// Posts through `endpoint` (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
    pub fn new(ctx: &AwsContext, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(&ctx.sdk).endpoint_url(endpoint).build();
        Self { client: aws_sdk_apigatewaymanagement::Client::from_conf(config) }
    }
}

fn gateway_error<E: std::fmt::Debug>(what: &str, e: E) -> PortError {
    PortError::new(PortErrorKind::Unavailable, format!("{what}: {e:?}"))
}

#[async_trait]
impl Poster for GatewayPoster {
    async fn post(&self, id: &str, data: Vec<u8>) -> Result<bool, PortError> {
        match self.client.post_to_connection().connection_id(id).data(data.into()).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(false),
            Err(e) => Err(gateway_error("post_to_connection", e)),
        }
    }

    async fn close(&self, id: &str) -> Result<(), PortError> {
        match self.client.delete_connection().connection_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(()),
            Err(e) => Err(gateway_error("delete_connection", e)),
        }
    }
}

/// What one invocation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Events read off the queue.
    pub events: usize,
    /// WebSocket messages posted.
    pub frames: usize,
    /// Connections found gone, and forgotten.
    pub gone: usize,
    /// Connections closed because their token was revoked.
    pub closed: usize,
    /// Posts that failed (the client catches up over REST).
    pub failed_posts: usize,
    /// Unreadable bodies sent to the dead-letter queue.
    pub dead_lettered: usize,
}

/// One user's share of the invocation: events in order, and the records
/// they came from.
#[derive(Default)]
struct Owed<'a> {
    events: Vec<&'a QueuedEvent>,
    records: BTreeSet<usize>,
}

/// Delivers the events of the batch's push-queue bodies; answers the
/// records to deliver again (those whose users' connections could not be
/// read).
pub async fn handle(
    connections: &dyn Connections,
    poster: &dyn Poster,
    queue: &dyn Queue,
    event: &SqsEvent,
    now: DateTime<Utc>,
) -> (SqsBatchResponse, PushOutcome) {
    let mut outcome = PushOutcome::default();
    let mut failed: BTreeSet<usize> = BTreeSet::new();
    let mut decoded: Vec<(usize, Vec<QueuedEvent>)> = Vec::new();
    for (i, record) in event.records.iter().enumerate() {
        let body = tgdesk_aws::sqs_body(record.body.as_deref().unwrap_or_default());
        match decode_events(&body) {
            Ok(events) => decoded.push((i, events)),
            Err(reason) => {
                let delivery = Delivery {
                    receipt: record.receipt_handle.clone().unwrap_or_default(),
                    body,
                    attempts: 1,
                    reason: None,
                };
                let id = record.message_id.as_deref().unwrap_or_default();
                match queue.dead_letter(PUSH_QUEUE, &delivery, &reason).await {
                    Ok(()) => {
                        outcome.dead_lettered += 1;
                        tracing::warn!(record = id, reason, "push body dead-lettered");
                    }
                    Err(e) => {
                        tracing::warn!(record = id, reason, error = %e, "cannot dead-letter; delivered again");
                        failed.insert(i);
                    }
                }
            }
        }
    }
    let mut order: Vec<(TenantId, UserId)> = Vec::new();
    let mut owed: HashMap<(TenantId, UserId), Owed<'_>> = HashMap::new();
    for (i, events) in &decoded {
        for queued in events {
            outcome.events += 1;
            for user in &queued.audience {
                let key = (queued.tenant.clone(), user.clone());
                let share = owed.entry(key.clone()).or_insert_with(|| {
                    order.push(key);
                    Owed::default()
                });
                share.events.push(queued);
                share.records.insert(*i);
            }
        }
    }
    for key in &order {
        let share = &owed[key];
        match connections.of_user(&key.0, &key.1, now).await {
            Ok(open) => {
                for connection in open {
                    deliver(connections, poster, &connection, &share.events, &mut outcome).await;
                }
            }
            Err(e) => {
                tracing::warn!(user = %key.1, error = %e, "cannot list connections; records delivered again");
                failed.extend(share.records.iter().copied());
            }
        }
    }
    tracing::info!(
        records = event.records.len(),
        events = outcome.events,
        frames = outcome.frames,
        gone = outcome.gone,
        failed_posts = outcome.failed_posts,
        "pushed"
    );
    let mut response = SqsBatchResponse::default();
    for i in failed {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = event.records[i].message_id.clone().unwrap_or_default();
        response.batch_item_failures.push(failure);
    }
    (response, outcome)
}

/// Posts `events` to one connection, numbered from its counter; a
/// revocation of its token version closes it after telling it why.
async fn deliver(
    connections: &dyn Connections,
    poster: &dyn Poster,
    connection: &Connection,
    events: &[&QueuedEvent],
    outcome: &mut PushOutcome,
) {
    let revoked = events.iter().any(|e| e.event.kind == SESSION_REVOKED && revokes(e, connection.token_version));
    let count = events.len() as u64;
    let taken = match connections.advance(connection, count).await {
        Ok(Some(taken)) => taken,
        Ok(None) => return,
        Err(e) => {
            outcome.failed_posts += 1;
            tracing::warn!(connection = %connection.id, error = %e, "cannot number frames; not posted");
            return;
        }
    };
    let first = taken.last - count + 1;
    let mut items: Vec<String> = Vec::with_capacity(events.len() + 1);
    if taken.resync_first {
        items.push(format!(r#"{{"type":"resync","seq":{}}}"#, first - 1));
    }
    for (n, queued) in events.iter().enumerate() {
        items.push(format!(
            r#"{{"type":"{}","seq":{},"data":{}}}"#,
            queued.event.kind,
            first + n as u64,
            queued.event.data.get()
        ));
    }
    for frame in frames(items) {
        match poster.post(&connection.id, frame).await {
            Ok(true) => outcome.frames += 1,
            Ok(false) => {
                outcome.gone += 1;
                forget(connections, &connection.id).await;
                return;
            }
            Err(e) => {
                outcome.failed_posts += 1;
                tracing::warn!(connection = %connection.id, error = %e, "post failed; the client catches up over REST");
                return;
            }
        }
    }
    if revoked {
        outcome.closed += 1;
        if let Err(e) = poster.close(&connection.id).await {
            tracing::warn!(connection = %connection.id, error = %e, "cannot close a revoked connection");
        }
        forget(connections, &connection.id).await;
    }
}

/// True when `event` (a `session.revoked`) makes tokens of `version` invalid.
fn revokes(event: &QueuedEvent, version: u32) -> bool {
    #[derive(serde::Deserialize)]
    struct Revoked {
        valid_from: u32,
    }
    serde_json::from_str::<Revoked>(event.event.data.get()).is_ok_and(|r| version < r.valid_from)
}

async fn forget(connections: &dyn Connections, id: &str) {
    if let Err(e) = connections.unregister(id).await {
        tracing::warn!(connection = id, error = %e, "cannot forget a connection; its TTL will");
    }
}

/// Packs event texts into JSON arrays of at most [`MAX_FRAME`] bytes (an
/// event larger than that goes alone).
fn frames(items: Vec<String>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut frame: Vec<u8> = Vec::new();
    for item in items {
        if !frame.is_empty() && frame.len() + item.len() + 2 > MAX_FRAME {
            frame.push(b']');
            out.push(std::mem::take(&mut frame));
        }
        frame.push(if frame.is_empty() { b'[' } else { b',' });
        frame.extend_from_slice(item.as_bytes());
    }
    if !frame.is_empty() {
        frame.push(b']');
        out.push(frame);
    }
    out
}
