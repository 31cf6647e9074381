//! The HTTP server loop: axum's router on hyper with a header-read timeout.
//! `axum::serve` gives hyper no timer, so hyper's header-read timeout never
//! fires there and a client sending its headers a byte a minute holds a
//! connection (and a task) for ever; this loop sets one.

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// connections finish their requests in flight. Each request sees the
/// client's address as `ConnectInfo<SocketAddr>`; a client that has not sent
/// its request headers within `header_timeout` is disconnected.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut make = router.into_make_service_with_connect_info::<SocketAddr>();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = match make.call(peer).await {
            Ok(service) => service.map_request(|req: Request<Incoming>| req.map(axum::body::Body::new)),
            Err(never) => match never {},
        };
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stopped.changed() => connection.as_mut().graceful_shutdown(),
            }
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error while shutting down");
            }
        });
    }
    drop(listener);
    drop(stopped);
    let _ = stop.send(());
    // Every connection task holds a receiver; they are gone once all have finished.
    stop.closed().await;
    Ok(())
}
