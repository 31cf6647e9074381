//! Configuration of the local server, read once at start from flags and
//! `TGDESK_*` environment variables. Every variable name is a constant here.

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Address to listen on.
pub const ENV_ADDR: &str = "TGDESK_ADDR";
/// Directory holding the database, keys and files.
pub const ENV_DATA_DIR: &str = "TGDESK_DATA_DIR";
/// Password of the demo tenant's first admin (generated and printed when unset).
pub const ENV_ADMIN_PASSWORD: &str = "TGDESK_ADMIN_PASSWORD";
/// Secret signing the JWTs (generated and kept in the data dir when unset).
pub use tgdesk_core::auth::ENV_JWT_SECRET;
/// Lifetime of issued tokens, e.g. `12h`.
pub const ENV_TOKEN_TTL: &str = "TGDESK_TOKEN_TTL";
/// Bearer token of the operator API (off when unset).
pub use tgdesk_core::auth::ENV_OPERATOR_TOKEN;
/// `json` for JSON logs, anything else for text.
pub const ENV_LOG_FORMAT: &str = "TGDESK_LOG_FORMAT";
/// Control address of the embedded Telegram simulator.
pub const ENV_SIM_ADDR: &str = "TGDESK_SIM_ADDR";
/// Control URL of an external simulator (the embedded one is not started).
pub const ENV_SIM_URL: &str = "TGDESK_SIM_URL";
/// `0` turns the demo accounts and demo traffic off.
pub const ENV_DEMO: &str = "TGDESK_DEMO";
/// Telegram API id; with it (and the hash) the server talks to real Telegram.
pub const ENV_TG_API_ID: &str = "TGDESK_TG_API_ID";
/// Telegram API hash.
pub const ENV_TG_API_HASH: &str = "TGDESK_TG_API_HASH";
/// This node's name in account leases.
pub const ENV_NODE_ID: &str = "TGDESK_NODE_ID";
/// `0` runs no Telegram sessions on this node (API and ingest only).
pub const ENV_FLEET: &str = "TGDESK_FLEET";
/// How long an API call waits for the session fleet's answer (login steps, edits, files).
pub const ENV_FLEET_TIMEOUT: &str = "TGDESK_FLEET_TIMEOUT";
/// Environment variable of [`ServerConfig::job_wait`].
pub const ENV_JOB_WAIT: &str = "TGDESK_JOB_WAIT";
/// Which adapters run the desk: `local` (SQLite, files) or `aws` (DynamoDB, SQS, S3).
pub const ENV_BACKEND: &str = "TGDESK_BACKEND";
pub use tgdesk_aws::env::{
    CREATE as ENV_AWS_CREATE, ENDPOINT as ENV_AWS_ENDPOINT, HOT_DAYS as ENV_HOT_DAYS, PREFIX as ENV_AWS_PREFIX,
};

/// Which adapters run the desk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// SQLite, files and in-process queues under the data dir.
    Local,
    /// DynamoDB, SQS and S3 (the WebSockets are still served by this process).
    Aws,
}
/// The OpenSearch endpoint of the AWS backend's search.
pub const ENV_OPENSEARCH_URL: &str = tgdesk_opensearch::ENV_URL;
/// Comma-separated addresses of reverse proxies whose `X-Forwarded-For` is believed.
pub const ENV_TRUSTED_PROXIES: &str = "TGDESK_TRUSTED_PROXIES";
/// Bearer token `/metrics` asks for (open to anyone who reaches the port when unset).
pub const ENV_METRICS_TOKEN: &str = "TGDESK_METRICS_TOKEN";
/// How long a WebSocket may stay silent (no frame, no pong) before it is closed.
pub const ENV_WS_IDLE_TIMEOUT: &str = "TGDESK_WS_IDLE_TIMEOUT";
/// Open WebSockets allowed per user.
pub const ENV_WS_MAX_PER_USER: &str = "TGDESK_WS_MAX_PER_USER";
/// Longest time an HTTP request may take (imports included) before it is answered 408.
pub const ENV_REQUEST_TIMEOUT: &str = "TGDESK_REQUEST_TIMEOUT";
/// Longest time a client may take to send a request's headers before it is disconnected.
pub const ENV_HEADER_READ_TIMEOUT: &str = "TGDESK_HEADER_READ_TIMEOUT";
/// How often the local archiver moves messages older than the hot window to the archive.
pub const ENV_ARCHIVE_EVERY: &str = "TGDESK_ARCHIVE_EVERY";
/// Days after its date a message is deleted from the archive (unset: never).
pub const ENV_RETENTION_DAYS: &str = "TGDESK_RETENTION_DAYS";

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
    /// Rebuilds the search index from every stored message (local backend;
    /// stop the server first).
    Reindex,
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

