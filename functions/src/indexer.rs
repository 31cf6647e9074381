//! The `indexer` function: the messages table's stream into the search
//! index (OpenSearch), by the rules the one-process indexer reads the same
//! stream with (`change_of_record`: TTL deletes keep a message searchable,
//! since it moves to the archive). Changes are keyed, so a batch delivered
//! again writes the same documents again.

use crate::stream::{read_records, retry_from};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use tgdesk_aws::dynamo::stream_feed::change_of_record;
use tgdesk_core::ports::SearchIndex;
use tgdesk_core::usecases::index_changes;

/// Applies the batch's changes to `index`; answers which record Lambda must
/// deliver again, if any (as the archiver does: an unreadable record stops
/// the batch there, a failed write has the whole batch come again).
pub async fn handle(event: &Event, index: &dyn SearchIndex) -> DynamoDbEventResponse {
    let (changes, failed) = read_records(&event.records, change_of_record);
    match index_changes(index, &changes).await {
        Ok(()) => {
            tracing::info!(records = event.records.len(), changes = changes.len(), "indexed");
            retry_from(failed)
        }
        Err(e) => {
            tracing::warn!(error = %e, records = event.records.len(), "index write failed; batch delivered again");
            retry_from(event.records.first())
        }
    }
}
