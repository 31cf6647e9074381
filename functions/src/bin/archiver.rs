//! The `archiver` Lambda: TTL deletes of the messages table's stream into
//! the archive in S3 (`tgdesk_functions::archiver`).
// The handler's future (reads ahead in a buffered stream, then archive
// writes) nests deeper than rustc's default layout query depth.
#![recursion_limit = "256"]

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use tgdesk_aws::{ExpiryArchiver, S3Blobs};
use tgdesk_core::archive::BlobArchive;
use tgdesk_functions::{archiver, context, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let ctx = context().await;
    // The same bucket and layout as the one-process mode (ARCHIVE.md).
    let archive = Arc::new(BlobArchive::new(Arc::new(S3Blobs::new(&ctx))));
    let archiver = Arc::new(ExpiryArchiver::new(&ctx, archive));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        let archiver = archiver.clone();
        async move { Ok::<_, Error>(archiver::handle(&event.payload, &archiver).await) }
    }))
    .await
}
