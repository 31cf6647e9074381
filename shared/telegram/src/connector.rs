//! [`GrammersConnector`]: opens grammers sessions from stored bytes.

use async_trait::async_trait;
use grammers_client::sender::{ConnectionParams, SenderPool};
use secrecy::SecretString;
use std::net::SocketAddrV4;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::domain::{AccountId, Phone};
use tgdesk_core::ports::{TelegramConnector, TelegramError, TelegramSession};

use crate::retry::FloodPolicy;
use crate::session::GrammersSession;
use crate::session_string::parse_session_string;
use crate::vault::Vault;

/// How sessions connect and behave; read once at start.
#[derive(Clone, Debug)]
pub struct GrammersConfig {
    /// Telegram API id (any value works against tg-sim).
    pub api_id: i32,
    /// Telegram API hash, sent with login code requests.
    pub api_hash: SecretString,
    /// Reported in `initConnection`.
    pub device_model: String,
    /// Reported in `initConnection`.
    pub app_version: String,
    /// FLOOD_WAITs up to this long are slept through; longer ones surface.
    pub flood_wait_cap: Duration,
    /// Sends per second per account, on average.
    pub send_rate: f64,
    /// Sends an account may make at once before pacing starts.
    pub send_burst: u32,
    /// How long an account's sends are held back after PEER_FLOOD (Telegram
    /// gives no duration).
    pub peer_flood_pause: Duration,
    /// Where a fresh login (no stored key) starts: DC id and address.
    pub login_dc: (i32, SocketAddrV4),
    /// Dialogs fetched on the first connect of an imported session to fill the
    /// peer cache (access hashes grammers needs to fill gaps).
    pub warm_dialogs: usize,
}

impl GrammersConfig {
    /// Returns a config with the product's defaults for `api_id`/`api_hash`.
    pub fn new(api_id: i32, api_hash: SecretString) -> Self {
        Self {
            api_id,
            api_hash,
            device_model: "tgdesk".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            flood_wait_cap: Duration::from_secs(30),
            send_rate: 1.0,
            send_burst: 5,
            peer_flood_pause: Duration::from_secs(15 * 60),
            login_dc: (2, SocketAddrV4::new(std::net::Ipv4Addr::new(149, 154, 167, 51), 443)),
            warm_dialogs: 200,
        }
    }

    /// Returns grammers' connection parameters, built explicitly: the
    /// defaults probe the OS (spawning processes) and sleep through 60 s floods.
    fn connection_params(&self) -> ConnectionParams {
        ConnectionParams {
            device_model: self.device_model.clone(),
            system_version: std::env::consts::OS.into(),
            app_version: self.app_version.clone(),
            system_lang_code: "en".into(),
            lang_code: "en".into(),
            use_ipv6: false,
            retry_policy: Box::new(FloodPolicy { cap: self.flood_wait_cap, max_tries: 3 }),
            updates_channel_capacity: NonZeroUsize::new(2_000).unwrap_or(NonZeroUsize::MIN),
            __non_exhaustive: (),
        }
    }
}

/// The production `TelegramConnector`, on grammers-client.
#[derive(Clone, Debug)]
pub struct GrammersConnector {
    config: Arc<GrammersConfig>,
}

impl GrammersConnector {
    /// Returns a connector; nothing connects until `connect` or `start_login`.
    pub fn new(config: GrammersConfig) -> Self {
        Self { config: Arc::new(config) }
    }

    /// Starts grammers on `vault` and wraps it in a session.
    fn open(&self, account: &AccountId, vault: Arc<Vault>) -> GrammersSession {
        let pool = SenderPool::with_configuration(vault.clone(), self.config.api_id, self.config.connection_params());
        let runner = tokio::spawn(pool.runner.run());
        GrammersSession::new(account.clone(), self.config.clone(), vault, pool.handle, pool.updates, runner)
    }
}

#[async_trait]
impl TelegramConnector for GrammersConnector {
    fn import_session_string(&self, session: &str) -> Result<Vec<u8>, TelegramError> {
        let imported = parse_session_string(session)?;
        Vault::from_imported(&imported).to_bytes()
    }

    async fn connect(&self, account: &AccountId, session: &[u8]) -> Result<Box<dyn TelegramSession>, TelegramError> {
        let vault = Arc::new(Vault::from_bytes(session)?);
        let session = self.open(account, vault);
        if let Err(e) = session.resume().await {
            session.shut_down().await;
            return Err(e);
        }
        Ok(Box::new(session))
    }

    async fn start_login(&self, account: &AccountId, phone: &Phone) -> Result<Box<dyn TelegramSession>, TelegramError> {
        let (dc, addr) = self.config.login_dc;
        let session = self.open(account, Arc::new(Vault::fresh(dc, addr)));
        if let Err(e) = session.request_login_code(phone).await {
            session.shut_down().await;
            return Err(e);
        }
        Ok(Box::new(session))
    }
}
