//! The WebSocket side on AWS: `ws-connect`, `ws-disconnect` and
//! `ws-default` on recorded API Gateway events (tests/events/ws-*.json),
//! and the `push` function on what the `ingest` function put on the push
//! queue, with connections in DynamoDB on moto. moto's `@connections` API
//! takes posts but cannot show them or answer "gone", so the frames are
//! checked on a recording poster, and the deployed `GatewayPoster` is
//! checked against moto for the SDK path.

#[path = "../../shared/aws/tests/moto.rs"]
mod moto;

use async_trait::async_trait;
use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tgdesk_aws::{AwsContext, AwsPorts, DynamoConnections, SqsQueue};
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::TenantId;
use tgdesk_core::ports::{Connection, Connections, PortError, PushEvent, PushHub, Queue, MAX_CONNECTIONS_PER_USER};
use tgdesk_core::push_queue::{BufferedPush, QueuedPush, PUSH_QUEUE};
use tgdesk_core::testkit::fixtures::{self, message};
use tgdesk_core::usecases::{encode_batch, AccountUpdate, Desk, UpdateEnvelope, SESSION_REVOKED, UPDATES_QUEUE};
use tgdesk_functions::event_source::EventSource;
use tgdesk_functions::push::{self, Poster};
use tgdesk_functions::{ingest, websocket};

const CONNECT: &str = include_str!("events/ws-connect.json");
const DISCONNECT: &str = include_str!("events/ws-disconnect.json");
const DEFAULT: &str = include_str!("events/ws-default.json");
const PASSWORD: &str = "a-good-password-1";

/// A deployment's WebSocket side on moto: the desk the functions share,
/// the connections table, and a tenant with its admin logged in.
struct Side {
    ctx: AwsContext,
    desk: Desk,
    push: Arc<BufferedPush>,
    connections: Arc<DynamoConnections>,
    tenant: TenantId,
    token: String,
}

async fn side() -> Side {
    let ctx = moto::context_of_its_own().await;
    let push = Arc::new(BufferedPush::new(Arc::new(SqsQueue::new(&ctx))));
    let aws = AwsPorts::open(&ctx, |_| push.clone(), None).await.expect("open the AWS ports");
    let tokens = TokenService::new(b"a-test-secret-of-at-least-32-characters", std::time::Duration::from_secs(600));
    let desk = Desk::new(aws.ports, tokens);
    let tenant = fixtures::tenant();
    desk.ensure_tenant(tenant.as_str(), "admin", PASSWORD).await.expect("tenant");
    let token = desk.login(tenant.as_str(), "admin", PASSWORD, "203.0.113.9").await.expect("login").token;
    let connections = Arc::new(DynamoConnections::new(&ctx));
    Side { ctx, desk, push, connections, tenant, token }
}

/// The recorded `$connect` with `query` in place of its query string.
fn connect_event(id: &str, query: &[(&str, &str)]) -> ApiGatewayWebsocketProxyRequest {
    let mut event: Value = serde_json::from_str(CONNECT).unwrap();
    let single: serde_json::Map<String, Value> = query.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let multi: serde_json::Map<String, Value> = query.iter().map(|(k, v)| ((*k).to_owned(), json!([v]))).collect();
    event["queryStringParameters"] = Value::Object(single);
    event["multiValueQueryStringParameters"] = Value::Object(multi);
    event["requestContext"]["connectionId"] = json!(id);
    serde_json::from_value(event).expect("a $connect event")
}

impl Side {
    async fn connect(&self, id: &str, query: &[(&str, &str)]) -> i64 {
        websocket::connect(&self.desk, &*self.connections, &connect_event(id, query), Utc::now()).await.status_code
    }

    async fn open(&self) -> Vec<Connection> {
        let admin = self.desk.authenticate(&self.token).await.unwrap().user_id;
        self.connections.of_user(&self.tenant, &admin, Utc::now()).await.unwrap()
    }

    /// The push queue's bodies as the event source hands them to `push`.
    async fn push_event(&self) -> SqsEvent {
        queue_event(&self.ctx, PUSH_QUEUE).await
    }
}

/// Stands in for API Gateway's `@connections` API: keeps what is posted,
/// and answers "gone" for the ids it is told are.
#[derive(Default)]
struct RecordingPoster {
    posted: Mutex<Vec<(String, Value)>>,
    closed: Mutex<Vec<String>>,
    gone: HashSet<String>,
}

