//! A login flood beside the ingest pipeline (issue 24, finding 2): `clients`
//! concurrent HTTP clients post wrong passwords to the real router, each
//! from its own address (relayed by a trusted proxy, as behind a load
//! balancer) and for a username never tried before, so neither throttle
//! stops them and every admitted attempt costs an argon2 check. Each client
//! sends its next attempt when the last is answered and honours
//! `Retry-After` when told the server is busy (a client that ignores it
//! measures raw request flooding, which is an edge proxy's job).

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_api::{ApiState, TrustedProxies};
use tgdesk_core::usecases::Desk;

/// Answers counted by status.
#[derive(Default)]
struct Counts {
    unauthorized: AtomicU64,
    busy: AtomicU64,
    throttled: AtomicU64,
    other: AtomicU64,
}

/// A running flood.
pub struct Flood {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    clients: Vec<tokio::task::JoinHandle<()>>,
    server: tokio::task::JoinHandle<()>,
    began: Instant,
}

/// Serves `desk`'s router on a local port and starts `clients` flooding it.
pub async fn start(desk: Desk, clients: usize) -> anyhow::Result<Flood> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/auth/login", listener.local_addr()?);
    let proxies = TrustedProxies(Arc::new(vec!["127.0.0.1".parse()?]));
    let router = tgdesk_api::router(ApiState { desk, operator_token: None }).layer(axum::Extension(proxies));
    let server = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service).await {
            eprintln!("flood server stopped: {e}");
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let http = reqwest::Client::new();
    let handles = (0..clients)
        .map(|c| {
            let (stop, counts, http, url) = (stop.clone(), counts.clone(), http.clone(), url.clone());
            tokio::spawn(async move {
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let address = format!("10.{}.{}.{}", c % 250, (n / 250) % 250, n % 250);
                    let body =
                        json!({"tenant": "bench", "username": format!("ghost{c}x{n}"), "password": "not-it-at-all"});
                    let answer = http.post(&url).header("x-forwarded-for", address).json(&body).send().await;
                    let status = answer.as_ref().map_or(0, |r| r.status().as_u16());
                    let counter = match status {
                        401 => &counts.unauthorized,
                        503 => &counts.busy,
                        429 => &counts.throttled,
                        _ => &counts.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    if status == 503 || status == 429 {
                        let wait = answer
                            .ok()
                            .and_then(|r| r.headers().get("retry-after")?.to_str().ok()?.parse::<u64>().ok())
                            .unwrap_or(1);
                        tokio::time::sleep(Duration::from_secs(wait)).await;
                    }
                }
            })
        })
        .collect();
    Ok(Flood { stop, counts, clients: handles, server, began: Instant::now() })
}

impl Flood {
    /// Stops the clients and the server; returns what the flood got.
    pub async fn stop(self) -> Value {
        let seconds = self.began.elapsed().as_secs_f64();
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            let _ = client.await;
        }
        self.server.abort();
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let checked = read(&self.counts.unauthorized);
        json!({
            "seconds": seconds,
            "checked_401": checked,
            "checked_per_second": (checked as f64 / seconds).round(),
            "refused_busy_503": read(&self.counts.busy),
            "throttled_429": read(&self.counts.throttled),
            "other": read(&self.counts.other),
        })
    }
}
