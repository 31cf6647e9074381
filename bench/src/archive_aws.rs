//! `archive-aws` (on a moto server, `--aws-endpoint`): what the AWS archiver
//! asks of S3 and DynamoDB per archived message. moto has no TTL, so the
//! TTL is played: every message's item is deleted in random order across
//! dialogs, in batches the size of the archiver's event source, and each
//! batch's deleted messages go to the archiver, as the stream would hand
//! them over (an item archived ahead, and so marked, is passed over as
//! `expired_message` does). Two tenants get the same messages: one is
//! archived by `ExpiryArchiver` (archiving ahead), the other by writing each
//! batch alone (`archive_messages`, what the archiver did before). Only the
//! archiver's own requests are counted, not the played TTL's.

use crate::aws_usage;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, WriteRequest};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tgdesk_aws::dynamo::keys::messages_part;
use tgdesk_aws::{usage, AwsContext, DynamoStore, ExpiryArchiver, S3Blobs};
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::domain::{AccountId, Message, TenantId};
use tgdesk_core::ports::{Archive, Directory, MessageWriter};
use tgdesk_core::usecases::archive_messages;

/// What the scenario archives.
pub struct Shape {
    /// Dialogs (ten per account).
    pub dialogs: usize,
    /// Messages of each, all past the hot window.
    pub per_dialog: usize,
    /// TTL deletes per archiver invocation.
    pub batch: usize,
}

/// List prices (us-east-1): S3 PUT/POST/LIST and GET per million requests.
const S3_PUT_PER_M: f64 = 5.0;
const S3_GET_PER_M: f64 = 0.4;

type Key = HashMap<String, AttributeValue>;

fn key(tenant: &TenantId, m: &Message) -> Key {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(messages_part(tenant, &m.account_id, m.peer))),
        ("sk".to_owned(), AttributeValue::N(m.id.to_string())),
    ])
}

/// Stores the shape's messages for `tenant`; returns them.
async fn fill(store: &DynamoStore, tenant: &TenantId, shape: &Shape) -> anyhow::Result<Vec<Message>> {
    let accounts = crate::archive::accounts_of(tenant, shape.dialogs.div_ceil(10));
    store.put_accounts(tenant, &accounts).await?;
    // Forty days old: past the thirty-day window, a minute apart in each dialog.
    let start = chrono::Utc::now() - chrono::Duration::days(40);
    let mut messages = Vec::with_capacity(shape.dialogs * shape.per_dialog);
    for d in 0..shape.dialogs {
        let peer = 1_000 + (d % 10) as i64;
        for i in 0..shape.per_dialog {
            let m = crate::pipeline::message(&accounts[d / 10].id, peer, i as i64 + 1, 0);
            messages.push(Message { date: start + chrono::Duration::minutes(i as i64), ..m });
        }
    }
    for chunk in messages.chunks(500) {
        store.ingest_messages(tenant, chunk).await?;
    }
    Ok(messages)
}

/// Which of `batch` carry the mark of archiving ahead (read before the TTL
/// plays its deletes, as the stream's old images would show).
async fn marked(ctx: &AwsContext, tenant: &TenantId, batch: &[Message]) -> anyhow::Result<HashSet<(String, String)>> {
    let table = ctx.name("messages");
    let mut out = HashSet::new();
    for chunk in batch.chunks(100) {
        let keys =
            KeysAndAttributes::builder().set_keys(Some(chunk.iter().map(|m| key(tenant, m)).collect())).build()?;
        let mut request = HashMap::from([(table.clone(), keys)]);
        while !request.is_empty() {
            let got = ctx.dynamodb().batch_get_item().set_request_items(Some(request)).send().await?;
            for item in got.responses().and_then(|r| r.get(&table)).map(Vec::as_slice).unwrap_or_default() {
                if item.contains_key("archived") {
                    let pk = item
                        .get("pk")
                        .and_then(|v| v.as_s().ok())
                        .ok_or_else(|| anyhow::anyhow!("an item without pk"))?;
                    let sk = item
                        .get("sk")
                        .and_then(|v| v.as_n().ok())
                        .ok_or_else(|| anyhow::anyhow!("an item without sk"))?;
                    out.insert((pk.clone(), sk.clone()));
                }
            }
            request = got.unprocessed_keys().cloned().unwrap_or_default();
        }
    }
    Ok(out)
}