#[async_trait]
impl Poster for RecordingPoster {
    async fn post(&self, id: &str, data: Vec<u8>) -> Result<bool, PortError> {
        if self.gone.contains(id) {
            return Ok(false);
        }
        let frame: Value = serde_json::from_slice(&data).expect("frames are JSON");
        self.posted.lock().unwrap().push((id.to_owned(), frame));
        Ok(true)
    }

    async fn close(&self, id: &str) -> Result<(), PortError> {
        self.closed.lock().unwrap().push(id.to_owned());
        Ok(())
    }
}

impl RecordingPoster {
    /// The events posted to `id`, in order, each frame's array unrolled.
    fn events_of(&self, id: &str) -> Vec<Value> {
        let posted = self.posted.lock().unwrap();
        posted.iter().filter(|(to, _)| to == id).flat_map(|(_, f)| f.as_array().expect("an array").clone()).collect()
    }
}

#[tokio::test]
async fn connect_records_a_valid_tokens_connection_and_refuses_the_rest() {
    let s = side().await;
    assert_eq!(s.connect("CmcxQeX3IAMCLrg=", &[("token", &s.token)]).await, 200);
    let open = s.open().await;
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id.as_str(), open[0].token_version, open[0].resumed_after), ("CmcxQeX3IAMCLrg=", 0, None));
    assert!(open[0].expires_at <= Utc::now() + chrono::Duration::seconds(600), "not past the token");

    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    assert_eq!(s.connect("forged=", &[("token", forged)]).await, 401);
    assert_eq!(s.connect("none=", &[]).await, 401);
    assert_eq!(s.connect("badsince=", &[("token", &s.token), ("since", "yesterday")]).await, 400);
    for n in 1..MAX_CONNECTIONS_PER_USER {
        assert_eq!(s.connect(&format!("more{n}="), &[("token", &s.token)]).await, 200);
    }
    assert_eq!(s.connect("onetoomany=", &[("token", &s.token)]).await, 429, "the cap holds");
    assert_eq!(s.open().await.len(), MAX_CONNECTIONS_PER_USER);

    let recorded: ApiGatewayWebsocketProxyRequest = serde_json::from_str(DISCONNECT).unwrap();
    assert_eq!(websocket::disconnect(&*s.connections, &recorded).await.status_code, 200);
    assert!(s.open().await.iter().all(|c| c.id != "CmcxQeX3IAMCLrg="), "the recorded disconnect forgot it");
}

#[tokio::test]
async fn the_default_route_acknowledges_messages_and_refuses_oversized_ones() {
    let mut event: ApiGatewayWebsocketProxyRequest = serde_json::from_str(DEFAULT).unwrap();
    assert_eq!(websocket::default(&event).await.status_code, 200);
    event.body = Some("x".repeat(websocket::MAX_CLIENT_MESSAGE + 1));
    assert_eq!(websocket::default(&event).await.status_code, 413);
}

#[tokio::test]
async fn stored_messages_reach_every_connection_numbered_in_one_frame_and_a_resumed_one_resyncs_first() {
    let s = side().await;
    assert_eq!(s.connect("fresh=", &[("token", &s.token)]).await, 200);
    assert_eq!(s.connect("resumed=", &[("token", &s.token), ("since", "41")]).await, 200);
    assert_eq!(s.connect("gone=", &[("token", &s.token)]).await, 200);
    let account = fixtures::account(&s.tenant);
    s.desk.ports().directory.put_accounts(&s.tenant, std::slice::from_ref(&account)).await.unwrap();
    let updates =
        (1..=3).map(|id| AccountUpdate::Message { message: message(&account.id, 7, id, id, false) }).collect();
    let body = encode_batch(&[UpdateEnvelope { tenant: s.tenant.clone(), account_id: account.id.clone(), updates }]);
    let queue = SqsQueue::new(&s.ctx);
    queue.send_batch(UPDATES_QUEUE, vec![body]).await.unwrap();
    let updates_event = queue_event(&s.ctx, UPDATES_QUEUE).await;
    let (_, stored) = ingest::handle(&s.desk, &s.push, &updates_event).await;
    assert_eq!(stored.new_messages, 3);

    let poster = RecordingPoster { gone: ["gone=".to_owned()].into(), ..Default::default() };
    let event = s.push_event().await;
    assert_eq!(event.records.len(), 1, "one push body for the batch");
    let (answer, outcome) = push::handle(&*s.connections, &poster, &queue, &event, Utc::now()).await;

    assert!(answer.batch_item_failures.is_empty());
    assert_eq!((outcome.frames, outcome.gone), (2, 1), "{outcome:?}");
    let fresh = poster.events_of("fresh=");
    let kinds: Vec<&str> = fresh.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "message.new").count(), 3, "{kinds:?}");
    assert!(kinds.contains(&"dialog.update"));
    let seqs: Vec<u64> = fresh.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=fresh.len() as u64).collect::<Vec<_>>(), "numbered from 1, in order");
    let resumed = poster.events_of("resumed=");
    assert_eq!(resumed[0], json!({ "type": "resync", "seq": 41 }), "a resumed connection refetches first");
    let seqs: Vec<u64> = resumed[1..].iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (42..42 + fresh.len() as u64).collect::<Vec<_>>());
    let left: Vec<String> = s.open().await.into_iter().map(|c| c.id).collect();
    assert!(!left.contains(&"gone=".to_owned()), "a gone connection is forgotten: {left:?}");
    assert_eq!(outcome.events, fresh.len());
}

