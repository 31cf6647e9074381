//! Configuration of the local server, read once at start from flags and
//! `TGDESK_*` environment variables. Every variable name is a constant here.

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Address to listen on.
pub const ENV_ADDR: &str = "TGDESK_ADDR";
/// Directory holding the database, keys and files.
pub const ENV_DATA_DIR: &str = "TGDESK_DATA_DIR";
/// Password of the demo tenant's first admin (generated and printed when unset).
pub const ENV_ADMIN_PASSWORD: &str = "TGDESK_ADMIN_PASSWORD";
/// Secret signing the JWTs (generated and kept in the data dir when unset).
pub const ENV_JWT_SECRET: &str = "TGDESK_JWT_SECRET";
/// Lifetime of issued tokens, e.g. `12h`.
pub const ENV_TOKEN_TTL: &str = "TGDESK_TOKEN_TTL";
/// Bearer token of the operator API (off when unset).
pub const ENV_OPERATOR_TOKEN: &str = "TGDESK_OPERATOR_TOKEN";
/// `json` for JSON logs, anything else for text.
pub const ENV_LOG_FORMAT: &str = "TGDESK_LOG_FORMAT";

/// The `tgdesk` command line.
#[derive(Debug, Parser)]
#[command(name = "tgdesk", version, about = "Help desk for teams serving customers through many Telegram accounts")]
pub struct Cli {
    /// Server settings (also used by `tenant create` to find the data dir).
    #[command(flatten)]
    pub server: ServerConfig,
    /// What to do; the server runs when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the server (the default).
    Serve,
    /// Manages tenants.
    Tenant {
        /// The tenant action.
        #[command(subcommand)]
        action: TenantAction,
    },
}

/// Tenant actions.
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Creates a tenant with its first admin.
    Create {
        /// Tenant name (2 to 40 of a-z, 0-9, '-').
        name: String,
        /// First admin's username.
        #[arg(long)]
        admin_username: String,
        /// First admin's password.
        #[arg(long, env = "TGDESK_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
}

/// Settings of the local server.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = ENV_ADDR, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Directory for the database, keys and files.
    #[arg(long, env = ENV_DATA_DIR, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Password of the demo admin at first start (generated and printed when unset).
    #[arg(long, env = ENV_ADMIN_PASSWORD, hide_env_values = true)]
    pub admin_password: Option<SecretString>,
    /// JWT signing secret (generated and kept in the data dir when unset).
    #[arg(long, env = ENV_JWT_SECRET, hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// Token lifetime, e.g. `12h`, `30m`.
    #[arg(long, env = ENV_TOKEN_TTL, default_value = "12h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
    /// Bearer token of the operator API (off when unset).
    #[arg(long, env = ENV_OPERATOR_TOKEN, hide_env_values = true)]
    pub operator_token: Option<SecretString>,
}

impl ServerConfig {
    /// Returns the defaults with another data dir and address (for tests).
    pub fn for_dir(data_dir: PathBuf, addr: SocketAddr) -> Self {
        Self {
            addr,
            data_dir,
            admin_password: None,
            jwt_secret: None,
            token_ttl: Duration::from_secs(12 * 3600),
            operator_token: None,
        }
    }
}
