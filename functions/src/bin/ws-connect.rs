//! The `ws-connect` Lambda: API Gateway's `$connect` route
//! (`tgdesk_functions::websocket::connect`).

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use tgdesk_aws::{AwsPorts, DynamoConnections};
use tgdesk_core::push_queue::QueuedPush;
use tgdesk_functions::api::ApiSettings;
use tgdesk_functions::{context, init_tracing, websocket};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let tokens = ApiSettings::token_service_from_env()?;
    let ctx = context().await;
    // Only the users are read here: no resource is checked at start.
    let ports = AwsPorts::unchecked(&ctx, |queue| Arc::new(QueuedPush::new(queue)), None).ports;
    let desk = tgdesk_core::usecases::Desk::new(ports, tokens);
    let connections = Arc::new(DynamoConnections::new(&ctx));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
        let (desk, connections) = (desk.clone(), connections.clone());
        async move {
            Ok::<_, Error>(websocket::connect(&desk, &*connections, &event.payload, chrono::Utc::now()).await)
        }
    }))
    .await
}