#[tokio::test]
async fn a_revocation_closes_connections_of_older_tokens_after_telling_them() {
    let s = side().await;
    assert_eq!(s.connect("old-token=", &[("token", &s.token)]).await, 200);
    let admin = s.desk.authenticate(&s.token).await.unwrap().user_id;
    let queued = QueuedPush::new(Arc::new(SqsQueue::new(&s.ctx)));
    let revoked = PushEvent::new(SESSION_REVOKED, &json!({ "valid_from": 1 })).unwrap();
    queued.publish(&s.tenant, std::slice::from_ref(&admin), revoked).await.unwrap();

    let poster = RecordingPoster::default();
    let event = s.push_event().await;
    let (_, outcome) = push::handle(&*s.connections, &poster, &SqsQueue::new(&s.ctx), &event, Utc::now()).await;

    assert_eq!(outcome.closed, 1);
    assert_eq!(poster.events_of("old-token=")[0]["type"], SESSION_REVOKED, "told before it is closed");
    assert_eq!(*poster.closed.lock().unwrap(), vec!["old-token=".to_owned()]);
    assert!(s.open().await.is_empty(), "and forgotten");
}

#[tokio::test]
async fn an_unreadable_push_body_is_dead_lettered_with_its_reason() {
    let s = side().await;
    let queue = SqsQueue::new(&s.ctx);
    queue.send_batch(PUSH_QUEUE, vec![b"{\"kind\":\"forged\"}".to_vec()]).await.unwrap();
    let event = s.push_event().await;
    let poster = RecordingPoster::default();

    let (answer, outcome) = push::handle(&*s.connections, &poster, &queue, &event, Utc::now()).await;

    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(outcome.dead_lettered, 1);
    let dead = queue.receive("push-dlq", 10, std::time::Duration::from_secs(1), std::time::Duration::from_secs(30));
    let dead = dead.await.unwrap();
    assert!(dead[0].reason.as_deref().unwrap_or_default().contains("not a list of push events"));
}

/// The bodies on queue `name` as the SQS event source hands them over.
async fn queue_event(ctx: &AwsContext, name: &str) -> SqsEvent {
    EventSource::of(ctx, name).await.expect("the queue").receive(10).await.expect("an event")
}

#[tokio::test]
async fn the_deployed_poster_posts_and_closes_through_the_management_api_sdk() {
    // moto serves API Gateway's @connections API (it keeps what is posted
    // and never answers "gone"), so this proves the SDK path, not the frames.
    let s = side().await;
    assert_eq!(s.connect("through-sdk=", &[("token", &s.token)]).await, 200);
    let admin = s.desk.authenticate(&s.token).await.unwrap().user_id;
    let queued = QueuedPush::new(Arc::new(SqsQueue::new(&s.ctx)));
    let status = PushEvent::new("account.status", &json!({ "status": "online" })).unwrap();
    queued.publish(&s.tenant, std::slice::from_ref(&admin), status).await.unwrap();
    let endpoint = std::env::var(moto::ENDPOINT_VAR).unwrap();
    let poster = push::GatewayPoster::new(&s.ctx, &endpoint);

    let event = s.push_event().await;
    let (answer, outcome) = push::handle(&*s.connections, &poster, &SqsQueue::new(&s.ctx), &event, Utc::now()).await;

    assert!(answer.batch_item_failures.is_empty());
    assert_eq!((outcome.frames, outcome.failed_posts), (1, 0), "{outcome:?}");
    poster.close("through-sdk=").await.expect("closed");
}
