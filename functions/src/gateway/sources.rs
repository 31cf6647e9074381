//! The event source mappings: the updates queue invokes `ingest`, the push
//! queue invokes `push`, the jobs queue invokes `jobs` (one record at a
//! time, as the template maps it), in batches, as Lambda would.

use super::GatewayOptions;
use crate::event_source::EventSource;
use crate::push::GatewayPoster;
use crate::{desk_issuing_no_tokens, ingest, jobs, push};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::{AwsContext, AwsPorts, DynamoConnections, SqsQueue};
use tgdesk_core::push_queue::{BufferedPush, PUSH_QUEUE};
use tgdesk_core::usecases::{Desk, JOBS_QUEUE, UPDATES_QUEUE};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts the three mappings; they stop when `stop` turns true. `api` is
/// the desk the `jobs` function opens (the `api` function's).
pub(super) async fn start(
    ctx: &AwsContext,
    options: &GatewayOptions,
    connections: Arc<DynamoConnections>,
    poster: Arc<GatewayPoster>,
    api: Desk,
    stop: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let queue = Arc::new(SqsQueue::new(ctx));
    let push_port = Arc::new(BufferedPush::new(queue.clone()));
    let desk = desk_issuing_no_tokens(AwsPorts::unchecked(ctx, |_| push_port.clone(), None).ports);
    for name in [UPDATES_QUEUE, PUSH_QUEUE, JOBS_QUEUE] {
        queue.ensure(name).await.map_err(|e| e.to_string())?;
    }
    let (mut updates, mut pushes, mut jobs_source) = (
        EventSource::of(ctx, UPDATES_QUEUE).await?,
        EventSource::of(ctx, PUSH_QUEUE).await?,
        EventSource::of(ctx, JOBS_QUEUE).await?,
    );
    if let Some(visibility) = options.visibility {
        (updates, pushes) = (updates.with_visibility(visibility), pushes.with_visibility(visibility));
        jobs_source = jobs_source.with_visibility(visibility);
    }
    let window = options.batch_window;
    let ingest_task = tokio::spawn(drive(updates, options.ingest_batch, window, stop.clone(), move |event| {
        let (desk, push) = (desk.clone(), push_port.clone());
        async move { ingest::handle(&desk, &push, &event).await.0 }
    }));
    let jobs_task = tokio::spawn(drive(jobs_source, 1, Duration::ZERO, stop.clone(), move |event| {
        let desk = api.clone();
        async move { jobs::handle(&desk, &event).await }
    }));
    let push_task = tokio::spawn(drive(pushes, options.push_batch, window, stop, move |event| {
        let (connections, poster, queue) = (connections.clone(), poster.clone(), queue.clone());
        async move { push::handle(&*connections, &*poster, &*queue, &event, chrono::Utc::now()).await.0 }
    }));
    Ok(vec![ingest_task, push_task, jobs_task])
}

/// Receives batches and invokes `function` on each until `stop`. A receive
/// is never cut short (messages it took would stay invisible for the
/// visibility timeout), so stopping takes up to a poll and a batch.
async fn drive<F, Fut>(source: EventSource, size: usize, window: Duration, stop: watch::Receiver<bool>, function: F)
where
    F: Fn(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    while !*stop.borrow() {
        let event = match collect(&source, size, window).await {
            Ok(event) if event.records.is_empty() => continue,
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "the event source cannot receive; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let answer = function(event.clone()).await;
        if let Err(e) = source.delete_done(&event, &answer).await {
            // Not deleted: delivered again after the visibility timeout, as on Lambda.
            tracing::warn!(error = %e, "the event source cannot delete a batch");
        }
    }
}

/// One batch: what arrives within a second, then more until `size` or `window`.
async fn collect(source: &EventSource, size: usize, window: Duration) -> Result<SqsEvent, String> {
    let mut event = source.receive(size).await?;
    let deadline = tokio::time::Instant::now() + window;
    while !event.records.is_empty() && event.records.len() < size && tokio::time::Instant::now() < deadline {
        let more = source.receive_waiting(size - event.records.len(), 0).await?;
        if more.records.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        event.records.extend(more.records);
    }
    Ok(event)
}