/// Directory of the built web app served at `/` (see README, "Web app").
pub const ENV_WEB_DIR: &str = "TGDESK_WEB_DIR";

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
    /// Control address of the embedded Telegram simulator (used when no API credentials are set).
    #[arg(long, env = ENV_SIM_ADDR, default_value = "127.0.0.1:8081")]
    pub sim_addr: SocketAddr,
    /// Control URL of an external simulator instead of the embedded one.
    #[arg(long, env = ENV_SIM_URL)]
    pub sim_url: Option<String>,
    /// Demo accounts and gentle demo traffic in the simulator (`0` or `false` turns them off).
    #[arg(long, env = ENV_DEMO, default_value = "1", value_parser = parse_flag)]
    pub demo: bool,
    /// Telegram API id (from my.telegram.org); with the hash, real Telegram is used.
    #[arg(long, env = ENV_TG_API_ID)]
    pub tg_api_id: Option<i32>,
    /// Telegram API hash.
    #[arg(long, env = ENV_TG_API_HASH, hide_env_values = true)]
    pub tg_api_hash: Option<SecretString>,
    /// This node's name in account leases.
    #[arg(long, env = ENV_NODE_ID, default_value = "local")]
    pub node_id: String,
    /// Run Telegram sessions on this node (`0` or `false`: API and ingest only).
    #[arg(long, env = ENV_FLEET, default_value = "1", value_parser = parse_flag)]
    pub fleet: bool,
    /// How long an API call waits for the fleet's answer, e.g. `30s`.
    #[arg(long, env = ENV_FLEET_TIMEOUT, default_value = "30s", value_parser = humantime::parse_duration)]
    pub fleet_timeout: Duration,
    /// How long a request that starts a job (an import, a cascading delete)
    /// waits for it before answering 202 with the job, e.g. `20s`.
    #[arg(long, env = ENV_JOB_WAIT, default_value = "20s", value_parser = humantime::parse_duration)]
    pub job_wait: Duration,
    /// Which adapters run the desk.
    #[arg(long, env = ENV_BACKEND, value_enum, default_value = "local")]
    pub backend: Backend,
    /// AWS settings, used with `--backend aws`.
    #[command(flatten)]
    pub aws: AwsConfig,
    /// The built web app (`web/dist` of this checkout unless set).
    #[arg(long, env = ENV_WEB_DIR, default_value = DEFAULT_WEB_DIR)]
    pub web_dir: PathBuf,
    /// Reverse proxies whose `X-Forwarded-For` names the client (login throttling per address).
    #[arg(long, env = ENV_TRUSTED_PROXIES, value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Bearer token required by `/metrics` (open when unset).
    #[arg(long, env = ENV_METRICS_TOKEN, hide_env_values = true)]
    pub metrics_token: Option<SecretString>,
    /// Silence after which a WebSocket is closed, e.g. `90s` (pings go out at a third of it).
    #[arg(long, env = ENV_WS_IDLE_TIMEOUT, default_value = "90s", value_parser = humantime::parse_duration)]
    pub ws_idle_timeout: Duration,
    /// Open WebSockets allowed per user; one more is refused with 429.
    #[arg(long, env = ENV_WS_MAX_PER_USER, default_value = "8")]
    pub ws_max_per_user: usize,
    /// Longest an HTTP request may take, e.g. `120s`.
    #[arg(long, env = ENV_REQUEST_TIMEOUT, default_value = "120s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's headers, e.g. `30s`.
    #[arg(long, env = ENV_HEADER_READ_TIMEOUT, default_value = "30s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// Days a message stays in the hot store after its date; older ones move
    /// to the archive (locally the archiver moves them; on AWS DynamoDB's TTL).
    #[arg(long, env = ENV_HOT_DAYS, default_value = "30")]
    pub hot_days: u32,
    /// How often the local archiver looks for expired messages, e.g. `10m`.
    #[arg(long, env = ENV_ARCHIVE_EVERY, default_value = "10m", value_parser = humantime::parse_duration)]
    pub archive_every: Duration,
    /// Days after its date a message is deleted from the archive, a whole
    /// month at a time (unset: kept for ever); more than the hot window.
    #[arg(long, env = ENV_RETENTION_DAYS)]
    pub retention_days: Option<u32>,
}

