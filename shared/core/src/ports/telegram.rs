//! The Telegram connector port. Its one adapter runs grammers-client; tests
//! drive it against the `tg-sim` simulator.

use crate::domain::{Dialog, MediaRef, Message};
use async_trait::async_trait;
use std::time::Duration;

/// Telegram failures, each with what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// Wait this long before the same call (FLOOD_WAIT_X); the retry policy handles it.
    #[error("flood wait of {0:?}")]
    FloodWait(Duration),
    /// The login code is wrong or expired; ask the agent again.
    #[error("the login code is invalid")]
    PhoneCodeInvalid,
    /// The 2FA password is wrong; ask the agent again.
    #[error("the 2FA password is invalid")]
    PasswordInvalid,
    /// The session is no longer valid; the account must log in again.
    #[error("the session is not authorised")]
    Unauthorized,
    /// The number is banned; nothing to retry.
    #[error("the account is banned")]
    Banned,
    /// The network or the server failed; retry with backoff.
    #[error("transport: {0}")]
    Transport(String),
    /// Telegram refused the request; not retryable as is.
    #[error("rpc error {code} {name}")]
    Rpc {
        /// Telegram's numeric code.
        code: i32,
        /// Telegram's error name.
        name: String,
    },
}

/// Where a login stands after a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginStep {
    /// A code was sent; call `submit_code`.
    CodeSent,
    /// The 2FA password is needed; call `submit_password`.
    PasswordRequired,
    /// Logged in.
    Online,
}

/// The update-state checkpoint (pts/qts/date/seq plus channel pts), opaque to
/// the product, saved so a restarted session catches up instead of losing updates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateState(pub Vec<u8>);

/// A message to send.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingMessage {
    /// The dialog's marked peer id.
    pub peer: i64,
    /// Text (caption when a file is attached).
    pub text: String,
    /// The message replied to.
    pub reply_to: Option<i64>,
    /// A file to attach: its metadata and bytes.
    pub file: Option<(MediaRef, Vec<u8>)>,
}

/// What Telegram pushed.
#[derive(Clone, Debug, PartialEq)]
pub enum TelegramUpdate {
    /// A new message, incoming or sent from another device.
    NewMessage(Message),
    /// A message was edited.
    Edited(Message),
    /// Messages were deleted.
    Deleted {
        /// The dialog, when Telegram says (channels); `None` for private chats and groups.
        peer: Option<i64>,
        /// The ids.
        ids: Vec<i64>,
    },
    /// The update state moved; save it.
    StateChanged(UpdateState),
}

/// One Telegram account's session.
#[async_trait]
pub trait TelegramConnector: Send + Sync {
    /// Asks Telegram to send a login code to `phone`.
    async fn request_login_code(&self, phone: &str) -> Result<LoginStep, TelegramError>;
    /// Submits the code the account received.
    async fn submit_code(&self, code: &str) -> Result<LoginStep, TelegramError>;
    /// Submits the 2FA password.
    async fn submit_password(&self, password: &str) -> Result<LoginStep, TelegramError>;
    /// Logs out; the session stops working.
    async fn logout(&self) -> Result<(), TelegramError>;
    /// Returns up to `limit` dialogs, newest first.
    async fn dialogs(&self, limit: usize) -> Result<Vec<Dialog>, TelegramError>;
    /// Returns a dialog's messages older than `before`, newest first.
    async fn history(&self, peer: i64, before: Option<i64>, limit: usize) -> Result<Vec<Message>, TelegramError>;
    /// Sends a message and returns it as stored by Telegram.
    async fn send(&self, message: OutgoingMessage) -> Result<Message, TelegramError>;
    /// Waits for the next update (caught up from the saved state first).
    async fn next_update(&self) -> Result<TelegramUpdate, TelegramError>;
    /// Returns the session (key, self user, peer cache) to store encrypted.
    async fn export_session(&self) -> Result<Vec<u8>, TelegramError>;
}
