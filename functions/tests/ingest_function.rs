//! The `ingest` function on SQS events as Lambda delivers them: a recorded
//! event (tests/events/updates-sqs.json), and events made of what moto's
//! queue hands out for bodies the fleet's queue adapter sent, so receipts
//! and receive counts are real.

#[path = "../../shared/aws/tests/moto.rs"]
mod moto;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::{AwsContext, AwsPorts, AwsSettings, DynamoStore, SqsQueue};
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::ports::Queue;
use tgdesk_core::push_queue::{decode_events, BufferedPush, PUSH_QUEUE};
use tgdesk_core::testkit::fixtures::{self, message};
use tgdesk_core::usecases::{
    encode_batch, AccountUpdate, Desk, Ports, UpdateEnvelope, MAX_INGEST_ATTEMPTS, UPDATES_QUEUE,
};
use tgdesk_functions::desk_issuing_no_tokens;
use tgdesk_functions::event_source::EventSource;
use tgdesk_functions::ingest::{handle, IngestOutcome};

/// The recorded event: a batch of three messages for the fixture account,
/// a body that is no update batch, and a batch naming an unknown account.
const RECORDED: &str = include_str!("events/updates-sqs.json");
/// The tenant and account the recorded event's first record is for.
const FIXTURE_TENANT: &str = "fixture";
const FIXTURE_ACCOUNT: &str = "acc_01jex4mp1eacc0nt000000000z";

/// A desk on moto tables and queues of its own, with its push port.
struct Function {
    ctx: AwsContext,
    desk: Desk,
    push: Arc<BufferedPush>,
}

async fn function() -> Function {
    function_with(|_| {}).await
}

/// A desk whose ports `edit` changed after they were opened.
async fn function_with(edit: impl FnOnce(&mut Ports)) -> Function {
    let ctx = moto::context_of_its_own().await;
    let push = Arc::new(BufferedPush::new(Arc::new(SqsQueue::new(&ctx))));
    let aws = AwsPorts::open(&ctx, |_| push.clone(), None).await.expect("open the AWS ports");
    let mut ports = aws.ports;
    edit(&mut ports);
    Function { ctx, desk: desk_issuing_no_tokens(ports), push }
}

/// The function on a store whose tables are gone (a prefix with none, never
/// created): every store call fails.
async fn function_with_a_broken_store() -> Function {
    let fresh = moto::context_of_its_own().await;
    let gone = AwsContext::load(AwsSettings { create_missing: false, ..fresh.settings }).await;
    function_with(|ports| {
        let broken = Arc::new(DynamoStore::new(&gone));
        ports.directory = broken.clone();
        ports.writer = broken.clone();
        ports.reader = broken;
    })
    .await
}

impl Function {
    async fn account(&self, tenant: &TenantId, id: Option<&str>) -> AccountId {
        let mut account = fixtures::account(tenant);
        if let Some(id) = id {
            account.id = AccountId::parse(id).expect("account id");
        }
        self.desk.ports().directory.put_accounts(tenant, std::slice::from_ref(&account)).await.expect("put account");
        account.id
    }

    async fn run(&self, event: &SqsEvent) -> (Vec<String>, IngestOutcome) {
        let (answer, outcome): (SqsBatchResponse, _) = handle(&self.desk, &self.push, event).await;
        (answer.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(), outcome)
    }

    /// The updates queue's bodies as the event source mapping hands them to
    /// Lambda: every visible one, with real receipts.
    async fn receive_event(&self) -> SqsEvent {
        let source = EventSource::of(&self.ctx, UPDATES_QUEUE).await.expect("the updates queue");
        source.receive(10).await.expect("an event")
    }

    /// The bodies on queue `name` now (receipts dropped: only what they say).
    async fn drain(&self, name: &str) -> Vec<tgdesk_core::ports::Delivery> {
        let queue = SqsQueue::new(&self.ctx);
        let mut all = Vec::new();
        for _ in 0..3 {
            let got = queue.receive(name, 10, Duration::from_millis(300), Duration::from_secs(30)).await.unwrap();
            if got.is_empty() && !all.is_empty() {
                break;
            }
            all.extend(got);
        }
        all
    }
}

fn batch_body(tenant: &TenantId, account: &AccountId, ids: std::ops::Range<i64>) -> Vec<u8> {
    let updates =
        ids.map(|id| AccountUpdate::Message { message: message(account, 501, id, id * 1000, false) }).collect();
    encode_batch(&[UpdateEnvelope { tenant: tenant.clone(), account_id: account.clone(), updates }])
}

