//! The one place the server chooses its adapters: the embedded ones under
//! the data dir, or the AWS ones. Everything after this works on ports.

use crate::config::{Backend, ServerConfig};
use anyhow::Context;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::{AwsContext, AwsPorts, DynamoStreamFeed, StreamArchiver};
use tgdesk_core::ports::{Leases, SearchIndex, SessionSealer};
use tgdesk_core::usecases::{Archiver, Indexer, Ports};
use tgdesk_local::{LocalPorts, SqliteLeases, TantivyIndex, WsHub};
use tgdesk_opensearch::{OpenSearchConfig, OpenSearchIndex, SigV4};
use tgdesk_telegram::SessionCipher;

/// The adapters a server runs on.
pub struct Composed {
    /// The use cases' ports.
    pub ports: Ports,
    /// The push hub behind this process's `/ws` (on both backends this
    /// process serves its own sockets).
    pub hub: Arc<WsHub>,
    /// Account leases of the session fleet.
    pub leases: Arc<dyn Leases>,
    /// Feeds the search index from the store's changes (`None`: something
    /// outside this process feeds it).
    pub indexer: Option<Indexer>,
    /// Moves messages older than the hot window to the archive (`None`: no
    /// archive).
    pub archiver: Option<ArchiveJob>,
    /// Seals stored Telegram sessions: the data dir's key file, or on AWS
    /// the KMS key `--kms-key` names (still opening what the key file sealed).
    pub sealer: Arc<dyn SessionSealer>,
    /// The data dir's files, whose presigned requests this process serves
    /// (`None` on AWS: they go to S3).
    pub files: Option<tgdesk_local::FsBlobStore>,
}

/// How expired messages reach the archive on each backend.
pub enum ArchiveJob {
    /// The archiver reads the store for messages past the hot window and
    /// moves them (SQLite).
    FromStore(Archiver),
    /// DynamoDB's TTL removes them, and the archiver writes what the table's
    /// stream says it removed (the `archiver` Lambda's work, in this process).
    FromStream(Box<StreamArchiver>),
}

impl ArchiveJob {
    /// Runs every `every` until `shutdown` completes. From the stream too:
    /// each run reads every shard of the messages stream, which is the
    /// indexer's to poll often; a message the TTL removed is out of history
    /// until the next run writes it (the `archiver` Lambda, not this, is the
    /// deployment's path).
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        match self {
            Self::FromStore(archiver) => archiver.run(every, shutdown).await,
            Self::FromStream(archiver) => archiver.run(every, shutdown).await,
        }
    }
}

/// Opens the adapters `config` names.
pub async fn compose(config: &ServerConfig) -> anyhow::Result<Composed> {
    let key_file = Arc::new(SessionCipher::from_env_or_file(&config.data_dir.join("session.key"))?);
    match config.backend {
        Backend::Local => {
            let LocalPorts { hub, mut ports, store, files } =
                LocalPorts::open(&config.data_dir).context("cannot open the data dir")?;
            let search = open_index(config, "search")?;
            ports.search = Some(search.clone());
            let leases = Arc::new(SqliteLeases::open(config.data_dir.join("leases.db")).context("cannot open leases")?);
            ports.leases = Some(leases.clone());
            let archiver = ports.archive.clone().map(|archive| {
                let window = std::time::Duration::from_secs(u64::from(config.hot_days) * 86_400);
                ArchiveJob::FromStore(Archiver::new(archive, store.clone(), window))
            });
            let indexer = Some(Indexer::new(store, search));
            Ok(Composed { ports, hub, leases, indexer, archiver, sealer: key_file, files: Some(files) })
        }
        Backend::Aws => {
            let ctx = AwsContext::load(config.aws.settings(config.hot_days)).await;
            let hub = Arc::new(WsHub::default());
            let push = hub.clone();
            let search: Arc<dyn SearchIndex> = match &config.aws.opensearch_url {
                Some(url) => {
                    let mut settings = OpenSearchConfig::new(url.clone(), config.aws.prefix.clone())
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let region = ctx.sdk.region().map(ToString::to_string);
                    settings.sigv4 =
                        SigV4::from_env(ctx.sdk.credentials_provider(), region).map_err(|e| anyhow::anyhow!("{e}"))?;
                    Arc::new(OpenSearchIndex::open(settings).await.context("cannot open the OpenSearch index")?)
                }
                // Its own directory: a local data dir's index holds the SQLite feed's position.
                None => open_index(config, &format!("search-aws-{}", config.aws.prefix))?,
            };
            let aws =
                AwsPorts::open(&ctx, |_| push, Some(search.clone())).await.context("cannot open the AWS backend")?;
            tracing::info!(endpoint = ctx.endpoint_label(), prefix = %config.aws.prefix, "running on AWS");
            // OpenSearch or the tantivy index, fed from the messages table's stream.
            let indexer = Some(Indexer::new(Arc::new(DynamoStreamFeed::new(&ctx)), search));
            let archiver = aws
                .ports
                .archive
                .clone()
                .map(|archive| ArchiveJob::FromStream(Box::new(StreamArchiver::new(&ctx, archive))));
            let sealer = tgdesk_aws::session_sealer(&ctx, config.aws.kms_key.clone(), key_file);
            Ok(Composed { ports: aws.ports, hub, leases: aws.leases, indexer, archiver, sealer, files: None })
        }
    }
}

/// Opens the search index in directory `name` of the data dir.
fn open_index(config: &ServerConfig, name: &str) -> anyhow::Result<Arc<TantivyIndex>> {
    let dir = config.data_dir.join(name);
    Ok(Arc::new(
        TantivyIndex::open(&dir).with_context(|| format!("cannot open the search index in {}", dir.display()))?,
    ))
}
