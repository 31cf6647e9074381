//! The `jobs` function on SQS events made of what moto's jobs queue hands
//! out: a queued delete runs to its end, a body that is no job ticket goes
//! to the dead-letter queue with its reason, and a run that fails for now
//! is named for delivery again.

#[path = "../../shared/aws/tests/moto.rs"]
mod moto;

use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::{AwsContext, AwsPorts, AwsSettings, DynamoStore};
use tgdesk_core::domain::{JobState, Username};
use tgdesk_core::ports::dead_letter_queue;
use tgdesk_core::push_queue::QueuedPush;
use tgdesk_core::usecases::{Actor, Desk, JOBS_QUEUE};
use tgdesk_functions::desk_issuing_no_tokens;
use tgdesk_functions::event_source::EventSource;
use tgdesk_functions::jobs::handle;

async fn desk(ctx: &AwsContext) -> Desk {
    let aws = AwsPorts::open(ctx, |queue| Arc::new(QueuedPush::new(queue)), None).await.expect("open the AWS ports");
    desk_issuing_no_tokens(aws.ports)
}

async fn admin(desk: &Desk) -> Actor {
    desk.ensure_tenant("jobs-fn", "admin", "a-long-enough-password").await.unwrap();
    let tenant = tgdesk_core::domain::TenantId::parse("jobs-fn").unwrap();
    let user = desk.ports().directory.find_user(&tenant, &Username::parse("admin").unwrap()).await.unwrap().unwrap();
    Actor::of(&user)
}

#[tokio::test]
async fn a_queued_delete_runs_and_a_body_that_is_no_ticket_is_dead_lettered() {
    // Arrange: a tag deleted as a job, and a stray body on the jobs queue.
    let ctx = moto::context_of_its_own().await;
    let desk = desk(&ctx).await;
    let actor = admin(&desk).await;
    let tag = desk.create_tag(&actor, "doomed", None).await.unwrap();
    let job = desk.delete_tag(&actor, &tag.id).await.unwrap();
    desk.ports().queue.send_batch(JOBS_QUEUE, vec![b"not a ticket".to_vec()]).await.unwrap();
    let source = EventSource::of(&ctx, JOBS_QUEUE).await.unwrap();
    let mut event = source.receive(10).await.unwrap();
    while event.records.len() < 2 {
        event.records.extend(source.receive(10).await.unwrap().records);
    }

    // Act
    let answer = handle(&desk, &event).await;

    // Assert
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    let done = desk.job(&actor, &job.id).await.unwrap();
    assert_eq!(done.state, JobState::Done);
    assert!(desk.list_tags(&actor).await.unwrap().is_empty());
    let dead = desk
        .ports()
        .queue
        .receive(&dead_letter_queue(JOBS_QUEUE), 10, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, b"not a ticket");
    assert!(dead[0].reason.as_deref().unwrap_or_default().contains("not a job ticket"), "{:?}", dead[0].reason);
}

#[tokio::test]
async fn a_run_that_fails_for_now_is_delivered_again() {
    // Arrange: a job queued on a working desk, run by a desk whose store is gone.
    let ctx = moto::context_of_its_own().await;
    let working = desk(&ctx).await;
    let actor = admin(&working).await;
    let tag = working.create_tag(&actor, "later", None).await.unwrap();
    let job = working.delete_tag(&actor, &tag.id).await.unwrap();
    let gone =
        AwsContext::load(AwsSettings { create_missing: false, ..moto::context_of_its_own().await.settings }).await;
    let mut ports = working.ports().clone();
    ports.jobs = Arc::new(DynamoStore::new(&gone));
    let broken = desk_issuing_no_tokens(ports);
    let event = EventSource::of(&ctx, JOBS_QUEUE).await.unwrap().receive(10).await.unwrap();
    assert_eq!(event.records.len(), 1);

    // Act
    let answer = handle(&broken, &event).await;

    // Assert: named again, the job untouched, nothing dead-lettered.
    assert_eq!(answer.batch_item_failures.len(), 1);
    assert_eq!(working.job(&actor, &job.id).await.unwrap().state, JobState::Queued);
    let dead = working.ports().queue.depth(&dead_letter_queue(JOBS_QUEUE)).await.unwrap();
    assert_eq!(dead.visible, 0);
}
