//! The `api` Lambda: the REST API behind API Gateway (`tgdesk_functions::api`).

use lambda_http::Error;
use std::sync::Arc;
use tgdesk_core::ports::SearchIndex;
use tgdesk_functions::api::{app, open_desk, ApiSettings};
use tgdesk_functions::{context, init_tracing, opensearch_config};
use tgdesk_opensearch::{OpenSearchIndex, ENV_URL};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let ctx = context().await;
    let settings = ApiSettings::from_env(&ctx)?;
    // Search answers from OpenSearch when the deployment has a domain.
    let search: Option<Arc<dyn SearchIndex>> = match std::env::var(ENV_URL).ok().filter(|u| !u.is_empty()) {
        Some(url) => Some(Arc::new(OpenSearchIndex::open(opensearch_config(&ctx, url)?).await?)),
        None => None,
    };
    let desk = open_desk(&ctx, &settings, search).await?;
    lambda_http::run(app(desk, settings.operator_token)).await
}
