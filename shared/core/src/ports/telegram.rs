//! The Telegram connector port. Its one adapter runs grammers-client
//! (`tgdesk-telegram`); tests drive it against the `tg-sim` simulator.
//!
//! A [`TelegramConnector`] opens per-account [`TelegramSession`]s from stored
//! session bytes. A session is the account's live MTProto connection: login
//! steps, profile, contacts, dialogs, history, sending, edits, deletes, read
//! marks, media download and the update stream. Session bytes are credentials
//! (an auth key): callers store them encrypted and never log them.

use super::blobs::BlobReader;
use crate::domain::{AccountId, Dialog, Message, Phone};
use async_trait::async_trait;
use std::time::Duration;

/// Telegram failures, each with what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// Wait this long before the same call (FLOOD_WAIT_X above the retry
    /// policy's cap; shorter waits are slept through by the adapter).
    #[error("flood wait of {0:?}")]
    FloodWait(Duration),
    /// Telegram limits this account account-wide (PEER_FLOOD) for an unknown
    /// time; stop sending from it for a while.
    #[error("the account is limited (peer flood)")]
    PeerFlood,
    /// The login code is wrong or expired; ask the agent again.
    #[error("the login code is invalid")]
    PhoneCodeInvalid,
    /// The 2FA password is wrong; ask the agent again.
    #[error("the 2FA password is invalid")]
    PasswordInvalid,
    /// The session is not (or no longer) logged in; the account must log in again.
    #[error("the session is not authorised")]
    Unauthorized,
    /// The number is banned or deactivated; nothing to retry.
    #[error("the account is banned")]
    Banned,
    /// The call does not fit the session's state (e.g. a code before
    /// `request_login_code`, or a message id that does not exist); not retryable.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The stored session bytes or an imported session string are malformed.
    #[error("invalid session: {0}")]
    InvalidSession(String),
    /// The network or the server failed; retry with backoff.
    #[error("transport: {0}")]
    Transport(String),
    /// Telegram already posted a message with this send's random_id (an
    /// earlier attempt went through, its answer or its record was lost):
    /// the message exists, and reaches the store through the update stream.
    #[error("telegram already has this message (RANDOM_ID_DUPLICATE)")]
    AlreadySent,
    /// Telegram refused the request; not retryable as is.
    #[error("rpc error {code} {name}")]
    Rpc {
        /// Telegram's numeric code.
        code: i32,
        /// Telegram's error name.
        name: String,
    },
}

impl TelegramError {
    /// Returns true when the same call may succeed later without user action
    /// (flood waits, peer flood, transport failures).
    pub fn is_retryable(&self) -> bool {
        matches!(self, TelegramError::FloodWait(_) | TelegramError::PeerFlood | TelegramError::Transport(_))
    }
}

/// Where a session's login stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginStep {
    /// The key holds no login; call `request_login_code`.
    LoggedOut,
    /// A code was sent; call `submit_code`.
    CodeSent,
    /// The 2FA password is needed; call `submit_password`.
    PasswordRequired,
    /// Logged in; the update stream runs.
    Online,
}

/// The logged-in user of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramProfile {
    /// Telegram's user id.
    pub user_id: i64,
    /// First name.
    pub first_name: String,
    /// Last name, if set.
    pub last_name: Option<String>,
    /// Username without `@`, if set.
    pub username: Option<String>,
    /// Phone in E.164 with `+`, when Telegram shows it.
    pub phone: Option<String>,
    /// Id of the current profile photo, if one is set.
    pub photo_id: Option<i64>,
}

/// A user as the account sees them: a contact, a customer of a private
/// dialog, or the account itself (how a customer's profile is shown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramContact {
    /// Telegram's user id (the marked peer id of the private chat).
    pub user_id: i64,
    /// First name.
    pub first_name: String,
    /// Last name, if set.
    pub last_name: Option<String>,
    /// Username without `@`, if set.
    pub username: Option<String>,
    /// Phone in E.164 with `+`, when Telegram shows it.
    pub phone: Option<String>,
    /// Id of the current profile photo, if one is set.
    pub photo_id: Option<i64>,
    /// True when the user is in the account's contacts.
    pub is_contact: bool,
    /// True for the account itself.
    pub is_self: bool,
}

/// The dialogs of an account and the users of its private ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DialogList {
    /// The dialogs, newest first.
    pub dialogs: Vec<Dialog>,
    /// The other party of each private dialog, as the account sees them.
    pub users: Vec<TelegramContact>,
}

/// A file to attach to an outgoing message. Its bytes are read piece by
/// piece while they are uploaded, so a 50 MB file is never whole in memory.
pub struct OutgoingFile {
    /// `photo` sends a compressed photo; anything else a document.
    pub kind: String,
    /// File name (kept on documents).
    pub name: String,
    /// MIME type, if known.
    pub mime: Option<String>,
    /// The bytes; their size is `content.meta().size`.
    pub content: Box<dyn BlobReader>,
}

impl std::fmt::Debug for OutgoingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingFile")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("size", &self.content.meta().size)
            .finish()
    }
}

/// A message to send.
#[derive(Debug)]
pub struct OutgoingMessage {
    /// The dialog's marked peer id.
    pub peer: i64,
    /// Text (caption when a file is attached).
    pub text: String,
    /// The message replied to.
    pub reply_to: Option<i64>,
    /// A file to attach.
    pub file: Option<OutgoingFile>,
    /// Telegram's `random_id`, the same on every attempt of the message
    /// (`domain::telegram_random_id`), so Telegram refuses a repeat with
    /// [`TelegramError::AlreadySent`] instead of posting it twice.
    pub random_id: i64,
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
        /// The dialog, when Telegram says (channels); `None` for private chats
        /// and basic groups, whose ids are unique per account.
        peer: Option<i64>,
        /// The ids.
        ids: Vec<i64>,
    },
    /// Users the session saw for the first time or changed (name, username,
    /// phone, photo or contact flag), as they came with other updates.
    Users(Vec<TelegramContact>),
}

