//! The cost model: what a million ingested messages cost on AWS at list
//! prices, from what the functions really ask of AWS. The `ingest` and
//! `push` handlers run in this process against a moto server on batches as
//! the SQS event sources deliver them, and every AWS request is counted
//! (`tgdesk_aws::usage`), including the event sources' own SQS polling and
//! deletes; posts to WebSocket connections are counted by a poster that
//! stands in for API Gateway's `@connections` API (not runnable here).
//!
//! Lambda time cannot be measured on moto (its latency is not DynamoDB's),
//! so a handler's billed duration is the smaller of two upper bounds: its
//! wall time against moto (slower than DynamoDB per request), and this
//! process's CPU time in it plus [`AWS_ROUND_TRIP`] per AWS request made,
//! as if none overlapped (the handlers overlap them).

use crate::stats;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::usage::{self, OperationUsage};
use tgdesk_aws::{AwsContext, AwsPorts, DynamoConnections, SqsQueue};
use tgdesk_core::domain::{AccountId, TenantId, UserId};
use tgdesk_core::ports::{Connection, Connections, PortError, Queue};
use tgdesk_core::push_queue::{BufferedPush, PUSH_QUEUE};
use tgdesk_core::usecases::{encode_batch, AccountUpdate, Desk, UpdateEnvelope, UPDATES_QUEUE};
use tgdesk_functions::event_source::EventSource;
use tgdesk_functions::push::Poster;

/// List prices, us-east-1, as published on 2026-12-01 (USD).
pub mod prices {
    /// DynamoDB on-demand, per million write request units.
    pub const DYNAMO_ON_DEMAND_WRITE_PER_M: f64 = 0.625;
    /// DynamoDB on-demand, per million read request units.
    pub const DYNAMO_ON_DEMAND_READ_PER_M: f64 = 0.125;
    /// DynamoDB provisioned, per write capacity unit-hour.
    pub const DYNAMO_WCU_HOUR: f64 = 0.00065;
    /// DynamoDB provisioned, per read capacity unit-hour.
    pub const DYNAMO_RCU_HOUR: f64 = 0.00013;
    /// Utilisation provisioned capacity is planned at (auto scaling's target).
    pub const PROVISIONED_UTILISATION: f64 = 0.7;
    /// DynamoDB storage, per GB-month.
    pub const DYNAMO_STORAGE_GB_MONTH: f64 = 0.25;
    /// SQS standard queues, per million requests (64 KiB each).
    pub const SQS_PER_M: f64 = 0.40;
    /// Lambda, per million invocations.
    pub const LAMBDA_PER_M_INVOCATIONS: f64 = 0.20;
    /// Lambda on arm64, per GB-second.
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    /// API Gateway WebSocket, per million messages (32 KB units).
    pub const WS_MESSAGES_PER_M: f64 = 1.00;
    /// API Gateway WebSocket, per million connection minutes.
    pub const WS_CONNECTION_MINUTES_PER_M: f64 = 0.25;
    /// Fargate on arm64, per vCPU-hour.
    pub const FARGATE_ARM_VCPU_HOUR: f64 = 0.032_38;
    /// Fargate on arm64, per GB-hour.
    pub const FARGATE_ARM_GB_HOUR: f64 = 0.003_56;
    /// Hours in a billing month.
    pub const HOURS_PER_MONTH: f64 = 730.0;
}

/// A request's billed wait in the Lambda duration model (DynamoDB and SQS
/// answer in single-digit milliseconds in-region).
pub const AWS_ROUND_TRIP: Duration = Duration::from_millis(8);
/// API Gateway bills WebSocket messages in 32 KB units.
const WS_UNIT: u64 = 32 * 1024;

/// What the run sends through the functions.
pub struct Shape {
    /// Messages in all.
    pub messages: usize,
    /// Accounts they reach, round-robin (a message per envelope, as live traffic).
    pub accounts: usize,
    /// Agents owning the accounts; each message reaches its owner and the admin.
    pub agents: usize,
    /// Envelopes per updates-queue body (what a fleet node flushes at once).
    pub per_body: usize,
    /// Records per ingest invocation (the template's `IngestBatchSize`).
    pub ingest_batch: usize,
    /// Days a message stays in DynamoDB (the template's `HotDays`).
    pub hot_days: f64,
    /// Memory of the ingest and push functions, MB (the template's).
    pub function_mb: f64,
    /// Sessions the fleet holds, and the memory and idle CPU measured per
    /// session (`tgdesk-bench sessions`, bench/RESULTS.md).
    pub sessions: f64,
    /// Measured memory per session, KiB.
    pub session_kib: f64,
    /// Measured idle CPU per 10,000 sessions, cores.
    pub idle_cores_per_10k: f64,
    /// Agents of a deployment, and the sockets each keeps open all month.
    pub deployment_agents: f64,
}

