//! The `jobs` Lambda: imports and cascading deletes from the jobs queue
//! (`tgdesk_functions::jobs`), on the desk the `api` function opens.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use tgdesk_functions::api::{open_desk, ApiSettings};
use tgdesk_functions::{context, init_tracing, jobs};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let ctx = context().await;
    let settings = ApiSettings::from_env(&ctx)?;
    let desk = open_desk(&ctx, &settings, None).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let desk = desk.clone();
        async move { Ok::<_, Error>(jobs::handle(&desk, &event.payload).await) }
    }))
    .await
}
