//! Ports: the traits adapters implement. Each file holds one port and its
//! error. Keys and cursors are domain values, never SQL or DynamoDB terms, so
//! the SQLite and the DynamoDB adapters implement the same contract.

mod blobs;
mod connections;
mod error;
mod leases;
mod push;
mod queue;
mod search;
mod store;
mod telegram;

pub use blobs::{BlobMeta, BlobStore};
pub use connections::{ConnectionId, Connections};
pub use error::{PortError, PortErrorKind};
pub use leases::{Lease, Leases};
pub use push::{PushEvent, PushHub};
pub use queue::{Delivery, Queue};
pub use search::{SearchHit, SearchIndex, SearchQuery};
pub use store::{
    AccountQuery, AuditQuery, DialogCursor, DialogScope, Directory, IngestOutcome, MessageReader, MessageWriter, Pin,
    PinTarget, UserQuery,
};
pub use telegram::{LoginStep, OutgoingMessage, TelegramConnector, TelegramError, TelegramUpdate, UpdateState};