/// Counts posts and their 32 KB units, as API Gateway bills them.
#[derive(Default)]
struct CountingPoster {
    posts: AtomicU64,
    units: AtomicU64,
}

#[async_trait]
impl Poster for CountingPoster {
    async fn post(&self, _id: &str, data: Vec<u8>) -> Result<bool, PortError> {
        self.posts.fetch_add(1, Ordering::Relaxed);
        self.units.fetch_add((data.len() as u64).div_ceil(WS_UNIT).max(1), Ordering::Relaxed);
        Ok(true)
    }

    async fn close(&self, _id: &str) -> Result<(), PortError> {
        Ok(())
    }
}

/// Time in one function, for the duration model.
#[derive(Default)]
struct Invocations {
    count: u64,
    cpu_s: f64,
    requests: u64,
    wall: Duration,
}

impl Invocations {
    /// Billed seconds by the model: the wall time on moto, or CPU plus a
    /// round trip per request, whichever is less.
    fn billed_s(&self) -> f64 {
        let serial = self.cpu_s + self.requests as f64 * AWS_ROUND_TRIP.as_secs_f64();
        serial.min(self.wall.as_secs_f64())
    }
}

fn requests(snapshot: &BTreeMap<(String, String), OperationUsage>) -> u64 {
    snapshot.values().map(|u| u.requests).sum()
}