#[tokio::test]
async fn a_batch_is_stored_its_bad_records_dead_lettered_with_reasons_and_its_pushes_queued_once() {
    let f = function().await;
    let tenant = fixtures::tenant();
    let account = f.account(&tenant, None).await;
    let unknown = AccountId::generate();
    let bodies =
        vec![batch_body(&tenant, &account, 1..4), b"not an update batch".to_vec(), batch_body(&tenant, &unknown, 1..2)];
    SqsQueue::new(&f.ctx).send_batch(UPDATES_QUEUE, bodies).await.unwrap();
    let event = f.receive_event().await;
    assert_eq!(event.records.len(), 3, "three deliveries");

    let (failed, outcome) = f.run(&event).await;
    assert!(failed.is_empty(), "nothing is delivered again: {failed:?}");
    assert_eq!((outcome.new_messages, outcome.duplicates, outcome.dead_lettered), (3, 0, 2));
    let stored = f.desk.ports().reader.list_messages(&tenant, &account, 501, None, 10).await.unwrap();
    assert_eq!(stored.len(), 3, "the three messages are stored");

    let mut reasons: Vec<String> =
        f.drain("updates-dlq").await.into_iter().map(|d| d.reason.unwrap_or_default()).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2, "both bad records are dead-lettered: {reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("account")), "the unknown account is named: {reasons:?}");

    let pushes = f.drain(PUSH_QUEUE).await;
    assert_eq!(pushes.len(), 1, "one push body for the whole invocation");
    let events = decode_events(&pushes[0].body).unwrap();
    assert_eq!(events.iter().filter(|e| e.event.kind == "message.new").count(), 3);
    assert!(events.iter().any(|e| e.event.kind == "dialog.update"));
    assert_eq!(outcome.pushed, events.len());

    // Lambda delivers the stored record again (the invocation timed out
    // before it answered; the dead-lettered ones left the queue).
    let mut stored_again = event.clone();
    stored_again.records.truncate(1);
    let (failed, again) = f.run(&stored_again).await;
    assert!(failed.is_empty());
    assert_eq!((again.new_messages, again.duplicates, again.pushed), (0, 3, 0), "stored once, pushed once");
    assert!(f.drain(PUSH_QUEUE).await.is_empty(), "a redelivery pushes nothing");
}

#[tokio::test]
async fn a_failing_store_has_every_record_delivered_again_and_dead_letters_nothing() {
    let f = function_with_a_broken_store().await;
    let (tenant, account) = (fixtures::tenant(), AccountId::generate());
    SqsQueue::new(&f.ctx).send_batch(UPDATES_QUEUE, vec![batch_body(&tenant, &account, 1..3)]).await.unwrap();
    let event = f.receive_event().await;

    let (failed, outcome) = f.run(&event).await;
    assert_eq!(failed, vec![event.records[0].message_id.clone().unwrap()], "the record comes back");
    assert_eq!(outcome, IngestOutcome::default());
    assert!(f.drain("updates-dlq").await.is_empty(), "a failing store dead-letters nothing");
}

#[tokio::test]
async fn a_record_the_store_failed_twenty_times_is_dead_lettered_with_the_last_error() {
    let f = function_with_a_broken_store().await;
    let (tenant, account) = (fixtures::tenant(), AccountId::generate());
    SqsQueue::new(&f.ctx).send_batch(UPDATES_QUEUE, vec![batch_body(&tenant, &account, 1..3)]).await.unwrap();
    let mut event = f.receive_event().await;
    let last = MAX_INGEST_ATTEMPTS.to_string();
    event.records[0].attributes.insert("ApproximateReceiveCount".into(), last);

    let (failed, outcome) = f.run(&event).await;
    assert!(failed.is_empty(), "not delivered again");
    assert_eq!(outcome.dead_lettered, 1);
    let dead = f.drain("updates-dlq").await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0].reason.clone().unwrap_or_default();
    assert!(reason.starts_with("failed 20 times"), "{reason}");
}

#[tokio::test]
async fn the_recorded_event_stores_its_batch_and_answers_for_records_it_cannot_dead_letter() {
    let f = function().await;
    let tenant = TenantId::parse(FIXTURE_TENANT).unwrap();
    let account = f.account(&tenant, Some(FIXTURE_ACCOUNT)).await;
    let event: SqsEvent = serde_json::from_str(RECORDED).expect("the recorded event parses");

    let (failed, outcome) = f.run(&event).await;
    assert_eq!((outcome.new_messages, outcome.duplicates), (3, 0));
    let stored = f.desk.ports().reader.list_messages(&tenant, &account, 501, None, 10).await.unwrap();
    assert_eq!(stored.len(), 3);
    // The recorded receipts belong to another queue, so the two bad records
    // cannot be moved by hand: they are answered as failures, and the
    // queue's redrive policy dead-letters them after their last delivery.
    let ids: Vec<String> = event.records[1..].iter().map(|r| r.message_id.clone().unwrap()).collect();
    assert_eq!(failed, ids);
}

/// Writes tests/events/updates-sqs.json from real deliveries of moto's queue.
#[tokio::test]
#[ignore = "rewrites the recorded event; run by hand"]
async fn record_the_fixture() {
    let f = function().await;
    let tenant = TenantId::parse(FIXTURE_TENANT).unwrap();
    let account = AccountId::parse(FIXTURE_ACCOUNT).unwrap();
    let bodies = vec![
        batch_body(&tenant, &account, 1..4),
        b"not an update batch".to_vec(),
        batch_body(&tenant, &AccountId::generate(), 1..2),
    ];
    SqsQueue::new(&f.ctx).send_batch(UPDATES_QUEUE, bodies).await.unwrap();
    let event = serde_json::to_value(f.receive_event().await).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/events/updates-sqs.json");
    std::fs::write(path, serde_json::to_string_pretty(&event).unwrap() + "\n").unwrap();
}
