//! [`DynamoStore`]: the five store ports (`Directory`, `MessageWriter`,
//! `MessageReader`, `SendLog`, `Replies`) on two DynamoDB tables, `main` and
//! `messages` (`shared/aws/DESIGN.md` has the item kinds, keys, indexes and
//! the write units each use case costs).

mod ahead;
pub(crate) mod codec;
mod dialogs;
mod directory;
mod ingest;
mod io;
mod messages;
mod ports;
mod profiles;
mod sends;

pub use ahead::Ahead;
pub(crate) use io::batch_get;

use super::tables::{self, MAIN, MESSAGES};
use crate::context::AwsContext;
use std::time::Duration;
use tgdesk_core::ports::PortError;
use tokio::sync::OnceCell;

/// The full names of the store's tables.
#[derive(Debug)]
pub struct Tables {
    /// Everything but messages.
    pub main: String,
    /// Messages, with TTL and a stream.
    pub messages: String,
}

/// The store ports on DynamoDB.
pub struct DynamoStore {
    pub(crate) client: aws_sdk_dynamodb::Client,
    ctx: AwsContext,
    tables: OnceCell<Tables>,
    /// How long a message stays in the table after its date (its TTL).
    pub(crate) hot_window: Duration,
}

impl DynamoStore {
    /// Returns the store on tables `<prefix>-main` and `<prefix>-messages`.
    pub fn new(ctx: &AwsContext) -> Self {
        Self { client: ctx.dynamodb(), ctx: ctx.clone(), tables: OnceCell::new(), hot_window: ctx.settings.hot_window }
    }

    /// Returns the table names, making sure the tables exist (created where allowed).
    pub async fn tables(&self) -> Result<&Tables, PortError> {
        self.tables
            .get_or_try_init(|| async {
                let main = tables::ensure(&self.ctx, &self.client, MAIN).await?;
                let messages = tables::ensure(&self.ctx, &self.client, MESSAGES).await?;
                Ok(Tables { main, messages })
            })
            .await
    }
}