/// Runs the shape through `ingest` and `push` on `ctx`; returns counts per
/// message and the cost model.
pub async fn run(ctx: &AwsContext, shape: &Shape) -> anyhow::Result<Value> {
    let push = Arc::new(BufferedPush::new(Arc::new(SqsQueue::new(ctx))));
    let aws = AwsPorts::open(ctx, |_| push.clone(), None).await?;
    let desk = Desk::new(aws.ports, crate::import::bench_tokens());
    let admin = crate::import::admin_of(&desk, "bench").await?;
    let owners = crate::import::agents(&desk, &admin, shape.agents).await?;
    let csv = crate::import::csv(shape.accounts, &owners);
    desk.import_accounts(&admin, tgdesk_core::usecases::ImportFormat::Csv, csv.as_bytes(), &|_| {}).await?;
    let tenant = TenantId::parse("bench")?;
    let query = tgdesk_core::ports::AccountQuery::scoped(tgdesk_core::ports::DialogScope::Tenant, shape.accounts);
    let ids: Vec<AccountId> =
        desk.ports().directory.list_accounts(&tenant, &query).await?.into_iter().map(|a| a.id).collect();
    anyhow::ensure!(ids.len() == shape.accounts, "imported {} of {} accounts", ids.len(), shape.accounts);
    // One socket per user: the agents and the admin (every message reaches its owner and the admin).
    let connections = DynamoConnections::new(ctx);
    let everyone = tgdesk_core::ports::UserQuery { limit: 10_000, ..Default::default() };
    for user in desk.ports().directory.list_users(&tenant, &everyone).await? {
        let connection = Connection {
            id: format!("c{}=", user.id.as_str().replace('_', "")),
            tenant: tenant.clone(),
            user: UserId::parse(user.id.as_str())?,
            token_version: 0,
            expires_at: chrono::Utc::now() + chrono::Duration::hours(2),
            resumed_after: None,
        };
        connections.register(&connection).await?;
    }

    let before = usage::snapshot();
    // The fleet's side: bodies of `per_body` one-message envelopes.
    let queue = SqsQueue::new(ctx);
    let envelopes: Vec<UpdateEnvelope> = (0..shape.messages)
        .map(|i| {
            let account = &ids[i % ids.len()];
            let message = crate::pipeline::message(account, (i / ids.len() % 50) as i64 + 1, i as i64 + 1, 0);
            UpdateEnvelope {
                tenant: tenant.clone(),
                account_id: account.clone(),
                updates: vec![AccountUpdate::Message { message }],
            }
        })
        .collect();
    let bodies: Vec<Vec<u8>> = envelopes.chunks(shape.per_body).map(encode_batch).collect();
    for chunk in bodies.chunks(10) {
        queue.send_batch(UPDATES_QUEUE, chunk.to_vec()).await?;
    }
    let after_fleet = usage::snapshot();

    let (mut ingest, mut pushing, mut stored) = (Invocations::default(), Invocations::default(), 0usize);
    let poster = CountingPoster::default();
    let updates = EventSource::of(ctx, UPDATES_QUEUE).await.map_err(anyhow::Error::msg)?;
    // The push queue exists once the first ingest invocation has sent to it.
    let mut pushes = None;
    loop {
        let event = updates.receive(shape.ingest_batch).await.map_err(anyhow::Error::msg)?;
        if event.records.is_empty() {
            break;
        }
        let (cpu, wall, req) = (stats::cpu_seconds(), std::time::Instant::now(), requests(&usage::snapshot()));
        let (answer, outcome) = tgdesk_functions::ingest::handle(&desk, &push, &event).await;
        ingest.cpu_s += stats::cpu_seconds() - cpu;
        ingest.wall += wall.elapsed();
        ingest.requests += requests(&usage::snapshot()) - req;
        ingest.count += 1;
        anyhow::ensure!(answer.batch_item_failures.is_empty(), "ingest failed records: {outcome:?}");
        stored += outcome.new_messages;
        updates.delete_done(&event, &answer).await.map_err(anyhow::Error::msg)?;
        // The push function takes the bodies this invocation queued (batch size 10).
        if pushes.is_none() {
            pushes = Some(EventSource::of(ctx, PUSH_QUEUE).await.map_err(anyhow::Error::msg)?);
        }
        let pushes = pushes.as_ref().ok_or_else(|| anyhow::anyhow!("no push queue"))?;
        loop {
            let event = pushes.receive(10).await.map_err(anyhow::Error::msg)?;
            if event.records.is_empty() {
                break;
            }
            let (cpu, wall, req) = (stats::cpu_seconds(), std::time::Instant::now(), requests(&usage::snapshot()));
            let now = chrono::Utc::now();
            let (answer, _) = tgdesk_functions::push::handle(&connections, &poster, &queue, &event, now).await;
            pushing.cpu_s += stats::cpu_seconds() - cpu;
            pushing.wall += wall.elapsed();
            pushing.requests += requests(&usage::snapshot()) - req;
            pushing.count += 1;
            anyhow::ensure!(answer.batch_item_failures.is_empty(), "push failed records");
            pushes.delete_done(&event, &answer).await.map_err(anyhow::Error::msg)?;
        }
        eprintln!("cost: {stored}/{} messages through ingest and push", shape.messages);
    }
    anyhow::ensure!(stored == shape.messages, "stored {stored} of {}", shape.messages);
    let after = usage::snapshot();
    let item_bytes = message_item_bytes(ctx).await?;
    Ok(model(shape, &before, &after_fleet, &after, &Measured { ingest, pushing, poster, item_bytes }))
}