/// Deletes the items of `batch`, as the TTL would.
async fn expire(ctx: &AwsContext, tenant: &TenantId, batch: &[Message]) -> anyhow::Result<()> {
    let table = ctx.name("messages");
    for chunk in batch.chunks(25) {
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|m| {
                let delete = DeleteRequest::builder().set_key(Some(key(tenant, m))).build()?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<anyhow::Result<_>>()?;
        let mut request = HashMap::from([(table.clone(), writes)]);
        while !request.is_empty() {
            let out = ctx.dynamodb().batch_write_item().set_request_items(Some(request)).send().await?;
            request = out.unprocessed_items().cloned().unwrap_or_default();
        }
    }
    Ok(())
}

/// Requests and billing units per archived message between two snapshots,
/// with their cost per million messages at list prices.
fn figures(
    before: &BTreeMap<(String, String), usage::OperationUsage>,
    after: &BTreeMap<(String, String), usage::OperationUsage>,
    messages: usize,
) -> Value {
    let per = aws_usage::per_message(before, after, messages);
    let count = |service: &str, ops: &[&str]| -> f64 {
        after
            .iter()
            .filter(|((s, o), _)| s == service && ops.contains(&o.as_str()))
            .map(|(k, now)| now.requests - before.get(k).map_or(0, |b| b.requests))
            .sum::<u64>() as f64
            / messages.max(1) as f64
    };
    let (puts, gets) = (count("S3", &["PutObject", "DeleteObject", "ListObjectsV2"]), count("S3", &["GetObject"]));
    let dynamo_units = per["dynamodb_write_units"].as_f64().unwrap_or(0.0);
    json!({
        "per_message": per,
        "s3_usd_per_million_messages": puts * S3_PUT_PER_M + gets * S3_GET_PER_M,
        "dynamodb_write_units_usd_per_million_messages_on_demand": dynamo_units * crate::cost::prices::DYNAMO_ON_DEMAND_WRITE_PER_M,
    })
}

/// Runs the scenario.
pub async fn run(ctx: &AwsContext, shape: &Shape) -> anyhow::Result<Value> {
    let store = DynamoStore::new(ctx);
    let (ahead_tenant, alone_tenant) = (TenantId::parse("ahead")?, TenantId::parse("alone")?);
    let ahead_messages = fill(&store, &ahead_tenant, shape).await?;
    let ahead_dialogs: std::collections::BTreeSet<(AccountId, i64)> =
        ahead_messages.iter().map(|m| (m.account_id.clone(), m.peer)).collect();
    let alone_messages = fill(&store, &alone_tenant, shape).await?;
    let archive = Arc::new(BlobArchive::new(Arc::new(S3Blobs::new(ctx))));
    let archiver = ExpiryArchiver::new(ctx, archive.clone());
    let mut rng = rand::rngs::StdRng::seed_from_u64(22);
    let total = ahead_messages.len();

    // Archiving ahead: each batch's unmarked deletes go to the archiver.
    let mut order = ahead_messages;
    order.shuffle(&mut rng);
    let (mut before, mut after) = (usage::snapshot(), usage::snapshot());
    let mut passed_over = 0;
    for (i, batch) in order.chunks(shape.batch).enumerate() {
        let marks = marked(ctx, &ahead_tenant, batch).await?;
        expire(ctx, &ahead_tenant, batch).await?;
        let due: Vec<(TenantId, Message)> = batch
            .iter()
            .filter(|m| !marks.contains(&(messages_part(&ahead_tenant, &m.account_id, m.peer), m.id.to_string())))
            .map(|m| (ahead_tenant.clone(), m.clone()))
            .collect();
        passed_over += batch.len() - due.len();
        let start = usage::snapshot();
        archiver.archive_expired(&due).await?;
        let end = usage::snapshot();
        accumulate(&mut before, &mut after, &start, &end, i == 0);
        eprintln!("archive-aws: ahead {} of {total}", (i + 1) * shape.batch.min(total));
    }
    let ahead = figures(&before, &after, total);

    // Each batch alone, as before.
    let mut order = alone_messages;
    order.shuffle(&mut rng);
    let (mut before, mut after) = (usage::snapshot(), usage::snapshot());
    for (i, batch) in order.chunks(shape.batch).enumerate() {
        let due: Vec<(TenantId, Message)> = batch.iter().map(|m| (alone_tenant.clone(), m.clone())).collect();
        let start = usage::snapshot();
        archive_messages(&*archive, &due).await?;
        let end = usage::snapshot();
        accumulate(&mut before, &mut after, &start, &end, i == 0);
        eprintln!("archive-aws: alone {} of {total}", (i + 1) * shape.batch.min(total));
    }
    let alone = figures(&before, &after, total);
    // Every message is in the archive once, whichever way it got there.
    let mut held = 0;
    for (account, peer) in &ahead_dialogs {
        held += archive.list(&ahead_tenant, account, *peer, None, 500).await?.len();
    }
    let counted = archive.usage(&ahead_tenant).await?.messages;
    anyhow::ensure!(held == total, "the archive holds {held} of {total} messages archived ahead (usage: {counted})");

    Ok(json!({
        "dialogs": shape.dialogs,
        "messages_per_dialog": shape.per_dialog,
        "ttl_deletes_per_invocation": shape.batch,
        "passed_over_as_archived_ahead": passed_over,
        "archiving_ahead": ahead,
        "each_batch_alone": alone,
    }))
}

/// Adds the requests between `start` and `end` to the window `before..after`
/// (which starts at the first window).
fn accumulate(
    before: &mut BTreeMap<(String, String), usage::OperationUsage>,
    after: &mut BTreeMap<(String, String), usage::OperationUsage>,
    start: &BTreeMap<(String, String), usage::OperationUsage>,
    end: &BTreeMap<(String, String), usage::OperationUsage>,
    first: bool,
) {
    if first {
        before.clear();
        after.clear();
    }
    for (k, now) in end {
        let was = start.get(k).copied().unwrap_or_default();
        let into = after.entry(k.clone()).or_default();
        into.requests += now.requests - was.requests;
        into.units += now.units - was.units;
        into.units_if_keys_moved += now.units_if_keys_moved - was.units_if_keys_moved;
        before.entry(k.clone()).or_default();
    }
}