/// A file coming from Telegram piece by piece.
#[async_trait]
pub trait TelegramDownload: Send {
    /// Returns the next piece (at most 512 KiB), `None` after the last.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, TelegramError>;
}

/// Opens sessions. One connector serves every account of a process.
#[async_trait]
pub trait TelegramConnector: Send + Sync {
    /// Parses a session string exported by Telethon (StringSession) or
    /// Pyrogram (current and older formats) into session bytes that
    /// [`TelegramConnector::connect`] accepts. No network I/O; returns
    /// `InvalidSession` when the string is none of those formats.
    fn import_session_string(&self, session: &str) -> Result<Vec<u8>, TelegramError>;

    /// Connects `account` from its stored session bytes. On the first connect
    /// of an imported session it fetches and keeps the self user and the peer
    /// cache. A session whose key is not logged in is returned in
    /// [`LoginStep::LoggedOut`]; a logged-in one starts its update stream,
    /// catching up from the saved update state. Returns `InvalidSession` for
    /// malformed bytes and `Transport` when the server cannot be reached.
    async fn connect(&self, account: &AccountId, session: &[u8]) -> Result<Box<dyn TelegramSession>, TelegramError>;

    /// Starts a fresh login for `phone` on a new auth key (the key exchange
    /// runs against the configured data centre) and asks for a login code;
    /// the returned session is in [`LoginStep::CodeSent`].
    async fn start_login(&self, account: &AccountId, phone: &Phone) -> Result<Box<dyn TelegramSession>, TelegramError>;
}

/// One Telegram account's live session. Methods may be called concurrently;
/// `next_update` is meant for one consumer.
#[async_trait]
pub trait TelegramSession: Send + Sync {
    /// Returns where the login stands.
    fn login_step(&self) -> LoginStep;

    /// Asks Telegram to send a login code to `phone`; returns `CodeSent`.
    async fn request_login_code(&self, phone: &Phone) -> Result<LoginStep, TelegramError>;
    /// Submits the code; returns `Online` or `PasswordRequired`, or
    /// `PhoneCodeInvalid` (the same code request stays usable for a retry).
    async fn submit_code(&self, code: &str) -> Result<LoginStep, TelegramError>;
    /// Submits the 2FA password; returns `Online`, or `PasswordInvalid`
    /// (a retry with the right password is possible).
    async fn submit_password(&self, password: &str) -> Result<LoginStep, TelegramError>;
    /// Logs out; the key stops working everywhere and the session ends.
    async fn logout(&self) -> Result<(), TelegramError>;

    /// Returns the logged-in user.
    async fn profile(&self) -> Result<TelegramProfile, TelegramError>;
    /// Returns the account's contacts.
    async fn contacts(&self) -> Result<Vec<TelegramContact>, TelegramError>;
    /// Returns up to `limit` dialogs, newest first, with the users of the private ones.
    async fn dialogs(&self, limit: usize) -> Result<DialogList, TelegramError>;
    /// Returns up to `limit` messages of a dialog older than the id `before`
    /// (newest first; `None` starts at the newest). Paging with the last id
    /// of a page as the next `before` walks the whole history once.
    async fn history(&self, peer: i64, before: Option<i64>, limit: usize) -> Result<Vec<Message>, TelegramError>;

    /// Sends a message (text, reply, photo or document) paced per account,
    /// and returns it as stored by Telegram.
    async fn send(&self, message: OutgoingMessage) -> Result<Message, TelegramError>;
    /// Replaces the text of an own message.
    async fn edit(&self, peer: i64, id: i64, text: &str) -> Result<(), TelegramError>;
    /// Deletes own messages for everyone.
    async fn delete(&self, peer: i64, ids: &[i64]) -> Result<(), TelegramError>;
    /// Marks a dialog read up to its newest message.
    async fn mark_read(&self, peer: i64) -> Result<(), TelegramError>;
    /// Starts downloading the file of a message, piece by piece (a customer's
    /// video may not fit in memory); `Invalid` when it has none.
    async fn download_media(&self, peer: i64, message_id: i64) -> Result<Box<dyn TelegramDownload>, TelegramError>;
    /// Starts downloading a user's profile photo `photo_id` (the big size);
    /// `peer` is a user the account knows, or its own user id. `Invalid` (from
    /// the first chunk) when the photo is not, or no longer, the user's.
    async fn download_profile_photo(
        &self,
        peer: i64,
        photo_id: i64,
    ) -> Result<Box<dyn TelegramDownload>, TelegramError>;

    /// Waits for the next update. Cancel-safe. An update counts as consumed
    /// once returned: [`TelegramSession::export`] saves the state after it, so
    /// a session reconnected from those bytes catches up on everything later,
    /// exactly once. Returns `Unauthorized` while the session is not logged
    /// in, and once it is logged out.
    async fn next_update(&self) -> Result<TelegramUpdate, TelegramError>;

    /// Returns the session bytes to store encrypted: DC, auth key, self user,
    /// peer cache (access hashes to fill gaps) and the consumed update state.
    /// Call it regularly and at shutdown.
    async fn export(&self) -> Result<Vec<u8>, TelegramError>;

    /// Closes the connection. The session is unusable afterwards; export first.
    async fn disconnect(&self);
}
