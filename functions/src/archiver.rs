//! The `archiver` function: the messages table's stream, filtered by the
//! event source mapping to the deletes DynamoDB's TTL makes, into the
//! archive, each touched dialog with its messages about to expire
//! (`ExpiryArchiver`: about one archive write per dialog a day instead of
//! one per message). It reads every record anyway (a record the filter let
//! through by mistake is skipped, never archived, and so is an item
//! archived ahead).
//!
//! Exactly-once effect from at-least-once delivery: archive writes are
//! idempotent, so a batch delivered again (after a timeout, a crash, a
//! failed write) leaves one copy of each message.

use crate::stream::{read_records, retry_from};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use tgdesk_aws::dynamo::stream_feed::expired_message;
use tgdesk_aws::ExpiryArchiver;

/// Writes the messages the batch's TTL deletes removed; answers which
/// record Lambda must deliver again, if any. A record that cannot be read
/// stops the batch there (what came before it is written): it is retried,
/// and after the mapping's retries it goes to the on-failure destination
/// with its shard position, while the shard goes on.
pub async fn handle(event: &Event, archiver: &ExpiryArchiver) -> DynamoDbEventResponse {
    let (expired, failed) = read_records(&event.records, expired_message);
    match archiver.archive_expired(&expired).await {
        Ok(written) => {
            tracing::info!(records = event.records.len(), archived = written, "archived expired messages");
            retry_from(failed)
        }
        Err(e) => {
            // Nothing is lost: the whole batch comes again, and what was written stays one copy.
            tracing::warn!(error = %e, records = event.records.len(), "archive write failed; batch delivered again");
            retry_from(event.records.first())
        }
    }
}
