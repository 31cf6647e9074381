//! The `retention` Lambda, run daily by a schedule: deletes archived months
//! older than `TGDESK_RETENTION_DAYS` in every tenant
//! (`tgdesk_core::usecases::purge_archive`).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;
use tgdesk_aws::{DynamoStore, S3Blobs};
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::usecases::purge_archive;
use tgdesk_functions::{context, init_tracing, RETENTION_DAYS};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let days: u32 = std::env::var(RETENTION_DAYS)
        .map_err(|_| format!("{RETENTION_DAYS} is not set"))?
        .parse()
        .map_err(|e| format!("{RETENTION_DAYS}: {e}"))?;
    let ctx = context().await;
    let directory = Arc::new(DynamoStore::new(&ctx));
    let archive = Arc::new(BlobArchive::new(Arc::new(S3Blobs::new(&ctx))));
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let (directory, archive) = (directory.clone(), archive.clone());
        async move {
            let keep = tgdesk_aws::days(days);
            let gone = purge_archive(&*directory, &*archive, keep, chrono::Utc::now()).await?;
            tracing::info!(messages = gone.messages, objects = gone.objects, bytes = gone.bytes, "retention done");
            Ok::<_, Error>(
                serde_json::json!({ "messages": gone.messages, "objects": gone.objects, "bytes": gone.bytes }),
            )
        }
    }))
    .await
}
