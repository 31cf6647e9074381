//! The session sealer port: Telegram sessions are credentials and are stored
//! encrypted. Adapters: a local key file (XChaCha20-Poly1305), KMS envelope
//! encryption on AWS.

use super::PortError;
use crate::domain::AccountId;

/// Encrypts and decrypts stored sessions, bound to their account.
pub trait SessionSealer: Send + Sync {
    /// Returns `plain` encrypted for `account`.
    fn seal(&self, account: &AccountId, plain: &[u8]) -> Vec<u8>;
    /// Returns the plain session; `Invalid` when `sealed` was tampered with or
    /// sealed for another account or key.
    fn open(&self, account: &AccountId, sealed: &[u8]) -> Result<Vec<u8>, PortError>;
}

/// Turns session strings exported by other tools (Telethon, Pyrogram) into
/// sealed session bytes for an account, for account import.
pub trait SessionImporter: Send + Sync {
    /// Returns the sealed session of `raw`; `Invalid` when it is not a session string.
    fn import(&self, account: &AccountId, raw: &str) -> Result<Vec<u8>, PortError>;
    /// True when the stored `sealed` session of `account` holds the same auth
    /// key as `raw`, so importing it again changes nothing.
    fn same_session(&self, account: &AccountId, sealed: &[u8], raw: &str) -> bool;
}
