//! [`StringSessionImporter`]: account import's way to take Telethon and
//! Pyrogram session strings, sealed with the session sealer at once.
//!
//! A Telethon string names the server its session connects to, and the
//! fleet would connect there: a tenant admin could point the fleet at an
//! internal host. So against real Telegram only Telegram's DC addresses are
//! accepted ([`is_telegram_dc`]); only a server run against the simulator
//! takes any address.

use crate::session_string::{is_telegram_dc, parse_session_string, ImportedSession};
use crate::vault::Vault;
use async_trait::async_trait;
use std::sync::Arc;
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{PortError, PortErrorKind, SessionImporter, SessionSealer};

/// Imports session strings into sealed session bytes.
pub struct StringSessionImporter {
    sealer: Arc<dyn SessionSealer>,
    /// True when the sessions run against the simulator, whose DCs live anywhere.
    any_address: bool,
}

impl StringSessionImporter {
    /// Returns an importer sealing with `sealer` that accepts only
    /// Telegram's own DC addresses.
    pub fn new(sealer: Arc<dyn SessionSealer>) -> Self {
        Self { sealer, any_address: false }
    }

    /// Returns an importer for a server whose sessions run against the
    /// simulator: the strings' addresses are the simulator's, wherever it runs.
    pub fn for_simulator(sealer: Arc<dyn SessionSealer>) -> Self {
        Self { sealer, any_address: true }
    }

    fn parse(&self, raw: &str) -> Result<ImportedSession, PortError> {
        let imported =
            parse_session_string(raw.trim()).map_err(|e| PortError::new(PortErrorKind::Invalid, e.to_string()))?;
        if !self.any_address && !is_telegram_dc(imported.dc_id, imported.addr) {
            let message = format!("DC {} at {} is not one of Telegram's data centres", imported.dc_id, imported.addr);
            return Err(PortError::new(PortErrorKind::Invalid, message));
        }
        Ok(imported)
    }
}

#[async_trait]
impl SessionImporter for StringSessionImporter {
    async fn import(&self, account: &AccountId, raw: &str) -> Result<Vec<u8>, PortError> {
        let imported = self.parse(raw)?;
        let plain = Vault::from_imported(&imported)
            .to_bytes()
            .map_err(|e| PortError::new(PortErrorKind::Internal, e.to_string()))?;
        self.sealer.seal(account, &plain).await
    }

    async fn same_session(&self, account: &AccountId, sealed: &[u8], raw: &str) -> bool {
        let Ok(imported) = self.parse(raw) else { return false };
        let Ok(plain) = self.sealer.open(account, sealed).await else { return false };
        Vault::from_bytes(&plain).ok().and_then(|vault| vault.home_key()).is_some_and(|key| key == imported.auth_key)
    }
}
