//! tgdesk's Lambda functions: each `src/bin/*.rs` wires the AWS adapters
//! from the environment (`tgdesk_aws::env`) to one handler here, and each
//! handler turns the event Lambda delivers into a use case call of
//! `tgdesk_core`. The handlers take their ports as arguments, so the tests
//! run them on recorded events against moto and the embedded adapters.

pub mod api;
pub mod archiver;
pub mod event_source;
pub mod gateway;
pub mod indexer;
pub mod ingest;
pub mod jobs;
pub mod push;
pub mod stream;
pub mod websocket;

use tgdesk_aws::{AwsContext, AwsSettings};
use tgdesk_core::auth::TokenService;
use tgdesk_core::usecases::{Desk, Ports};

/// The WebSocket API's management endpoint the `push` function posts to
/// (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
pub const ENV_WS_ENDPOINT: &str = "TGDESK_WS_ENDPOINT";

/// Days after its date a message is deleted from the archive (the
/// `retention` function; the server reads the same variable).
pub const RETENTION_DAYS: &str = "TGDESK_RETENTION_DAYS";

/// Logs as JSON lines (CloudWatch keeps them whole), at `RUST_LOG` or `info`.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).without_time().init();
}

/// The OpenSearch settings of a function: the cluster at `url`, names under
/// the deployment's prefix, requests signed as `TGDESK_OPENSEARCH_SIGV4`
/// says with the function's role. The cluster refreshes every second
/// instead of once per `indexer` invocation (many run at once at peak):
/// a message is searchable about a second after its batch is indexed.
pub fn opensearch_config(ctx: &AwsContext, url: String) -> Result<tgdesk_opensearch::OpenSearchConfig, String> {
    let mut config = tgdesk_opensearch::OpenSearchConfig::new(url, ctx.settings.prefix.clone())?;
    config.refresh_interval = "1s".into();
    config.refresh_on_commit = false;
    let region = ctx.sdk.region().map(ToString::to_string);
    config.sigv4 = tgdesk_opensearch::SigV4::from_env(ctx.sdk.credentials_provider(), region)?;
    Ok(config)
}

/// The AWS context from the function's environment (the template sets it).
pub async fn context() -> AwsContext {
    AwsContext::load(AwsSettings::from_env()).await
}

/// The desk of a function that issues and checks no tokens (`ingest`).
pub fn desk_issuing_no_tokens(ports: Ports) -> Desk {
    Desk::new(ports, TokenService::issuing_none())
}
