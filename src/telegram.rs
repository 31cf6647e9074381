//! The Telegram side of the local server: the grammers connector, the key
//! that seals sessions, and — when no Telegram API credentials are set — the
//! simulator (embedded, or external at `TGDESK_SIM_URL`) with demo accounts
//! and gentle demo traffic, so a newcomer sees messages arrive.

use crate::config::ServerConfig;
use anyhow::Context;
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use tg_sim::{SimConfig, SimHandle, Simulator};
use tgdesk_core::domain::{AccountId, Phone, TenantId, Username};
use tgdesk_core::ports::{SessionSealer, TelegramConnector};
use tgdesk_core::usecases::{Actor, Desk, NewAccount};
use tgdesk_telegram::{GrammersConfig, GrammersConnector};

/// Phones of the demo accounts created in the simulator.
const DEMO_PHONES: [&str; 4] = ["+15550000001", "+15550000002", "+15550000003", "+15550000004"];

/// What the server talks to Telegram with.
pub struct TelegramSide {
    /// Opens sessions.
    pub connector: Arc<GrammersConnector>,
    /// Seals stored sessions.
    pub sealer: Arc<dyn SessionSealer>,
    /// The embedded simulator, when one runs in this process.
    pub sim: Option<SimHandle>,
    /// The simulator's control URL, when a simulator is used.
    pub sim_url: Option<String>,
}

/// Builds the connector and starts the embedded simulator when needed.
pub async fn build(config: &ServerConfig, sealer: Arc<dyn SessionSealer>) -> anyhow::Result<TelegramSide> {
    let real = config.tg_api_id.zip(config.tg_api_hash.clone());
    let (api_id, api_hash) = real.clone().unwrap_or((1, SecretString::from("tg-sim")));
    let connector = Arc::new(GrammersConnector::new(GrammersConfig::new(api_id, api_hash)));
    let (sim, sim_url) = match (&real, &config.sim_url) {
        (Some(_), _) => (None, None),
        (None, Some(url)) => (None, Some(url.trim_end_matches('/').to_owned())),
        (None, None) => {
            let sim_config = SimConfig::new(config.sim_addr, config.data_dir.join("tg-sim"));
            let sim = Simulator::start(sim_config).await.context("cannot start the Telegram simulator")?;
            tracing::info!(control = %sim.control_url(), mtproto = %sim.mtproto_addr(), "telegram simulator started");
            let url = sim.control_url();
            (Some(sim), Some(url))
        }
    };
    Ok(TelegramSide { connector, sealer, sim, sim_url })
}

/// Makes sure the demo tenant has the demo accounts, logged in to the
/// simulator, and that the simulator's customers write to them now and then.
pub async fn seed_demo(desk: &Desk, side: &TelegramSide, tenant: &str, admin: &str) -> anyhow::Result<()> {
    let Some(url) = &side.sim_url else { return Ok(()) };
    let http = reqwest::Client::new();
    let tenant = TenantId::parse(tenant)?;
    let admin = desk
        .ports()
        .directory
        .find_user(&tenant, &Username::parse(admin)?)
        .await?
        .context("the demo admin is missing")?;
    let actor = Actor::of(&admin);
    for phone in DEMO_PHONES {
        let parsed = Phone::parse(phone)?;
        if !desk.ports().directory.find_accounts_by_phone(&tenant, std::slice::from_ref(&parsed)).await?.is_empty() {
            continue;
        }
        let created: serde_json::Value = http
            .post(format!("{url}/control/accounts"))
            .json(&json!({"phone": phone}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let session = created["session"].as_str().context("the simulator gave no session")?;
        let bytes = side.connector.import_session_string(session)?;
        let input = NewAccount {
            phone: phone.into(),
            name: Some(format!("Demo {}", &phone[phone.len() - 1..])),
            tags: vec![],
            owner_id: None,
        };
        let account = desk.create_account(&actor, input).await?;
        let id = AccountId::parse(account.id.as_str())?;
        let sealed = side.sealer.seal(&id, &bytes).await?;
        desk.ports().directory.set_account_session(&tenant, &id, Some(sealed), None).await?;
    }
    let traffic = json!({"rate": 0.5, "duration_s": 7 * 24 * 3600, "accounts": DEMO_PHONES});
    http.post(format!("{url}/control/traffic")).json(&traffic).send().await?.error_for_status()?;
    tracing::info!(accounts = DEMO_PHONES.len(), "demo accounts ready; customers write about every 2 s");
    Ok(())
}