/// DynamoDB's size of an attribute value: strings and binaries by length,
/// numbers about one byte per two digits, one byte of overhead per element
/// of a list or map (its documented rules, rounded).
fn value_size(v: &aws_sdk_dynamodb::types::AttributeValue) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    match v {
        V::S(s) => s.len(),
        V::N(n) => n.len().div_ceil(2) + 1,
        V::B(b) => b.as_ref().len(),
        V::Ss(items) => items.iter().map(String::len).sum(),
        V::Ns(items) => items.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        V::L(items) => 3 + items.iter().map(|i| 1 + value_size(i)).sum::<usize>(),
        V::M(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Average stored size of a message item, with DynamoDB's 100 bytes of
/// overhead per item: what the hot window keeps per message.
async fn message_item_bytes(ctx: &AwsContext) -> anyhow::Result<f64> {
    let client = ctx.dynamodb();
    let (mut items, mut bytes, mut start) = (0usize, 0usize, None);
    loop {
        let page = client.scan().table_name(ctx.name("messages")).set_exclusive_start_key(start).send().await?;
        for item in page.items() {
            items += 1;
            bytes += 100 + item.iter().map(|(k, v)| k.len() + value_size(v)).sum::<usize>();
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    anyhow::ensure!(items > 0, "no message items to measure");
    Ok(bytes as f64 / items as f64)
}

/// Sums one service's counts between two snapshots.
fn service(
    before: &BTreeMap<(String, String), OperationUsage>,
    after: &BTreeMap<(String, String), OperationUsage>,
    name: &str,
) -> OperationUsage {
    let mut sum = OperationUsage::default();
    for ((svc, op), now) in after {
        if svc != name {
            continue;
        }
        let was = before.get(&(svc.clone(), op.clone())).copied().unwrap_or_default();
        sum.requests += now.requests - was.requests;
        sum.request_bytes += now.request_bytes - was.request_bytes;
        sum.response_bytes += now.response_bytes - was.response_bytes;
        sum.units += now.units - was.units;
        sum.units_if_keys_moved += now.units_if_keys_moved - was.units_if_keys_moved;
    }
    sum
}

/// Read units of DynamoDB calls that write nothing: at least one per
/// request, else one per 4 KB answered (strongly consistent).
fn read_units(
    before: &BTreeMap<(String, String), OperationUsage>,
    after: &BTreeMap<(String, String), OperationUsage>,
) -> u64 {
    let reads = ["GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable"];
    after
        .iter()
        .filter(|((svc, op), _)| svc == "DynamoDB" && reads.contains(&op.as_str()))
        .map(|(key, now)| {
            let was = before.get(key).copied().unwrap_or_default();
            let requests = now.requests - was.requests;
            let bytes = now.response_bytes - was.response_bytes;
            requests.max(bytes.div_ceil(4096))
        })
        .sum()
}

/// What the run measured besides AWS requests.
struct Measured {
    ingest: Invocations,
    pushing: Invocations,
    poster: CountingPoster,
    /// Average stored bytes of a message item.
    item_bytes: f64,
}

fn model(
    shape: &Shape,
    before: &BTreeMap<(String, String), OperationUsage>,
    after_fleet: &BTreeMap<(String, String), OperationUsage>,
    after: &BTreeMap<(String, String), OperationUsage>,
    measured: &Measured,
) -> Value {
    use prices::*;
    let Measured { ingest, pushing, poster, item_bytes } = measured;
    let m = shape.messages as f64;
    let per_m = |x: f64| x / m * 1e6;
    let dynamo = service(before, after, "DynamoDB");
    let sqs = service(before, after, "SQS");
    let fleet_sqs = service(before, after_fleet, "SQS");
    let wru = per_m(dynamo.units_if_keys_moved.max(dynamo.units) as f64);
    let wru_low = per_m(dynamo.units as f64);
    let rru = per_m(read_units(before, after) as f64);
    // Includes the event sources' receives and deletes, made here as they make them.
    let sqs_units = per_m(sqs.units as f64);
    let ws_units = per_m(poster.units.load(Ordering::Relaxed) as f64);
    let gb = shape.function_mb / 1024.0;
    let lambda_gb_s = per_m((ingest.billed_s() + pushing.billed_s()) * gb);
    let invocations = per_m((ingest.count + pushing.count) as f64);
    // Provisioned: a write unit-hour serves 3,600 writes at full use.
    let provisioned_writes = wru / 3600.0 * DYNAMO_WCU_HOUR / PROVISIONED_UTILISATION;
    let provisioned_reads = rru / 3600.0 * DYNAMO_RCU_HOUR / PROVISIONED_UTILISATION;
    let on_demand = (wru * DYNAMO_ON_DEMAND_WRITE_PER_M + rru * DYNAMO_ON_DEMAND_READ_PER_M) / 1e6;
    let provisioned = provisioned_writes + provisioned_reads;
    let shared = sqs_units * SQS_PER_M / 1e6
        + invocations * LAMBDA_PER_M_INVOCATIONS / 1e6
        + lambda_gb_s * LAMBDA_ARM_GB_SECOND
        + ws_units * WS_MESSAGES_PER_M / 1e6;
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    // The message items held for the hot window. Dialog items are per
    // conversation, not per message: a rewrite replaces their bytes.
    let stored_gb = item_bytes * 1e6 / 1e9;
    let storage = stored_gb * DYNAMO_STORAGE_GB_MONTH * shape.hot_days / 30.0;
    // Fixed monthly: the fleet's memory and CPU for its sessions, and the agents' sockets.
    let fleet_gb = shape.sessions * shape.session_kib / 1024.0 / 1024.0 * 1.5;
    let fleet_vcpu = (shape.sessions / 10_000.0 * shape.idle_cores_per_10k * 2.0).max(1.0);
    let fleet_month = (fleet_vcpu * FARGATE_ARM_VCPU_HOUR + fleet_gb * FARGATE_ARM_GB_HOUR) * HOURS_PER_MONTH;
    let socket_minutes = shape.deployment_agents * 2.0 * HOURS_PER_MONTH * 60.0;
    json!({
        "prices": {
            "dated": "2026-12-01", "region": "us-east-1",
            "dynamodb_on_demand_write_per_m": DYNAMO_ON_DEMAND_WRITE_PER_M,
            "dynamodb_on_demand_read_per_m": DYNAMO_ON_DEMAND_READ_PER_M,
            "dynamodb_wcu_hour": DYNAMO_WCU_HOUR, "dynamodb_rcu_hour": DYNAMO_RCU_HOUR,
            "provisioned_utilisation": PROVISIONED_UTILISATION,
            "sqs_per_m": SQS_PER_M, "lambda_per_m_invocations": LAMBDA_PER_M_INVOCATIONS,
            "lambda_arm_gb_second": LAMBDA_ARM_GB_SECOND, "ws_messages_per_m": WS_MESSAGES_PER_M,
            "ws_connection_minutes_per_m": WS_CONNECTION_MINUTES_PER_M,
            "fargate_arm_vcpu_hour": FARGATE_ARM_VCPU_HOUR, "fargate_arm_gb_hour": FARGATE_ARM_GB_HOUR,
        },
        "per_million_messages": {
            "dynamodb_write_units": round(wru), "dynamodb_write_units_if_no_index_key_moved": round(wru_low),
            "dynamodb_read_units": round(rru), "dynamodb_requests": round(per_m(dynamo.requests as f64)),
            "sqs_requests_64k": round(sqs_units), "sqs_requests_of_the_fleet": round(per_m(fleet_sqs.units as f64)),
            "lambda_invocations": round(invocations), "lambda_gb_seconds": round(lambda_gb_s),
            "websocket_messages_32k": round(ws_units),
            "dynamodb_bytes_written_gb": round(per_m(dynamo.request_bytes as f64) / 1e9),
            "message_item_bytes_stored": round(*item_bytes),
        },
        "cost_per_million_messages_usd": {
            "dynamodb_on_demand": round(on_demand),
            "dynamodb_provisioned": round(provisioned),
            "sqs": round(sqs_units * SQS_PER_M / 1e6),
            "lambda": round(invocations * LAMBDA_PER_M_INVOCATIONS / 1e6 + lambda_gb_s * LAMBDA_ARM_GB_SECOND),
            "websocket_messages": round(ws_units * WS_MESSAGES_PER_M / 1e6),
            "dynamodb_storage_of_message_items": round(storage),
            "total_on_demand": round(on_demand + shared + storage),
            "total_provisioned": round(provisioned + shared + storage),
            "required": 2.0, "aim": 0.8,
        },
        "fixed_per_month_usd": {
            "fleet": round(fleet_month), "fleet_vcpu": round(fleet_vcpu), "fleet_gb": round(fleet_gb),
            "websocket_connection_minutes": round(socket_minutes * WS_CONNECTION_MINUTES_PER_M / 1e6),
        },
        "lambda_model": {
            "round_trip_ms": AWS_ROUND_TRIP.as_millis() as u64, "memory_mb": shape.function_mb,
            "ingest": { "invocations": ingest.count, "cpu_s": round(ingest.cpu_s), "requests": ingest.requests,
                        "wall_on_moto_s": round(ingest.wall.as_secs_f64()), "billed_s": round(ingest.billed_s()) },
            "push": { "invocations": pushing.count, "cpu_s": round(pushing.cpu_s), "requests": pushing.requests,
                      "wall_on_moto_s": round(pushing.wall.as_secs_f64()), "billed_s": round(pushing.billed_s()) },
        },
        "websocket_posts": poster.posts.load(Ordering::Relaxed),
        "aws_per_message": crate::aws_usage::per_message(before, after, shape.messages),
        "shape": {
            "messages": shape.messages, "accounts": shape.accounts, "agents": shape.agents, "hot_days": shape.hot_days,
            "envelopes_per_body": shape.per_body, "ingest_batch": shape.ingest_batch,
            "fleet_sessions": shape.sessions, "session_kib": shape.session_kib,
            "idle_cores_per_10k_sessions": shape.idle_cores_per_10k, "deployment_agents": shape.deployment_agents,
        },
    })
}
