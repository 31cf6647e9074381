//! The `tg-sim` binary: a fake Telegram DC on loopback with its control API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use tg_sim::{SimConfig, Simulator, TrafficConfig};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "tg-sim", about = "A fake Telegram data centre speaking MTProto 2.0")]
struct Args {
    /// Control API address.
    #[arg(long, env = "TG_SIM_ADDR", default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// MTProto address (default: the next free port after --addr).
    #[arg(long)]
    mtproto_addr: Option<SocketAddr>,
    /// Directory holding the cloud state.
    #[arg(long, default_value = "./tg-sim-data")]
    data_dir: PathBuf,
    /// Generate this many customer messages per second at start.
    #[arg(long)]
    rate: Option<f64>,
    /// Accounts to create and load with traffic (with --rate).
    #[arg(long, default_value_t = 10)]
    accounts: usize,
    /// How long the start-up traffic runs, in seconds.
    #[arg(long, default_value_t = 3600.0)]
    duration_s: f64,
    /// Keep messages in memory only (accounts are still journaled): for benchmarks.
    #[arg(long)]
    no_snapshots: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let traffic = args.rate.map(|rate| TrafficConfig {
        rate,
        accounts: args.accounts,
        duration: Duration::from_secs_f64(args.duration_s),
    });
    let handle = Simulator::start(SimConfig {
        control_addr: args.addr,
        mtproto_addr: args.mtproto_addr,
        data_dir: args.data_dir,
        traffic,
        snapshots: !args.no_snapshots,
    })
    .await?;
    println!("tg-sim control={} mtproto={}", handle.control_url(), handle.mtproto_addr());
    wait_for_signal().await?;
    handle.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM so the state is saved on either.
async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
