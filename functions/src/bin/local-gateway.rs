//! `local-gateway`: API Gateway and the SQS event sources on one machine,
//! serving the functions against the AWS endpoint of the environment
//! (moto: `AWS_ENDPOINT_URL`), for development and the black-box tests. Not
//! deployed: on AWS, API Gateway and Lambda do its work.
//!
//! `TGDESK_GATEWAY_LISTEN` (default `127.0.0.1:8080`) is where it serves; the
//! `api` function's variables configure the REST API. Without
//! `TGDESK_TG_API_ID` the accounts are the simulator's (as for `tgdesk-fleet`),
//! and imports take session strings naming its addresses.

use std::time::Duration;
use tgdesk_functions::api::{ApiSettings, ENV_IGNORE_STAGE};
use tgdesk_functions::gateway::{Gateway, GatewayOptions};
use tgdesk_functions::{context, init_tracing};

fn main() -> Result<(), String> {
    // As the template sets it for the `api` function; before any thread starts.
    std::env::set_var(ENV_IGNORE_STAGE, "true");
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(serve())
}

async fn serve() -> Result<(), String> {
    init_tracing();
    let listen = std::env::var("TGDESK_GATEWAY_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let ctx = context().await;
    let settings = ApiSettings::from_env(&ctx)?;
    let listener =
        tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    // Against the simulator when no Telegram API id is configured, as the fleet decides.
    let simulator = std::env::var_os("TGDESK_TG_API_ID").is_none();
    let options = GatewayOptions { batch_window: Duration::from_secs(1), simulator, ..GatewayOptions::default() };
    let gateway = Gateway::start(&ctx, &settings, options, listener).await?;
    tracing::info!(url = %format!("http://{}", gateway.addr()), "serving the functions; Ctrl-C stops");
    tokio::signal::ctrl_c().await.map_err(|e| format!("signal: {e}"))?;
    gateway.stop().await;
    Ok(())
}
