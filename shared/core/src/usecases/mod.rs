//! Use cases: every business rule and every permission check lives here, so
//! the REST router, the Lambda handlers and the CLI stay thin translations.

mod accounts;
mod actor;
mod agents;
mod audit;
mod cursor;
mod error;
mod import;
mod inbox;
mod ingest;
mod organise;
mod session;
mod tenants;
mod views;

pub use accounts::{AccountFilter, AssignOutcome, NewAccount, UpdateAccount};
pub use actor::Actor;
pub use agents::{NewAgent, UpdateAgent};
pub use audit::AuditFilter;
pub use error::AppError;
pub use import::{ImportFormat, ImportProgress, ImportReport, RejectedLine};
pub use ingest::{AccountUpdate, IngestReport, UpdateEnvelope};
pub use session::LoginOutcome;
pub use views::{AccountView, AgentView, DialogView, Page, TagRef};

use crate::auth::{LoginThrottle, TokenService};
use crate::ports::{Directory, MessageReader, MessageWriter, PushHub};
use std::sync::Arc;

/// Largest page any list returns.
pub const MAX_PAGE: usize = 500;
/// Page size when the client names none.
pub const DEFAULT_PAGE: usize = 50;

/// The desk's use cases over its ports. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    /// Tenants, users, accounts, groups, tags, pins, audit.
    pub directory: Arc<dyn Directory>,
    /// Ingest side of dialogs and messages.
    pub writer: Arc<dyn MessageWriter>,
    /// Read side of dialogs and messages.
    pub reader: Arc<dyn MessageReader>,
    /// Delivers events to the agents allowed to see them.
    pub push: Arc<dyn PushHub>,
    /// Issues and checks access tokens.
    pub tokens: TokenService,
    /// Counts failed logins.
    pub throttle: Arc<LoginThrottle>,
}

impl Desk {
    /// Wires the use cases to their ports.
    pub fn new(
        directory: Arc<dyn Directory>,
        writer: Arc<dyn MessageWriter>,
        reader: Arc<dyn MessageReader>,
        push: Arc<dyn PushHub>,
        tokens: TokenService,
    ) -> Self {
        Self { directory, writer, reader, push, tokens, throttle: Arc::new(LoginThrottle::default()) }
    }
}

/// Clamps a client's page size to `1..=MAX_PAGE`.
pub(crate) fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}
