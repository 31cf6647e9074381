//! [`StringSessionImporter`]: account import's way to take Telethon and
//! Pyrogram session strings, sealed with the session key at once.

use crate::session_string::parse_session_string;
use crate::vault::Vault;
use crate::SessionCipher;
use std::sync::Arc;
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{PortError, PortErrorKind, SessionImporter, SessionSealer};

/// Imports session strings into sealed session bytes.
pub struct StringSessionImporter {
    cipher: Arc<SessionCipher>,
}

impl StringSessionImporter {
    /// Returns an importer sealing with `cipher`.
    pub fn new(cipher: Arc<SessionCipher>) -> Self {
        Self { cipher }
    }
}

impl SessionImporter for StringSessionImporter {
    fn import(&self, account: &AccountId, raw: &str) -> Result<Vec<u8>, PortError> {
        let imported =
            parse_session_string(raw.trim()).map_err(|e| PortError::new(PortErrorKind::Invalid, e.to_string()))?;
        let plain = Vault::from_imported(&imported)
            .to_bytes()
            .map_err(|e| PortError::new(PortErrorKind::Internal, e.to_string()))?;
        Ok(SessionSealer::seal(self.cipher.as_ref(), account, &plain))
    }

    fn same_session(&self, account: &AccountId, sealed: &[u8], raw: &str) -> bool {
        let Ok(imported) = parse_session_string(raw.trim()) else { return false };
        SessionSealer::open(self.cipher.as_ref(), account, sealed)
            .ok()
            .and_then(|plain| Vault::from_bytes(&plain).ok())
            .and_then(|vault| vault.home_key())
            .is_some_and(|key| key == imported.auth_key)
    }
}
