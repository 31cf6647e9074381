//! Commands to the session fleet, carried by the commands queue. The fleet
//! node running the account carries them out and reports back through the
//! updates queue (ingest) and [`super::SendOutcome`].

use crate::domain::{AccountId, FileRef, SendId, TenantId};
use serde::{Deserialize, Serialize};

/// Name of the queue the fleet consumes.
pub const COMMANDS_QUEUE: &str = "commands";

/// Something the fleet must do with an account's session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FleetCommand {
    /// Send a message; report the outcome for `send_id`.
    Send {
        /// The account's tenant.
        tenant: TenantId,
        /// The sending account.
        account_id: AccountId,
        /// The send to report on.
        send_id: SendId,
        /// The dialog.
        peer: i64,
        /// The text.
        text: String,
        /// The message replied to.
        reply_to: Option<i64>,
        /// Files to attach; their bytes are at `<tenant>/files/<id>` in the blob store.
        #[serde(default)]
        files: Vec<FileRef>,
    },
}

impl FleetCommand {
    /// Returns the JSON body the queue carries.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|e| unreachable!("commands always serialise: {e}"))
    }
}
