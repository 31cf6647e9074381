//! [`AwsPorts`]: the AWS adapters wired as the use cases' ports, the twin of
//! `tgdesk_local::LocalPorts`. Opening checks that every resource answers,
//! so an unreachable endpoint or a missing table fails at start with its
//! name, not at the first message.

use crate::{AwsContext, DynamoLeases, DynamoStore, S3Blobs, SqsQueue};
use std::sync::Arc;
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::ports::{BlobStore, PortError, PushHub, Queue, SearchIndex};
use tgdesk_core::usecases::{Ports, COMMANDS_QUEUE, UPDATES_QUEUE};

/// The AWS adapters of one deployment, wired as ports.
pub struct AwsPorts {
    /// The store (also kept typed, for callers that seed or inspect it).
    pub store: Arc<DynamoStore>,
    /// Account leases of the session fleet.
    pub leases: Arc<DynamoLeases>,
    /// Every port; `sessions` and `sealer` are `None` until the caller adds them.
    pub ports: Ports,
}

impl AwsPorts {
    /// Opens the adapters on `ctx`, with events delivered by the hub
    /// `push` makes (given the queue, for a node whose sockets live in
    /// another process), and checks that the tables, queues and bucket
    /// answer (creating them where the settings allow). `search` is the
    /// index the caller chose (`None` in a process that serves no search).
    pub async fn open(
        ctx: &AwsContext,
        push: impl FnOnce(Arc<dyn Queue>) -> Arc<dyn PushHub>,
        search: Option<Arc<dyn SearchIndex>>,
    ) -> Result<Self, PortError> {
        let aws = Self::unchecked(ctx, push, search);
        let unreachable = |e: PortError| {
            let message = format!("AWS at {} does not answer as expected: {e}", ctx.endpoint_label());
            PortError { message, ..e }
        };
        aws.store.tables().await.map_err(unreachable)?;
        for name in [UPDATES_QUEUE, COMMANDS_QUEUE] {
            aws.ports.queue.depth(name).await.map_err(unreachable)?;
        }
        S3Blobs::new(ctx).check().await.map_err(unreachable)?;
        aws.leases.check().await.map_err(unreachable)?;
        Ok(aws)
    }

    /// The adapters on `ctx` without a call to AWS: for a function that
    /// uses few of them (`ws-connect` reads users only) and whose role may
    /// reach no more; the first use of a missing resource fails then.
    pub fn unchecked(
        ctx: &AwsContext,
        push: impl FnOnce(Arc<dyn Queue>) -> Arc<dyn PushHub>,
        search: Option<Arc<dyn SearchIndex>>,
    ) -> Self {
        let store = Arc::new(DynamoStore::new(ctx));
        let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(ctx));
        let blobs = Arc::new(S3Blobs::new(ctx));
        let leases = Arc::new(DynamoLeases::new(ctx));
        let ports = Ports {
            directory: store.clone(),
            writer: store.clone(),
            reader: store.clone(),
            push: push(queue.clone()),
            sends: store.clone(),
            queue,
            // The same bucket as files, under `{tenant}/archive/` (ARCHIVE.md).
            archive: Some(Arc::new(BlobArchive::new(blobs.clone()))),
            blobs: blobs as Arc<dyn BlobStore>,
            search,
            replies: store.clone(),
            jobs: store.clone(),
            sessions: None,
            sealer: None,
            leases: Some(leases.clone()),
        };
        Self { store, leases, ports }
    }
}
