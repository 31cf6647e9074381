//! The `ws-disconnect` Lambda: API Gateway's `$disconnect` route
//! (`tgdesk_functions::websocket::disconnect`).

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use tgdesk_aws::DynamoConnections;
use tgdesk_functions::{context, init_tracing, websocket};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let connections = Arc::new(DynamoConnections::new(&context().await));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
        let connections = connections.clone();
        async move { Ok::<_, Error>(websocket::disconnect(&*connections, &event.payload).await) }
    }))
    .await
}
