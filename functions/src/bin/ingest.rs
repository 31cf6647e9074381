//! The `ingest` Lambda: update batches from the updates queue into DynamoDB,
//! their pushes onto the push queue (`tgdesk_functions::ingest`).

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use tgdesk_aws::{AwsPorts, SqsQueue};
use tgdesk_core::ports::SearchIndex;
use tgdesk_core::push_queue::BufferedPush;
use tgdesk_functions::{context, desk_issuing_no_tokens, ingest, init_tracing, opensearch_config};
use tgdesk_opensearch::{OpenSearchIndex, ENV_URL};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let ctx = context().await;
    // Unchecked: its role reaches the store and two queues only, and a
    // record that meets a missing resource is delivered again.
    let push = Arc::new(BufferedPush::new(Arc::new(SqsQueue::new(&ctx))));
    // Edits, deletes and tags of archived messages reach search from here:
    // the table's stream, which feeds the indexer, never sees them.
    let search: Option<Arc<dyn SearchIndex>> = match std::env::var(ENV_URL).ok().filter(|u| !u.is_empty()) {
        Some(url) => Some(Arc::new(OpenSearchIndex::open(opensearch_config(&ctx, url)?).await?)),
        None => None,
    };
    let aws = AwsPorts::unchecked(&ctx, |_| push.clone(), search);
    let desk = desk_issuing_no_tokens(aws.ports);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (desk, push) = (desk.clone(), push.clone());
        async move { Ok::<_, Error>(ingest::handle(&desk, &push, &event.payload).await.0) }
    }))
    .await
}
