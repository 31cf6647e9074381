//! The local tgdesk server: composes the embedded adapters with the use cases
//! and the REST router, and serves them until told to stop.

mod backend;
pub mod config;
mod http;
mod metrics;
mod presigned;
pub mod reindex;
mod secrets;
mod telegram;
mod web;
mod ws;

use config::ServerConfig;
use secrecy::ExposeSecret;
use std::future::Future;
use std::sync::Arc;
use tgdesk_api::{ApiState, TrustedProxies};
use tgdesk_core::auth::{PasswordPool, TokenService};
use tgdesk_core::ports::{Leases, SessionSealer};
use tgdesk_core::usecases::{purge_archive, Desk, Indexer, IndexerStats};
use tgdesk_fleet::{Fleet, FleetConfig};
use tgdesk_local::WsHub;
use tgdesk_telegram::StringSessionImporter;
use tokio::net::TcpListener;

/// Name of the tenant every fresh data dir gets.
pub const DEMO_TENANT: &str = "demo";
/// Username of the demo tenant's first admin.
pub const DEMO_ADMIN: &str = "admin";

/// The composed application, before it listens.
pub struct App {
    /// The use cases.
    pub desk: Desk,
    /// The WebSocket push hub.
    pub hub: Arc<WsHub>,
    /// Counters of the ingest pump.
    pub pump: Arc<tgdesk_fleet::pump::PumpMetrics>,
    /// Account leases of the session fleet.
    leases: Arc<dyn Leases>,
    /// Feeds the search index (run by `serve`).
    indexer: Option<Arc<Indexer>>,
    /// Moves expired messages to the archive (run by `serve`).
    archiver: Option<Arc<backend::ArchiveJob>>,
    /// The indexer's counters (lag, for `/metrics`).
    pub index_stats: Arc<IndexerStats>,
    /// Seals stored Telegram sessions (key file in the data dir, or KMS on AWS).
    sealer: Arc<dyn SessionSealer>,
    /// The data dir's files, whose presigned requests this process serves.
    files: Option<tgdesk_local::FsBlobStore>,
    config: ServerConfig,
}

