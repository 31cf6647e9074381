//! The `ws-default` Lambda: API Gateway's `$default` route
//! (`tgdesk_functions::websocket::default`).

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use tgdesk_functions::{init_tracing, websocket};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<_, Error>(websocket::default(&event.payload).await)
    }))
    .await
}
