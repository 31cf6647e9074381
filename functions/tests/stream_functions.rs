//! The stream functions (`archiver`, `indexer`) on DynamoDB Streams events
//! as Lambda delivers them: a recorded event (tests/events/), and events
//! made of what moto's stream says about real writes and deletes of the
//! store. moto has no TTL expiry, so a TTL delete is a real `DeleteItem`
//! whose record gets the `userIdentity` DynamoDB's TTL gives its deletes.

#[path = "../../shared/aws/tests/moto.rs"]
mod moto;

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, Record, ShardIteratorType};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tgdesk_aws::dynamo::keys::messages_part;
use tgdesk_aws::dynamo::stream_feed::{expired_message, TTL_IDENTITY};
use tgdesk_aws::{AwsContext, AwsSettings, DynamoStore, ExpiryArchiver, S3Blobs};
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::domain::{AccountId, Message, TenantId};
use tgdesk_core::ports::{Directory, MessageWriter, SearchIndex, SearchQuery, SearchText};
use tgdesk_core::testkit::fixtures::{self, message, tenant};
use tgdesk_functions::{archiver, indexer};
use tgdesk_local::TantivyIndex;

/// The recorded event: an insert, a tag change, a delete by a user and a
/// TTL delete, of the store's own items (see `record_the_fixture`).
const RECORDED: &str = include_str!("events/messages-stream.json");

fn text_message(account: &AccountId, peer: i64, id: i64, text: &str) -> Message {
    Message { text: text.to_owned(), ..message(account, peer, id, id * 1000, false) }
}

/// A tenant's messages written by the store on moto (tables of their own).
struct Written {
    ctx: AwsContext,
    tenant: TenantId,
    account: AccountId,
    messages: Vec<Message>,
}

async fn written(texts: &[&str]) -> Written {
    let ctx = moto::context_of_its_own().await;
    let tenant = tenant();
    let store = DynamoStore::new(&ctx);
    let account = fixtures::account(&tenant);
    store.put_accounts(&tenant, std::slice::from_ref(&account)).await.expect("put account");
    let account = account.id;
    let messages: Vec<Message> =
        texts.iter().enumerate().map(|(i, t)| text_message(&account, 77, i as i64 + 1, t)).collect();
    store.ingest_messages(&tenant, &messages).await.expect("ingest");
    Written { ctx, tenant, account, messages }
}

impl Written {
    /// Deletes a message's item as DynamoDB's TTL (or a user) would.
    async fn delete_item(&self, id: i64) {
        let key = HashMap::from([
            ("pk".to_owned(), AttributeValue::S(messages_part(&self.tenant, &self.account, 77))),
            ("sk".to_owned(), AttributeValue::N(id.to_string())),
        ]);
        let table = self.ctx.name("messages");
        self.ctx.dynamodb().delete_item().table_name(table).set_key(Some(key)).send().await.expect("delete item");
    }

    /// Every record the table's stream holds, oldest first.
    async fn stream_records(&self) -> Vec<Record> {
        let table = self.ctx.name("messages");
        let described = self.ctx.dynamodb().describe_table().table_name(table).send().await.expect("describe");
        let arn = described.table().and_then(|t| t.latest_stream_arn()).expect("a stream").to_owned();
        let streams = self.ctx.dynamodb_streams();
        let stream = streams.describe_stream().stream_arn(&arn).send().await.expect("describe stream");
        let mut records = Vec::new();
        for shard in stream.stream_description().map(|d| d.shards()).unwrap_or_default() {
            let iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard.shard_id().unwrap_or_default())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("iterator");
            let page = streams.get_records().shard_iterator(iterator.shard_iterator().unwrap()).send().await.unwrap();
            records.extend(page.records().iter().cloned());
        }
        records
    }
}

