//! tg-sim: a fake Telegram data centre that speaks real MTProto 2.0, so the
//! product's grammers-client code is what runs in every test, demo and bench.
//!
//! Auth keys are issued by the simulator (the RSA/DH exchange needs Telegram's
//! private keys) and handed out as Telethon session strings through the HTTP
//! control API. Embed it with [`Simulator::start`] or run the `tg-sim` binary.

#![warn(missing_docs)]

pub mod cloud;
pub mod control;
pub mod error;
pub mod mtproto;
pub mod rpc;
pub mod session_string;
pub mod srp;
pub mod traffic;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use cloud::Cloud;
pub use error::SimError;
pub use session_string::SessionString;

/// The one data centre the simulator pretends to be.
pub const DC_ID: i32 = 2;

/// How the simulator is started.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Control API address (port 0 picks a free one).
    pub control_addr: SocketAddr,
    /// MTProto address; None means the port after the control port, or any
    /// free port when that one is taken (or the control port is 0).
    pub mtproto_addr: Option<SocketAddr>,
    /// Where state is kept across restarts.
    pub data_dir: PathBuf,
    /// Traffic to generate right after start, if any.
    pub traffic: Option<TrafficConfig>,
    /// Whether messages and keys are snapshotted to `data_dir` while running
    /// (accounts are journaled either way). Benchmarks turn it off: the
    /// snapshots are the simulator's own durability, not Telegram's cost.
    pub snapshots: bool,
}

impl SimConfig {
    /// Returns a config with the control API on `control_addr`, MTProto on the
    /// next free port and no start-up traffic.
    pub fn new(control_addr: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self { control_addr, mtproto_addr: None, data_dir: data_dir.into(), traffic: None, snapshots: true }
    }
}

/// Start-up traffic (the CLI's `--rate` / `--accounts`).
#[derive(Debug, Clone)]
pub struct TrafficConfig {
    /// Messages per second.
    pub rate: f64,
    /// Accounts to create (`+1555000NNNN`) and write to.
    pub accounts: usize,
    /// How long to run.
    pub duration: Duration,
}

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    control_addr: SocketAddr,
    mtproto_addr: SocketAddr,
    cloud: Arc<Cloud>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    snapshots: bool,
}

impl SimHandle {
    /// Returns the control API base URL, e.g. `http://127.0.0.1:8081`.
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control_addr)
    }

    /// Returns the control API socket address.
    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    /// Returns the MTProto socket address clients connect to.
    pub fn mtproto_addr(&self) -> SocketAddr {
        self.mtproto_addr
    }

    /// Returns the shared cloud state (for in-process inspection).
    pub fn cloud(&self) -> &Arc<Cloud> {
        &self.cloud
    }

    /// Stops both listeners, saves the state and waits for the server tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        if self.snapshots {
            let cloud = self.cloud.clone();
            let _ = tokio::task::spawn_blocking(move || cloud.save_logged()).await;
        }
        info!("tg-sim stopped");
    }
}

/// Entry point of the library.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds both listeners, loads the data dir and starts serving.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        raise_nofile_limit();
        let control = TcpListener::bind(config.control_addr).await?;
        let control_addr = control.local_addr()?;
        let mtproto = bind_mtproto(control_addr, config.mtproto_addr).await?;
        let mtproto_addr = mtproto.local_addr()?;
        let advertised = match mtproto_addr {
            SocketAddr::V4(v4) if v4.ip().is_unspecified() => SocketAddrV4::new(Ipv4Addr::LOCALHOST, v4.port()),
            SocketAddr::V4(v4) => v4,
            other => return Err(SimError::NotIpv4(other)),
        };
        let cloud = Arc::new(Cloud::open(&config.data_dir, advertised)?);
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(mtproto::conn::serve(mtproto, cloud.clone(), rx.clone())));
        let app = control::router(cloud.clone());
        let mut stop = rx.clone();
        tasks.push(tokio::spawn(async move {
            let serve = axum::serve(control, app).with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            });
            if let Err(e) = serve.await {
                warn!(error = %e, "control api stopped");
            }
        }));
        if config.snapshots {
            tasks.push(tokio::spawn(saver(cloud.clone(), rx)));
        }
        if let Some(t) = config.traffic {
            start_traffic(&cloud, t).await?;
        }
        info!(control = %control_addr, mtproto = %mtproto_addr, "tg-sim listening");
        Ok(SimHandle { control_addr, mtproto_addr, cloud, shutdown, tasks, snapshots: config.snapshots })
    }
}

async fn bind_mtproto(control: SocketAddr, wanted: Option<SocketAddr>) -> Result<TcpListener, SimError> {
    if let Some(addr) = wanted {
        return Ok(TcpListener::bind(addr).await?);
    }
    if control.port() != 0 && control.port() < u16::MAX {
        let next = SocketAddr::new(control.ip(), control.port() + 1);
        if let Ok(l) = TcpListener::bind(next).await {
            return Ok(l);
        }
    }
    Ok(TcpListener::bind(SocketAddr::new(control.ip(), 0)).await?)
}

async fn start_traffic(cloud: &Arc<Cloud>, t: TrafficConfig) -> Result<(), SimError> {
    let mut phones = Vec::new();
    for i in 0..t.accounts {
        let phone = format!("+1555{:07}", i);
        cloud.lock().create_account(&phone, None, true)?;
        phones.push(phone);
    }
    traffic::spawn(cloud.clone(), traffic::TrafficSpec { rate: t.rate, duration: t.duration, accounts: phones });
    Ok(())
}

/// Snapshots the state while it changes: every half second, or less often when
/// a snapshot is slow, so saving never takes more than a fifth of the time.
async fn saver(cloud: Arc<Cloud>, mut stop: watch::Receiver<bool>) {
    let mut pause = Duration::from_millis(500);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => break,
        }
        let c = cloud.clone();
        let started = std::time::Instant::now();
        let _ = tokio::task::spawn_blocking(move || c.save_logged()).await;
        pause = (started.elapsed() * 4).max(Duration::from_millis(500));
    }
}

/// Raises the open-files soft limit to the hard limit: every session is a socket.
pub fn raise_nofile_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open-files limit raised"),
        Err(e) => warn!(error = %e, "could not raise the open-files limit"),
    }
}
