//! [`ExpiryArchiver`]: what the AWS archiver does with the messages
//! DynamoDB's TTL took (the `archiver` Lambda and the one-process
//! [`StreamArchiver`](crate::StreamArchiver) alike). TTL deletes arrive
//! spread over every dialog, so writing only them would cost an archive
//! write (three S3 requests) per message. Instead, each dialog a batch
//! touches is written with its messages about to expire within
//! [`AHEAD`], read from the table in one query, and those items are marked
//! archived; when the TTL takes a marked item, the stream record is passed
//! over (`expired_message`). A message changed after its mark lost it
//! (`update_message`) and is archived from its TTL delete as before.

use crate::{AwsContext, DynamoStore};
use chrono::Utc;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tgdesk_core::domain::{AccountId, Message, TenantId};
use tgdesk_core::ports::{Archive, PortError, MAX_ARCHIVE_BATCH};
use tgdesk_core::usecases::archive_messages;

/// How far ahead of their TTL a dialog's messages are archived with one that
/// expired: a dialog then costs about one archive write a day.
pub const AHEAD: chrono::Duration = chrono::Duration::days(1);

/// Dialogs read ahead at once.
const READS_IN_FLIGHT: usize = 16;

/// Archives expired messages with their dialogs' messages about to expire.
pub struct ExpiryArchiver {
    store: Arc<DynamoStore>,
    archive: Arc<dyn Archive>,
}

impl ExpiryArchiver {
    /// Returns the archiver of `ctx`'s messages table into `archive`.
    pub fn new(ctx: &AwsContext, archive: Arc<dyn Archive>) -> Self {
        Self { store: Arc::new(DynamoStore::new(ctx)), archive }
    }

    /// The archive it writes.
    pub fn archive(&self) -> &dyn Archive {
        &*self.archive
    }

    /// Writes `expired` (what the TTL took) and each of their dialogs'
    /// unmarked messages expiring within [`AHEAD`], then marks the latter;
    /// returns how many messages it wrote. Idempotent, as archive writes
    /// are: on an error the caller hands the same batch again.
    pub async fn archive_expired(&self, expired: &[(TenantId, Message)]) -> Result<usize, PortError> {
        if expired.is_empty() {
            return Ok(0);
        }
        let expires_before = Utc::now() + AHEAD;
        let dialogs: BTreeSet<(TenantId, AccountId, i64)> =
            expired.iter().map(|(t, m)| (t.clone(), m.account_id.clone(), m.peer)).collect();
        let reads = futures::stream::iter(dialogs)
            .map(|(tenant, account, peer)| async move {
                let ahead =
                    self.store.expiring_unmarked(&tenant, &account, peer, expires_before, MAX_ARCHIVE_BATCH).await;
                (tenant, ahead)
            })
            .buffer_unordered(READS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        let mut batch = expired.to_vec();
        let mut marks: BTreeMap<TenantId, Vec<(AccountId, i64, i64, i64)>> = BTreeMap::new();
        for (tenant, ahead) in reads {
            for a in ahead? {
                let m = a.message;
                marks.entry(tenant.clone()).or_default().push((m.account_id.clone(), m.peer, m.id, a.ver));
                batch.push((tenant.clone(), m));
            }
        }
        let written = archive_messages(&*self.archive, &batch).await?;
        for (tenant, marks) in marks {
            self.store.mark_archived(&tenant, &marks).await?;
        }
        Ok(written)
    }
}
