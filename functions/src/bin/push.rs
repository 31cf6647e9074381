//! The `push` Lambda: push-queue events to API Gateway WebSocket
//! connections (`tgdesk_functions::push`), at `TGDESK_WS_ENDPOINT`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use tgdesk_aws::{DynamoConnections, SqsQueue};
use tgdesk_functions::push::{handle, GatewayPoster};
use tgdesk_functions::{context, init_tracing, ENV_WS_ENDPOINT};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let endpoint = std::env::var(ENV_WS_ENDPOINT).map_err(|_| format!("{ENV_WS_ENDPOINT} is not set"))?;
    let ctx = context().await;
    let connections = Arc::new(DynamoConnections::new(&ctx));
    let poster = Arc::new(GatewayPoster::new(&ctx, &endpoint));
    let queue = Arc::new(SqsQueue::new(&ctx));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (connections, poster, queue) = (connections.clone(), poster.clone(), queue.clone());
        async move {
            let (answer, _) = handle(&*connections, &*poster, &*queue, &event.payload, chrono::Utc::now()).await;
            Ok::<_, Error>(answer)
        }
    }))
    .await
}
