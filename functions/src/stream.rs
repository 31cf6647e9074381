//! Records of the messages table's stream as Lambda delivers them
//! (`aws_lambda_events`), read with the same rules as the one-process
//! stream reader (`tgdesk_aws::dynamo::stream_feed`): both convert to a
//! [`MessageRecord`] of DynamoDB SDK values.

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_dynamo::AttributeValue as EventValue;
use std::collections::HashMap;
use tgdesk_aws::dynamo::stream_feed::MessageRecord;
use tgdesk_core::ports::PortError;

/// A record's images as the DynamoDB SDK has them.
struct Images {
    keys: HashMap<String, AttributeValue>,
    new_image: Option<HashMap<String, AttributeValue>>,
    old_image: Option<HashMap<String, AttributeValue>>,
}

/// Converts `record` and hands it to `rule` (the rules of
/// `tgdesk_aws::dynamo`: `change_of_record`, `expired_message`).
pub fn with_record<T>(
    record: &EventRecord,
    rule: impl FnOnce(&MessageRecord<'_>) -> Result<T, PortError>,
) -> Result<T, PortError> {
    let images = images_of(record);
    let identity = record.user_identity.as_ref().map(|i| (i.type_.as_str(), i.principal_id.as_str()));
    rule(&MessageRecord {
        event: &record.event_name,
        keys: &images.keys,
        new_image: images.new_image.as_ref(),
        old_image: images.old_image.as_ref(),
        identity,
    })
}

fn images_of(record: &EventRecord) -> Images {
    let image = |item: &serde_dynamo::Item| -> Option<HashMap<String, AttributeValue>> {
        let map: HashMap<String, AttributeValue> =
            item.clone().into_inner().into_iter().map(|(name, value)| (name, value_of(value))).collect();
        (!map.is_empty()).then_some(map)
    };
    Images {
        keys: image(&record.change.keys).unwrap_or_default(),
        new_image: image(&record.change.new_image),
        old_image: image(&record.change.old_image),
    }
}

/// One attribute value, from the event's JSON form to the SDK's.
fn value_of(value: EventValue) -> AttributeValue {
    match value {
        EventValue::N(v) => AttributeValue::N(v),
        EventValue::S(v) => AttributeValue::S(v),
        EventValue::Bool(v) => AttributeValue::Bool(v),
        EventValue::B(v) => AttributeValue::B(v.into()),
        EventValue::Null(v) => AttributeValue::Null(v),
        EventValue::M(v) => AttributeValue::M(v.into_iter().map(|(k, v)| (k, value_of(v))).collect()),
        EventValue::L(v) => AttributeValue::L(v.into_iter().map(value_of).collect()),
        EventValue::Ss(v) => AttributeValue::Ss(v),
        EventValue::Ns(v) => AttributeValue::Ns(v),
        EventValue::Bs(v) => AttributeValue::Bs(v.into_iter().map(Into::into).collect()),
    }
}

/// Applies `rule` to the records in order, keeping what it makes of them,
/// up to the first it cannot read; returns the items and that record (it
/// and every record after it are delivered again: see [`retry_from`]).
pub fn read_records<T>(
    records: &[EventRecord],
    rule: impl Fn(&MessageRecord<'_>) -> Result<Option<T>, PortError>,
) -> (Vec<T>, Option<&EventRecord>) {
    let mut items = Vec::new();
    for record in records {
        match with_record(record, &rule) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(record = %record.event_id, error = %e, "unreadable stream record; delivered again");
                return (items, Some(record));
            }
        }
    }
    (items, None)
}

/// The answer that has Lambda deliver the shard again from `failed` (its
/// sequence number; `None`: every record was handled). The event source
/// mapping retries from there, halves the batch on repeated failures and at
/// last sends the record to the on-failure destination (`template.yaml`).
pub fn retry_from(failed: Option<&EventRecord>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(record) = failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = record.change.sequence_number.clone();
        response.batch_item_failures.push(failure);
    }
    response
}
