//! A local stand-in for API Gateway and Lambda's SQS event sources, so the
//! functions run end to end on one machine against moto (a dev tool and a
//! test helper, not a product path: on AWS, API Gateway and Lambda do this).
//!
//! - REST: every request but `/ws` and `/@connections` becomes the API
//!   Gateway REST proxy event Lambda would deliver (stage path, `sourceIp`
//!   from the socket's peer, base64 for binary bodies), is turned into a
//!   request by `lambda_http` as in the function, and served by the `api`
//!   function's router. API Gateway's 10 MB request and Lambda's 6 MB
//!   response limits hold.
//! - WebSocket: `GET /ws` runs the `ws-connect` handler on a `$connect`
//!   event (refused unless it answers 200, as API Gateway does), client
//!   messages go to `ws-default`, and the close to `ws-disconnect`.
//! - `@connections`: `POST`/`DELETE /@connections/{id}` is the management
//!   API the `push` function reaches through the AWS SDK: a frame to the
//!   socket, or `410 GoneException` for one that is not open.
//! - Event sources: the updates queue invokes `ingest` and the push queue
//!   invokes `push` in batches, deleting what the handler did not report
//!   failed ([`crate::event_source`]).
//!
//! Like API Gateway's, its `@connections` API takes no user's token: serve
//! it on loopback (the binary's default), never on a shared network.

mod rest;
mod sockets;
mod sources;

use crate::api::{app, open_desk_importing, ApiSettings, ENV_IGNORE_STAGE};
use crate::push::GatewayPoster;
use axum::routing::{any, get};
use axum::Router;
use sockets::Sockets;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::{AwsContext, DynamoConnections};
use tgdesk_core::usecases::Desk;
use tgdesk_telegram::StringSessionImporter;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the gateway runs the functions.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Most records per `ingest` invocation (the event source mapping's `BatchSize`).
    pub ingest_batch: usize,
    /// Most records per `push` invocation.
    pub push_batch: usize,
    /// Longest wait for a fuller batch once a record is there
    /// (`MaximumBatchingWindowInSeconds`: whole seconds).
    pub batch_window: Duration,
    /// True when the accounts run against the Telegram simulator: imports
    /// then take session strings naming its addresses (never on AWS).
    pub simulator: bool,
    /// How long a batch handed to a function stays invisible (`None`: the
    /// queue's setting); a batch whose invocation died comes back after it.
    pub visibility: Option<Duration>,
}

impl Default for GatewayOptions {
    /// The template's batching, against real Telegram.
    fn default() -> Self {
        Self { ingest_batch: 100, push_batch: 10, batch_window: Duration::ZERO, simulator: false, visibility: None }
    }
}

/// What the HTTP routes share.
struct Shared {
    /// The `api` function's router.
    api: Router,
    /// The desk `ws-connect` checks tokens with.
    desk: Desk,
    connections: Arc<DynamoConnections>,
    sockets: Sockets,
    stage: String,
}

/// A running gateway.
pub struct Gateway {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Gateway {
    /// Serves the functions on `listener` over the resources of `ctx`.
    pub async fn start(
        ctx: &AwsContext,
        settings: &ApiSettings,
        options: GatewayOptions,
        listener: tokio::net::TcpListener,
    ) -> Result<Self, String> {
        if std::env::var_os(ENV_IGNORE_STAGE).is_none() {
            return Err(format!("{ENV_IGNORE_STAGE} must be set, as for the api function: events carry the stage"));
        }
        let addr = listener.local_addr().map_err(|e| format!("listener: {e}"))?;
        let importer = if options.simulator {
            StringSessionImporter::for_simulator(settings.sealer.clone())
        } else {
            StringSessionImporter::new(settings.sealer.clone())
        };
        let desk = open_desk_importing(ctx, settings, None, importer).await?;
        let connections = Arc::new(DynamoConnections::new(ctx));
        let shared = Arc::new(Shared {
            api: app(desk.clone(), settings.operator_token.clone()),
            desk,
            connections: connections.clone(),
            sockets: Sockets::default(),
            stage: "prod".to_owned(),
        });
        let (stop, stopped) = watch::channel(false);
        let router = Router::new()
            .route("/ws", get(sockets::connect))
            .route("/@connections/{id}", any(sockets::manage))
            .fallback(rest::proxy)
            .with_state(shared.clone());
        let mut serving = stopped.clone();
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let shutdown = async move {
                let _ = serving.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "the gateway stopped serving");
            }
        });
        let poster = Arc::new(GatewayPoster::new(ctx, &format!("http://{addr}")));
        let mut tasks = vec![server];
        tasks.extend(sources::start(ctx, &options, connections, poster, shared.desk.clone(), stopped).await?);
        tracing::info!(%addr, "gateway serving the functions");
        Ok(Self { addr, stop, tasks, shared })
    }

    /// The address it serves on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops as API Gateway going away would: every socket is closed (each
    /// `$disconnect` runs), the event sources finish the batch in hand.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.shared.sockets.close_all().await;
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Stops at once, as a crash would: invocations in hand die where they
    /// are (their batches come back after the visibility timeout), and every
    /// socket is dropped.
    pub async fn kill(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shared.sockets.close_all().await;
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
