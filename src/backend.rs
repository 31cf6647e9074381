//! The one place the server chooses its adapters: the embedded ones under
//! the data dir, or the AWS ones. Everything after this works on ports.

use crate::config::{Backend, ServerConfig};
use anyhow::Context;
use std::sync::Arc;
use tgdesk_aws::{AwsContext, AwsPorts, DynamoStreamFeed};
use tgdesk_core::ports::Leases;
use tgdesk_core::usecases::{Indexer, Ports};
use tgdesk_local::{LocalPorts, SqliteLeases, TantivyIndex, WsHub};

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
}

/// Opens the adapters `config` names.
pub async fn compose(config: &ServerConfig) -> anyhow::Result<Composed> {
    match config.backend {
        Backend::Local => {
            let LocalPorts { hub, ports, store, search } =
                LocalPorts::open(&config.data_dir).context("cannot open the data dir")?;
            let leases = Arc::new(SqliteLeases::open(config.data_dir.join("leases.db")).context("cannot open leases")?);
            let indexer = Some(Indexer::new(store, search));
            Ok(Composed { ports, hub, leases, indexer })
        }
        Backend::Aws => {
            let ctx = AwsContext::load(config.aws.settings()).await;
            let hub = Arc::new(WsHub::default());
            let push = hub.clone();
            let search =
                Arc::new(TantivyIndex::open(&config.data_dir.join("search")).context("cannot open the index")?);
            let aws = AwsPorts::open(&ctx, |_| push, search.clone()).await.context("cannot open the AWS backend")?;
            tracing::info!(endpoint = ctx.endpoint_label(), prefix = %config.aws.prefix, "running on AWS");
            // The index under the data dir, fed from the messages table's stream.
            let indexer = Some(Indexer::new(Arc::new(DynamoStreamFeed::new(&ctx)), search));
            Ok(Composed { ports: aws.ports, hub, leases: aws.leases, indexer })
        }
    }
}