/// Settings of the AWS backend (credentials and region come from the AWS
/// SDK's standard chain: `AWS_REGION`, `AWS_ACCESS_KEY_ID`, profiles, roles).
#[derive(Debug, Clone, Args)]
pub struct AwsConfig {
    /// Prefix of the table, queue and bucket names.
    #[arg(long = "aws-prefix", env = ENV_AWS_PREFIX, default_value = "tgdesk")]
    pub prefix: String,
    /// Create missing tables, queues and buckets at start.
    #[arg(long = "aws-create", env = ENV_AWS_CREATE, default_value = "0", value_parser = parse_flag)]
    pub create: bool,
    /// Another endpoint for every AWS service (moto, LocalStack).
    #[arg(long = "aws-endpoint", env = ENV_AWS_ENDPOINT)]
    pub endpoint: Option<String>,
    /// The KMS key (id, ARN or alias) Telegram sessions are sealed under on
    /// AWS; unset: the session key file in the data dir (or `TGDESK_SESSION_KEY`).
    #[arg(long = "kms-key", env = tgdesk_aws::ENV_KMS_KEY)]
    pub kms_key: Option<String>,
    /// The OpenSearch cluster search uses on AWS (`https://…`); unset: a
    /// tantivy index under the data dir, fed from the same DynamoDB stream.
    #[arg(long, env = ENV_OPENSEARCH_URL)]
    pub opensearch_url: Option<String>,
}

impl AwsConfig {
    /// Returns the adapters' settings, with items expiring `hot_days` after their date.
    pub fn settings(&self, hot_days: u32) -> tgdesk_aws::AwsSettings {
        tgdesk_aws::AwsSettings {
            endpoint: self.endpoint.clone(),
            region: None,
            prefix: self.prefix.clone(),
            create_missing: self.create,
            static_credentials: None,
            hot_window: tgdesk_aws::days(hot_days),
        }
    }
}

/// `web/dist` of the checkout the binary was built from (`build.rs` builds it there).
pub const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist");

fn parse_flag(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{raw:?} is not 0/1/true/false")),
    }
}

impl ServerConfig {
    /// Returns the hot window and retention, refusing a hot window of no
    /// days or a retention that would delete messages not yet archived.
    pub fn archive_policy(&self) -> anyhow::Result<tgdesk_core::usecases::ArchivePolicy> {
        anyhow::ensure!(self.hot_days > 0, "{ENV_HOT_DAYS} must be at least 1");
        if let Some(days) = self.retention_days {
            anyhow::ensure!(
                days > self.hot_days,
                "{ENV_RETENTION_DAYS} ({days}) must be more than {ENV_HOT_DAYS} ({})",
                self.hot_days
            );
        }
        Ok(tgdesk_core::usecases::ArchivePolicy { hot_days: self.hot_days, retention_days: self.retention_days })
    }

    /// True when sessions run against the simulator: no Telegram API id and hash.
    pub fn uses_simulator(&self) -> bool {
        self.tg_api_id.is_none() || self.tg_api_hash.is_none()
    }

    /// Returns the defaults with another data dir and address, an embedded
    /// simulator on a free port and no demo (for tests).
    pub fn for_dir(data_dir: PathBuf, addr: SocketAddr) -> Self {
        Self {
            addr,
            data_dir,
            admin_password: None,
            jwt_secret: None,
            token_ttl: Duration::from_secs(12 * 3600),
            operator_token: None,
            sim_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            sim_url: None,
            demo: false,
            tg_api_id: None,
            tg_api_hash: None,
            node_id: "local".into(),
            fleet: true,
            fleet_timeout: tgdesk_core::usecases::FLEET_TIMEOUT,
            job_wait: tgdesk_core::usecases::JOB_WAIT,
            backend: Backend::Local,
            aws: AwsConfig {
                prefix: "tgdesk".into(),
                create: false,
                endpoint: None,
                kms_key: None,
                opensearch_url: None,
            },
            web_dir: DEFAULT_WEB_DIR.into(),
            trusted_proxies: Vec::new(),
            metrics_token: None,
            ws_idle_timeout: Duration::from_secs(90),
            ws_max_per_user: 8,
            request_timeout: Duration::from_secs(120),
            header_read_timeout: Duration::from_secs(30),
            hot_days: 30,
            archive_every: Duration::from_secs(600),
            retention_days: None,
        }
    }
}
