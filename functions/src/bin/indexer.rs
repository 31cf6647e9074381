//! The `indexer` Lambda: the messages table's stream into OpenSearch
//! (`tgdesk_functions::indexer`), at `TGDESK_OPENSEARCH_URL`.

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use tgdesk_functions::{context, indexer, init_tracing, opensearch_config};
use tgdesk_opensearch::{OpenSearchIndex, ENV_URL};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let url = std::env::var(ENV_URL).map_err(|_| format!("{ENV_URL} is not set"))?;
    let ctx = context().await;
    let index = Arc::new(OpenSearchIndex::open(opensearch_config(&ctx, url)?).await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        let index = index.clone();
        async move { Ok::<_, Error>(indexer::handle(&event.payload, &*index).await) }
    }))
    .await
}
