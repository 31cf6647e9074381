//! `tgdesk`: runs the local server (default) or operator commands.

use clap::Parser;
use tgdesk::config::{Cli, Command, TenantAction, ENV_LOG_FORMAT};
use tgdesk::{shutdown_signal, App};
use tracing_subscriber::EnvFilter;

/// jemalloc instead of glibc's malloc: the e2e bench at 12,000 msg/s took about
/// 11% less CPU and less resident memory (README, "Tests and benchmarks").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,grammers_mtproto=warn,grammers_mtsender=warn,grammers_client=warn,grammers_session=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var(ENV_LOG_FORMAT).is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(cli.server.addr).await?;
            App::build(cli.server).await?.serve(listener, shutdown_signal()).await
        }
        Command::Reindex => {
            let n = tgdesk::reindex::reindex(&cli.server.data_dir).await?;
            println!("reindexed {n} messages");
            Ok(())
        }
        Command::Tenant { action: TenantAction::Create { name, admin_username, admin_password } } => {
            let app = App::build(cli.server).await?;
            let admin = app.desk.create_tenant(&name, &admin_username, &admin_password).await?;
            println!("created tenant {name} with admin {} ({})", admin.username, admin.id);
            Ok(())
        }
    }
}
