//! The `indexer` function: the messages table's stream into the search
//! index (OpenSearch), by the rules the one-process indexer reads the same
//! stream with (`change_of_record`: TTL deletes keep a message searchable,
//! since it moves to the archive). Changes are keyed, so a batch delivered
//! again writes the same documents again.

use crate::stream::{retry_from, with_record};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use tgdesk_aws::dynamo::stream_feed::change_of_record;
use tgdesk_core::ports::{MessageChange, SearchIndex};
use tgdesk_core::usecases::index_changes;

/// Applies the batch's changes to `index`; answers which record Lambda must
/// deliver again, if any (as the archiver does: an unreadable record stops
/// the batch there, a failed write has the whole batch come again).
pub async fn handle(event: &Event, index: &dyn SearchIndex) -> DynamoDbEventResponse {
    let mut changes: Vec<MessageChange> = Vec::new();
    let mut failed = None;
    for record in &event.records {
        match with_record(record, change_of_record) {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(record = %record.event_id, error = %e, "unreadable stream record; delivered again");
                failed = Some(record);
                break;
            }
        }
    }
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
