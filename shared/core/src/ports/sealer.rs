//! The session sealer port: Telegram sessions are credentials and are stored
//! encrypted. Adapters: a local key file (XChaCha20-Poly1305), KMS envelope
//! encryption on AWS. Sealing may need a key service, so it is async and may
//! fail: a session that cannot be sealed is not stored, and its holder tries
//! again at its next save.

use super::PortError;
use crate::domain::AccountId;
use async_trait::async_trait;

/// Encrypts and decrypts stored sessions, bound to their account.
#[async_trait]
pub trait SessionSealer: Send + Sync {
    /// Returns `plain` encrypted for `account`; `Unavailable` or `Throttled`
    /// when the key service cannot be reached.
    async fn seal(&self, account: &AccountId, plain: &[u8]) -> Result<Vec<u8>, PortError>;
    /// Returns the plain session; `Invalid` when `sealed` was tampered with or
    /// sealed for another account or key, `Unavailable` or `Throttled` when
    /// the key service cannot be reached.
    async fn open(&self, account: &AccountId, sealed: &[u8]) -> Result<Vec<u8>, PortError>;
}

/// Turns session strings exported by other tools (Telethon, Pyrogram) into
/// sealed session bytes for an account, for account import.
#[async_trait]
pub trait SessionImporter: Send + Sync {
    /// Returns the sealed session of `raw`; `Invalid` when it is not a
    /// session string, as [`SessionSealer::seal`] when sealing fails.
    async fn import(&self, account: &AccountId, raw: &str) -> Result<Vec<u8>, PortError>;
    /// True when the stored `sealed` session of `account` holds the same auth
    /// key as `raw`, so importing it again changes nothing.
    async fn same_session(&self, account: &AccountId, sealed: &[u8], raw: &str) -> bool;
}