/// The Lambda event of `records`, the removes among them made by the TTL
/// when `ttl_removes` (as the event source mapping hands them over).
fn event_of(records: &[Record], ttl_removes: bool) -> Value {
    let image = |image: Option<&HashMap<String, StreamValue>>| image.map(image_json);
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let data = r.dynamodb().expect("record data");
            let event = r.event_name().expect("event name").as_str().to_owned();
            let mut change = Map::new();
            change.insert("ApproximateCreationDateTime".into(), json!(1_765_000_000.0));
            change.insert("Keys".into(), image(data.keys()).expect("keys"));
            if let Some(new) = image(data.new_image()) {
                change.insert("NewImage".into(), new);
            }
            if let Some(old) = image(data.old_image()) {
                change.insert("OldImage".into(), old);
            }
            change.insert("SequenceNumber".into(), json!(data.sequence_number().expect("sequence number")));
            change.insert("SizeBytes".into(), json!(data.size_bytes().unwrap_or(100)));
            change.insert("StreamViewType".into(), json!("NEW_AND_OLD_IMAGES"));
            let mut record = json!({
                "eventID": r.event_id().unwrap_or("id"),
                "eventName": event,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/tgdesk-messages/stream/2026-12-06T00:00:00.000",
                "dynamodb": change,
            });
            if ttl_removes && event == "REMOVE" {
                record["userIdentity"] = json!({ "type": TTL_IDENTITY.0, "principalId": TTL_IDENTITY.1 });
            }
            record
        })
        .collect();
    json!({ "Records": records })
}

fn image_json(image: &HashMap<String, StreamValue>) -> Value {
    Value::Object(image.iter().map(|(k, v)| (k.clone(), value_json(v))).collect())
}

fn value_json(value: &StreamValue) -> Value {
    match value {
        StreamValue::S(v) => json!({ "S": v }),
        StreamValue::N(v) => json!({ "N": v }),
        StreamValue::Bool(v) => json!({ "BOOL": v }),
        StreamValue::Null(v) => json!({ "NULL": v }),
        StreamValue::Ss(v) => json!({ "SS": v }),
        StreamValue::Ns(v) => json!({ "NS": v }),
        StreamValue::L(v) => json!({ "L": v.iter().map(value_json).collect::<Vec<_>>() }),
        StreamValue::M(v) => json!({ "M": image_json(v) }),
        other => panic!("the store writes no {other:?}"),
    }
}

fn parse(event: &Value) -> Event {
    serde_json::from_value(event.clone()).expect("a DynamoDB Streams event")
}

/// The archiver of `ctx`'s messages table into the archive in its bucket.
fn s3_archive(ctx: &AwsContext) -> ExpiryArchiver {
    ExpiryArchiver::new(ctx, Arc::new(BlobArchive::new(Arc::new(S3Blobs::new(ctx)))))
}