impl App {
    /// Opens the data dir (creating it), runs migrations, loads or makes the
    /// JWT secret, and makes sure the demo tenant exists.
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        if let Some(secret) = &config.jwt_secret {
            secrets::ensure_min_len(config::ENV_JWT_SECRET, secret.expose_secret(), secrets::MIN_JWT_SECRET)?;
        }
        if let Some(token) = &config.operator_token {
            secrets::ensure_min_len(config::ENV_OPERATOR_TOKEN, token.expose_secret(), secrets::MIN_OPERATOR_TOKEN)?;
        }
        secrets::prepare_data_dir(&config.data_dir)?;
        secrets::ensure_keys_private(&config.data_dir)?;
        let backend::Composed { mut ports, hub, leases, indexer, archiver, sealer, files } =
            backend::compose(&config).await?;
        let secret = match &config.jwt_secret {
            Some(s) => s.expose_secret().as_bytes().to_vec(),
            None => secrets::load_or_create(&config.data_dir.join("jwt.secret"))?,
        };
        let tokens = TokenService::new(&secret, config.token_ttl);
        ports.sessions = Some(Arc::new(if config.uses_simulator() {
            StringSessionImporter::for_simulator(sealer.clone())
        } else {
            StringSessionImporter::new(sealer.clone())
        }));
        ports.sealer = Some(sealer.clone());
        let mut desk = Desk::new(ports, tokens);
        desk.passwords = password_pool();
        desk.fleet_timeout = config.fleet_timeout;
        desk.job_wait = config.job_wait;
        desk.archive_policy = config.archive_policy()?;
        let index_stats = indexer.as_ref().map(Indexer::stats).unwrap_or_default();
        let indexer = indexer.map(Arc::new);
        let archiver = archiver.map(Arc::new);
        let app =
            Self { desk, hub, leases, indexer, archiver, index_stats, pump: Arc::default(), sealer, files, config };
        app.ensure_demo_tenant().await?;
        Ok(app)
    }

    /// Starts deleting archived messages past the retention period, every
    /// `archive_every`, when a retention is set and there is an archive.
    fn retention_job(&self, mut stopped: tokio::sync::watch::Receiver<bool>) -> Option<tokio::task::JoinHandle<()>> {
        let days = self.desk.archive_policy.retention_days?;
        let archive = self.desk.ports().archive.clone()?;
        let (directory, every) = (self.desk.ports().directory.clone(), self.config.archive_every);
        let keep = tgdesk_aws::days(days);
        Some(tokio::spawn(async move {
            loop {
                match purge_archive(&*directory, &*archive, keep, chrono::Utc::now()).await {
                    Ok(gone) if gone.messages > 0 => {
                        tracing::info!(
                            messages = gone.messages,
                            bytes = gone.bytes,
                            "retention deleted archived months"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "retention run failed; retried at the next tick"),
                }
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => return,
                    _ = tokio::time::sleep(every) => {}
                }
            }
        }))
    }

    async fn ensure_demo_tenant(&self) -> anyhow::Result<()> {
        let (password, generated) = match &self.config.admin_password {
            Some(p) => (p.expose_secret().to_owned(), false),
            None => (secrets::random_password(), true),
        };
        let created = self.desk.ensure_tenant(DEMO_TENANT, DEMO_ADMIN, &password).await?;
        if created && generated {
            // Printed once, at first start: the only time the password exists in clear.
            println!("created tenant '{DEMO_TENANT}' with admin '{DEMO_ADMIN}', password: {password}");
        } else if created {
            tracing::info!(tenant = DEMO_TENANT, admin = DEMO_ADMIN, "created the demo tenant");
        }
        Ok(())
    }

    /// Returns the HTTP router of the whole server (API, WebSocket, metrics,
    /// and the web app for every other path).
    pub fn router(&self, fleet: Arc<Fleet>) -> axum::Router {
        let state = ApiState { desk: self.desk.clone(), operator_token: self.config.operator_token.clone() };
        let ws_state = ws::WsState {
            desk: self.desk.clone(),
            hub: self.hub.clone(),
            idle_timeout: self.config.ws_idle_timeout,
            max_per_user: self.config.ws_max_per_user,
        };
        let ws = axum::Router::new().route("/ws", axum::routing::get(ws::upgrade)).with_state(ws_state);
        let metrics_state = metrics::MetricsState {
            desk: self.desk.clone(),
            hub: self.hub.clone(),
            pump: self.pump.clone(),
            index: self.index_stats.clone(),
            fleet,
            token: self.config.metrics_token.clone(),
        };
        let metrics =
            axum::Router::new().route("/metrics", axum::routing::get(metrics::scrape)).with_state(metrics_state);
        let web = web::WebState { dir: Arc::new(self.config.web_dir.clone()) };
        let proxies = TrustedProxies(Arc::new(self.config.trusted_proxies.clone()));
        let timeout = tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            self.config.request_timeout,
        );
        let presigned = self.files.clone().map(presigned::routes).unwrap_or_default();
        tgdesk_api::router(state)
            .merge(ws)
            .merge(metrics)
            .merge(presigned)
            .fallback(move |request: axum::extract::Request| web::serve(web.clone(), request))
            .layer(axum::Extension(proxies))
            .layer(timeout)
            .layer(tower_http::trace::TraceLayer::new_for_http())
    }

    /// Serves on `listener` until `shutdown` completes, with the session
    /// fleet, the ingest pump, the indexer, the archiver and (without Telegram credentials) the
    /// simulator running beside the API; then finishes the requests in
    /// flight and stops the fleet, which saves every session's state.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = listener.local_addr()?;
        let side = telegram::build(&self.config, self.sealer.clone()).await?;
        if self.config.demo {
            if let Err(e) = telegram::seed_demo(&self.desk, &side, DEMO_TENANT, DEMO_ADMIN).await {
                tracing::warn!(error = %e, "demo accounts could not be set up");
            }
        }
        if let Err(e) = tgdesk_telegram::raise_nofile_limit() {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
        }
        let leases = self.leases.clone();
        let fleet_config = FleetConfig::new(self.config.node_id.clone());
        let config_fleet = self.config.fleet;
        let fleet = Fleet::new(self.desk.clone(), leases, side.connector.clone(), side.sealer.clone(), fleet_config);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let pump = tokio::spawn(tgdesk_fleet::pump::run_ingest(self.desk.clone(), self.pump.clone(), stopped.clone()));
        // Events a `tgdesk-fleet` process on this data dir raised reach the sockets here.
        let relay =
            tokio::spawn(tgdesk_local::relay_push(self.desk.ports().queue.clone(), self.hub.clone(), stopped.clone()));
        // Imports and cascading deletes (the `jobs` Lambda's work, on AWS in this process too).
        let jobs = tokio::spawn({
            let (desk, stopped) = (self.desk.clone(), stopped.clone());
            async move { desk.run_jobs(stopped).await }
        });
        let indexer = self.indexer.clone().map(|indexer| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                indexer
                    .run(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        });
        let archiver = self.archiver.clone().map(|archiver| {
            let (mut stopped, every) = (stopped.clone(), self.config.archive_every);
            tokio::spawn(async move {
                archiver
                    .run(every, async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        });
        let retention = self.retention_job(stopped.clone());
        let router = self.router(fleet.clone());
        let sessions = tokio::spawn(async move {
            if config_fleet {
                fleet.run(stopped).await;
            }
        });
        tracing::info!(%addr, "listening");
        let served = http::serve(listener, router, self.config.header_read_timeout, shutdown).await;
        // Sessions save their state; the pump finishes the batch in hand (unacked ones come back at next start).
        let _ = stop.send(true);
        sessions.await?;
        pump.await?;
        relay.await?;
        jobs.await?;
        if let Some(indexer) = indexer {
            indexer.await?;
        }
        if let Some(archiver) = archiver {
            archiver.await?;
        }
        if let Some(retention) = retention {
            retention.await?;
        }
        if let Some(sim) = side.sim {
            sim.shutdown().await;
        }
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Returns the argon2 pool the server runs: [`PasswordPool::default_threads`]
/// threads at a lower scheduling priority (nice 10), so a login flood takes
/// the CPU ingest and push leave, not theirs (`tgdesk-bench login-flood`).
pub fn password_pool() -> PasswordPool {
    PasswordPool::with_thread_start(PasswordPool::default_threads(), 16, lower_thread_priority)
}

/// Lowers the calling thread's priority to nice 10 (always allowed; raising it back is not).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority on this thread's own id changes only its scheduling weight.
        let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) } != 0;
        if failed {
            tracing::warn!("cannot lower the password threads' priority");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
