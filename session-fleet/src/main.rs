//! `tgdesk-fleet`: one session-fleet node as its own process, on the local
//! adapters of a data dir it shares with the `tgdesk` server (SQLite in WAL
//! mode takes several processes) or, with `--backend aws`, on DynamoDB and
//! SQS. Start the server with `TGDESK_FLEET=0` to keep sessions off it, and
//! as many of these as wanted, each with its own `--node-id`; leases keep
//! every account on exactly one node.
//!
//! Events this node raises itself (`account.status`, `send.status`) reach
//! WebSocket clients only through a push hub they share, which the local
//! adapters do not have across processes: here they are visible over REST.
//! Messages are pushed by the server's ingest pump as always.

use anyhow::Context;
use clap::Parser;
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::{session_sealer, AwsContext, AwsPorts, AwsSettings, ENV_KMS_KEY};
use tgdesk_core::auth::TokenService;
use tgdesk_core::ports::{Leases, PushHub, Queue};
use tgdesk_core::push_queue::QueuedPush;
use tgdesk_core::usecases::{Desk, Ports};
use tgdesk_fleet::{Fleet, FleetConfig};
use tgdesk_local::{LocalPorts, SqliteLeases};
use tgdesk_telegram::{GrammersConfig, GrammersConnector, SessionCipher};
use tracing_subscriber::EnvFilter;

/// jemalloc instead of glibc's malloc: the e2e bench at 12,000 msg/s took about
/// 11% less CPU and less resident memory (README, "Tests and benchmarks").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One fleet node.
#[derive(Parser)]
#[command(name = "tgdesk-fleet", about = "Runs one tgdesk session-fleet node on a local data dir")]
struct Args {
    /// The data dir shared with the server.
    #[arg(long, env = "TGDESK_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// This node's name in leases (unique per running node); unset: the
    /// host's name and a random suffix, so every task of an ECS service,
    /// started from one task definition, gets its own.
    #[arg(long, env = "TGDESK_NODE_ID")]
    node_id: Option<String>,
    /// Telegram API id; without it (and the hash) sessions go to the simulator their keys name.
    #[arg(long, env = "TGDESK_TG_API_ID")]
    tg_api_id: Option<i32>,
    /// Telegram API hash.
    #[arg(long, env = "TGDESK_TG_API_HASH", hide_env_values = true)]
    tg_api_hash: Option<SecretString>,
    /// How often the store is scanned for accounts to run, e.g. `5s`.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    scan_every: Duration,
    /// How long an account's lease lasts unrenewed: how long the accounts of
    /// a node that died without letting go wait before another node runs them.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    lease_ttl: Duration,
    /// How often held leases are renewed: well under `--lease-ttl`, so a
    /// renewal that fails once or runs late does not cost the node its accounts.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    heartbeat: Duration,
    /// How long a command this node took stays hidden from the others:
    /// longer than its slowest command (a send waiting behind the account's
    /// pacing), and as long as a dead node's commands wait for another node.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    command_visibility: Duration,
    /// `local`: the server's data dir; `aws`: DynamoDB, SQS and S3, configured
    /// by the `TGDESK_AWS_*` and `AWS_*` variables; sessions are sealed under
    /// the KMS key `TGDESK_KMS_KEY_ID` names, or else with the key file in the
    /// data dir (or `TGDESK_SESSION_KEY`).
    #[arg(long, env = "TGDESK_BACKEND", default_value = "local", value_parser = ["local", "aws"])]
    backend: String,
}

impl Args {
    /// Refuses timings under which the node could not keep its leases or its commands.
    fn check(&self) -> anyhow::Result<()> {
        if self.heartbeat.is_zero() || self.heartbeat >= self.lease_ttl {
            anyhow::bail!("--heartbeat must be above zero and below --lease-ttl (leases would lapse between renewals)");
        }
        if self.command_visibility < Duration::from_secs(1) {
            anyhow::bail!("--command-visibility must be at least 1s (queues count it in whole seconds)");
        }
        Ok(())
    }
}

/// Opens the ports and leases `args` name, sessions sealed with the data
/// dir's key file or, on AWS, under the KMS key `TGDESK_KMS_KEY_ID` names;
/// the agents' WebSockets are the server's, so events go to it over the queue.
async fn compose(args: &Args) -> anyhow::Result<(Ports, Arc<dyn Leases>)> {
    let queued = |queue: Arc<dyn Queue>| -> Arc<dyn PushHub> { Arc::new(QueuedPush::new(queue)) };
    let key_file = Arc::new(SessionCipher::from_env_or_file(&args.data_dir.join("session.key"))?);
    if args.backend == "aws" {
        let ctx = AwsContext::load(AwsSettings::from_env()).await;
        let mut aws = AwsPorts::open(&ctx, queued, None).await.context("cannot open the AWS backend")?;
        aws.ports.sealer = Some(session_sealer(&ctx, std::env::var(ENV_KMS_KEY).ok(), key_file));
        return Ok((aws.ports, aws.leases));
    }
    let mut ports = LocalPorts::open(&args.data_dir).context("cannot open the data dir")?.ports;
    ports.push = queued(ports.queue.clone());
    ports.sealer = Some(key_file);
    let leases = Arc::new(SqliteLeases::open(args.data_dir.join("leases.db")).context("cannot open leases")?);
    ports.leases = Some(leases.clone());
    Ok((ports, leases))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,grammers_mtsender=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let args = Args::parse();
    args.check()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let (ports, leases) = compose(&args).await?;
    let sealer = ports.sealer.clone().context("compose sets the sealer")?;
    let desk = Desk::new(ports, TokenService::issuing_none());
    let (api_id, api_hash) = args.tg_api_id.zip(args.tg_api_hash).unwrap_or((1, SecretString::from("tg-sim")));
    let connector = Arc::new(GrammersConnector::new(GrammersConfig::new(api_id, api_hash)));
    if let Err(e) = tgdesk_telegram::raise_nofile_limit() {
        tracing::warn!(error = %e, "cannot raise the open-files limit");
    }
    let node_id = args.node_id.clone().unwrap_or_else(generated_node_id);
    let queue = tgdesk_core::usecases::node_commands_queue(&node_id);
    // `…dlq` would name a dead-letter queue (`dlq` alone: the shared queue's).
    if tgdesk_core::ports::validate_queue_name(&queue).is_err() || node_id.ends_with("dlq") {
        anyhow::bail!(
            "node id {node_id:?}: use letters, digits, '-' and '_', not ending in \"dlq\" (it names this node's commands queue)"
        );
    }
    let mut config = FleetConfig::new(node_id.clone());
    config.scan_every = args.scan_every;
    config.lease_ttl = args.lease_ttl;
    config.heartbeat = args.heartbeat;
    config.command_visibility = args.command_visibility;
    let fleet = Fleet::new(desk, leases, connector, sealer, config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let node = tokio::spawn(fleet.run(stopped));
    tracing::info!(node = %node_id, dir = %args.data_dir.display(), "fleet node running");
    shutdown_signal().await;
    let _ = stop.send(true);
    node.await?;
    tracing::info!("fleet node stopped; sessions saved");
    Ok(())
}

/// `{host}-{6 random hex digits}`: unique per start, readable in leases.
fn generated_node_id() -> String {
    use rand::Rng;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect::<String>())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    format!("{host}-{:06x}", rand::thread_rng().gen_range(0..0x100_0000u32))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