async fn archived(archiver: &ExpiryArchiver, w: &Written) -> Vec<i64> {
    let archive = archiver.archive();
    let mut ids: Vec<i64> =
        archive.list(&w.tenant, &w.account, 77, None, 100).await.expect("list").iter().map(|m| m.id).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn ttl_deletes_from_the_stream_reach_the_archive_once_however_often_delivered() {
    let w = written(&["first", "second", "third"]).await;
    w.delete_item(1).await;
    w.delete_item(3).await;
    let event = parse(&event_of(&w.stream_records().await, true));
    assert_eq!(event.records.len(), 5, "three inserts and two removes");
    let archiver = s3_archive(&w.ctx);

    let answer = archiver::handle(&event, &archiver).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    // 2 was about to expire too (its date is long past): written with them.
    assert_eq!(archived(&archiver, &w).await, vec![1, 2, 3]);
    let stored = archiver.archive().get(&w.tenant, &w.account, 77, 3).await.unwrap().expect("message 3");
    assert_eq!(stored, w.messages[2], "the archive holds the old image whole");

    // Delivered again (a timeout, a retry): still one copy of each.
    let again = archiver::handle(&event, &archiver).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(archiver.archive().list(&w.tenant, &w.account, 77, None, 100).await.unwrap().len(), 3);
}

/// Whether message `id`'s item carries the mark of archiving ahead.
async fn marked(w: &Written, id: i64) -> bool {
    let key = HashMap::from([
        ("pk".to_owned(), AttributeValue::S(messages_part(&w.tenant, &w.account, 77))),
        ("sk".to_owned(), AttributeValue::N(id.to_string())),
    ]);
    let table = w.ctx.name("messages");
    let got = w.ctx.dynamodb().get_item().table_name(table).set_key(Some(key)).send().await.expect("get item");
    got.item().expect("the item").contains_key("archived")
}

#[tokio::test]
async fn a_dialog_is_archived_ahead_and_only_what_changed_since_is_archived_again_at_its_ttl() {
    // Four messages long past their hot window, and one of today.
    let w = written(&["one", "two", "three", "four"]).await;
    let store = DynamoStore::new(&w.ctx);
    let fresh = Message { date: chrono::Utc::now(), ..text_message(&w.account, 77, 5, "today") };
    store.ingest_messages(&w.tenant, std::slice::from_ref(&fresh)).await.expect("ingest");
    let archiver = s3_archive(&w.ctx);

    // The TTL takes 1: 2 to 4 go with it and are marked; 5 is not due.
    w.delete_item(1).await;
    let first = parse(&event_of(&w.stream_records().await, true));
    assert!(archiver::handle(&first, &archiver).await.batch_item_failures.is_empty());
    assert_eq!(archived(&archiver, &w).await, vec![1, 2, 3, 4]);
    assert_eq!((marked(&w, 2).await, marked(&w, 4).await, marked(&w, 5).await), (true, true, false));

    // 3 is edited after its mark: the mark goes.
    store.edit_message(&w.tenant, &w.account, 77, 3, "three, edited", chrono::Utc::now()).await.expect("edit");
    assert!(!marked(&w, 3).await, "a change takes the mark off");

    // The TTL takes 2 (marked) and 3 (changed since): only 3 is an expiry to write.
    w.delete_item(2).await;
    w.delete_item(3).await;
    let records = w.stream_records().await;
    let removes: Vec<Record> =
        records.into_iter().filter(|r| r.event_name().is_some_and(|e| e.as_str() == "REMOVE")).skip(1).collect();
    let second = parse(&event_of(&removes, true));
    let (due, failed) = tgdesk_functions::stream::read_records(&second.records, expired_message);
    assert!(failed.is_none());
    assert_eq!(due.iter().map(|(_, m)| m.id).collect::<Vec<_>>(), vec![3], "the marked 2 is passed over");
    assert!(archiver::handle(&second, &archiver).await.batch_item_failures.is_empty());
    let three = archiver.archive().get(&w.tenant, &w.account, 77, 3).await.unwrap().expect("3");
    assert_eq!(three.text, "three, edited", "the version the TTL took");
}

#[tokio::test]
async fn deletes_by_users_never_reach_the_archive() {
    let w = written(&["kept", "gone"]).await;
    w.delete_item(2).await;
    let event = parse(&event_of(&w.stream_records().await, false));
    let archiver = s3_archive(&w.ctx);
    assert!(archiver::handle(&event, &archiver).await.batch_item_failures.is_empty());
    assert!(archived(&archiver, &w).await.is_empty());
}

#[tokio::test]
async fn a_failing_archive_has_the_whole_batch_delivered_again() {
    let w = written(&["one"]).await;
    w.delete_item(1).await;
    let event = parse(&event_of(&w.stream_records().await, true));
    // A bucket that does not exist, and is not created: S3 refuses the write.
    let settings = AwsSettings {
        create_missing: false,
        prefix: format!("{}-absent", w.ctx.settings.prefix),
        ..w.ctx.settings.clone()
    };
    let missing = s3_archive(&AwsContext::load(settings).await);
    let answer = archiver::handle(&event, &missing).await;
    let first = event.records[0].change.sequence_number.clone();
    assert_eq!(answer.batch_item_failures.len(), 1);
    assert_eq!(answer.batch_item_failures[0].item_identifier, first, "from the batch's first record");
}

#[tokio::test]
async fn an_unreadable_record_is_delivered_again_after_what_came_before_it() {
    let w = written(&["a", "b"]).await;
    w.delete_item(1).await;
    w.delete_item(2).await;
    let mut event = event_of(&w.stream_records().await, true);
    let records = event["Records"].as_array_mut().unwrap();
    // The fourth record (the second TTL delete) lost its old image.
    let broken = records[3]["dynamodb"].as_object_mut().unwrap();
    assert!(broken.remove("OldImage").is_some());
    let event = parse(&event);
    let archiver = s3_archive(&w.ctx);
    let answer = archiver::handle(&event, &archiver).await;
    assert_eq!(answer.batch_item_failures.len(), 1);
    assert_eq!(answer.batch_item_failures[0].item_identifier, event.records[3].change.sequence_number);
    assert_eq!(archived(&archiver, &w).await, vec![1], "the expiry before it is written (2, deleted, not ahead)");
}

async fn found(index: &dyn SearchIndex, tenant: &TenantId, words: &str) -> Vec<i64> {
    let query = SearchQuery::text(SearchText::parse(words).unwrap(), 50);
    let mut ids: Vec<i64> = index.search(tenant, &query).await.unwrap().hits.iter().map(|h| h.id).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn the_indexer_keeps_ttl_deletes_searchable_and_drops_deletes_by_users() {
    let w = written(&["parcel one", "parcel two", "parcel three"]).await;
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open(dir.path()).unwrap();
    let inserts = parse(&event_of(&w.stream_records().await, false));
    assert!(indexer::handle(&inserts, &index).await.batch_item_failures.is_empty());
    assert_eq!(found(&index, &w.tenant, "parcel").await, vec![1, 2, 3]);

    w.delete_item(1).await;
    w.delete_item(2).await;
    let records = w.stream_records().await;
    let (ttl, by_user) = (event_of(&records[3..4], true), event_of(&records[4..5], false));
    for event in [ttl, by_user] {
        assert!(indexer::handle(&parse(&event), &index).await.batch_item_failures.is_empty());
    }
    assert_eq!(found(&index, &w.tenant, "parcel").await, vec![1, 3], "the expired one stays, the deleted one goes");
}

#[tokio::test]
async fn the_recorded_event_is_read_by_both_functions() {
    let event = parse(&serde_json::from_str(RECORDED).expect("JSON"));
    let kinds: Vec<&str> = event.records.iter().map(|r| r.event_name.as_str()).collect();
    assert_eq!(kinds, ["INSERT", "INSERT", "MODIFY", "REMOVE", "REMOVE"]);
    let ttl = event.records.iter().filter(|r| r.user_identity.is_some()).count();
    assert_eq!(ttl, 1, "one of the removes is the TTL's");

    let ctx = moto::context_of_its_own().await;
    let archiver = s3_archive(&ctx);
    assert!(archiver::handle(&event, &archiver).await.batch_item_failures.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open(dir.path()).unwrap();
    assert!(indexer::handle(&event, &index).await.batch_item_failures.is_empty());

    // The recording's tenant, account and dialog, from its first record's key.
    let pk = event.records[0].change.keys.clone().into_inner();
    let Some(serde_dynamo::AttributeValue::S(pk)) = pk.get("pk").cloned() else { panic!("a pk") };
    let (tenant, account, peer) = tgdesk_aws::dynamo::keys::dialog_of_messages_part(&pk).expect("a message key");
    let cold: Vec<i64> =
        archiver.archive().list(&tenant, &account, peer, None, 10).await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(cold, vec![2], "only the TTL's remove is archived");
    assert_eq!(found(&index, &tenant, "refund").await, vec![2], "expired and still searchable; the user's delete gone");
}

/// Writes tests/events/messages-stream.json from moto's stream: run with
/// `cargo test -p tgdesk-functions --test stream_functions record_the_fixture -- --ignored`
/// after the store's item format changes.
#[tokio::test]
#[ignore]
async fn record_the_fixture() {
    let w = written(&["refund request for order 1", "refund for order 2"]).await;
    let store = DynamoStore::new(&w.ctx);
    let tag = tgdesk_core::domain::TagId::generate();
    store.set_message_tags(&w.tenant, &w.account, 77, 2, &[tag].into()).await.expect("tags");
    w.delete_item(1).await;
    w.delete_item(2).await;
    let records = w.stream_records().await;
    let mut event = event_of(&records, false);
    // The last remove is the TTL's.
    event["Records"][4]["userIdentity"] = json!({ "type": TTL_IDENTITY.0, "principalId": TTL_IDENTITY.1 });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/events/messages-stream.json");
    std::fs::write(path, serde_json::to_string_pretty(&event).unwrap() + "\n").unwrap();
}
