//! tgdesk-telegram: the one `TelegramConnector` adapter, on grammers-client.
//!
//! [`GrammersConnector`] opens [`GrammersSession`]s from session bytes it
//! exports itself (a versioned document with the auth key, self user, peer
//! cache and consumed update state), or from Telethon/Pyrogram session
//! strings through `import_session_string`. FLOOD_WAIT is handled once, by
//! grammers' retry hook ([`retry::FloodPolicy`]); sends are paced per account.
//! [`SessionCipher`] seals session bytes for storage, and
//! [`raise_nofile_limit`] makes room for thousands of sockets.

mod cipher;
mod connector;
mod convert;
mod import;
mod limits;
pub mod retry;
mod send;
mod session;
pub mod session_string;
mod updates;
mod upload;
mod vault;

pub use cipher::{CipherError, SessionCipher, ENV_SESSION_KEY};
pub use connector::{GrammersConfig, GrammersConnector};
pub use import::StringSessionImporter;
pub use limits::raise_nofile_limit;
pub use session::GrammersSession;
pub use session_string::{is_telegram_dc, parse_session_string, production_addr, ImportedSession, SessionStringFormat};
