//! A record of the messages table's stream as the change the index must
//! learn. The rule works on plain images (`HashMap<String, AttributeValue>`
//! of the DynamoDB SDK) through the store's own item codec, so the stream
//! API's records here and a Lambda indexer's `aws_lambda_events` records
//! later convert the same way.

use crate::dynamo::attrs::{get_n, get_s};
use crate::dynamo::keys::dialog_of_messages_part;
use crate::dynamo::store::codec;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, Record};
use std::collections::HashMap;
use tgdesk_core::domain::{Message, TenantId};
use tgdesk_core::ports::{MessageChange, PortError, PortErrorKind};

/// The `userIdentity` (type, principal) of the deletes DynamoDB's TTL makes.
pub const TTL_IDENTITY: (&str, &str) = ("Service", "dynamodb.amazonaws.com");

/// One record of the messages table's stream, as every reader of it has it.
#[derive(Clone, Copy, Debug)]
pub struct MessageRecord<'a> {
    /// `eventName`: `INSERT`, `MODIFY` or `REMOVE`.
    pub event: &'a str,
    /// `Keys`: the item's `pk` (tenant#account#peer) and `sk` (message id).
    pub keys: &'a HashMap<String, AttributeValue>,
    /// `NewImage`, which inserts and modifications carry.
    pub new_image: Option<&'a HashMap<String, AttributeValue>>,
    /// `OldImage`, which modifications and deletes carry.
    pub old_image: Option<&'a HashMap<String, AttributeValue>>,
    /// `userIdentity` as (type, principal), which only deletes made by a
    /// service carry.
    pub identity: Option<(&'a str, &'a str)>,
}

fn bad(what: String) -> PortError {
    PortError::new(PortErrorKind::Internal, format!("messages stream: {what}"))
}

/// Returns the change a record of the messages table means: an insert or a
/// modification is the message as its new image holds it; a delete is the
/// message gone for good, unless DynamoDB's TTL made it (`None`: the message
/// moves to the archive, and search keeps finding it). `Internal` for a
/// record the store could not have caused.
pub fn change_of_record(record: &MessageRecord<'_>) -> Result<Option<MessageChange>, PortError> {
    let pk = get_s(record.keys, "pk")?;
    let (tenant, account, peer) =
        dialog_of_messages_part(pk).ok_or_else(|| bad(format!("{pk:?} is not a message partition")))?;
    match record.event {
        "INSERT" | "MODIFY" => {
            let image = record.new_image.ok_or_else(|| bad(format!("{} of {pk} without a new image", record.event)))?;
            Ok(Some(MessageChange::Upsert { tenant, message: codec::message(image)? }))
        }
        "REMOVE" if is_expiry(record.event, record.identity) => Ok(None),
        "REMOVE" => Ok(Some(MessageChange::Remove { tenant, account, peer, id: get_n(record.keys, "sk")? })),
        other => Err(bad(format!("unknown event {other:?}"))),
    }
}

/// True for a delete DynamoDB's TTL made: the message left the hot window.
pub fn is_expiry(event: &str, identity: Option<(&str, &str)>) -> bool {
    event == "REMOVE" && identity == Some(TTL_IDENTITY)
}

/// Returns the message a delete of DynamoDB's TTL took out of the table (its
/// old image: it goes to the archive), `None` for any other record and for
/// an item archived ahead and not changed since.
/// `Internal` for an expiry without its old image (a stream that does not
/// keep old images, which the store never creates).
pub fn expired_message(record: &MessageRecord<'_>) -> Result<Option<(TenantId, Message)>, PortError> {
    if !is_expiry(record.event, record.identity) {
        return Ok(None);
    }
    let pk = get_s(record.keys, "pk")?;
    let (tenant, _, _) =
        dialog_of_messages_part(pk).ok_or_else(|| bad(format!("{pk:?} is not a message partition")))?;
    let old = record.old_image.ok_or_else(|| bad(format!("an expiry of {pk} without its old image")))?;
    if old.contains_key("archived") {
        // Archived ahead, unchanged since (dynamo/store/ahead.rs).
        return Ok(None);
    }
    Ok(Some((tenant, codec::message(old)?)))
}

/// Returns the change of a record read through the DynamoDB Streams API.
pub(crate) fn change_of_stream_record(record: &Record) -> Result<Option<MessageChange>, PortError> {
    with_stream_record(record, change_of_record)
}

/// Returns the message an expiry read through the DynamoDB Streams API took
/// out of the table (`None` for every other record, without converting it).
pub(crate) fn expired_of_stream_record(record: &Record) -> Result<Option<(TenantId, Message)>, PortError> {
    let event = record.event_name().map(|e| e.as_str()).unwrap_or_default();
    if !is_expiry(event, identity_of(record)) {
        return Ok(None);
    }
    with_stream_record(record, expired_message)
}

fn identity_of(record: &Record) -> Option<(&str, &str)> {
    record.user_identity().map(|i| (i.r#type().unwrap_or_default(), i.principal_id().unwrap_or_default()))
}

/// Converts a record of the Streams API and hands it to `rule`.
fn with_stream_record<T>(
    record: &Record,
    rule: impl FnOnce(&MessageRecord<'_>) -> Result<T, PortError>,
) -> Result<T, PortError> {
    let data = record.dynamodb().ok_or_else(|| bad("a record without its data".to_owned()))?;
    let keys = image_of(data.keys().ok_or_else(|| bad("a record without keys".to_owned()))?)?;
    let new_image = data.new_image().map(image_of).transpose()?;
    let old_image = data.old_image().map(image_of).transpose()?;
    let event = record.event_name().map(|e| e.as_str()).unwrap_or_default();
    let identity = identity_of(record);
    rule(&MessageRecord { event, keys: &keys, new_image: new_image.as_ref(), old_image: old_image.as_ref(), identity })
}

/// Converts an image of the Streams SDK into one of the DynamoDB SDK (two
/// crates, one wire format).
fn image_of(image: &HashMap<String, StreamValue>) -> Result<HashMap<String, AttributeValue>, PortError> {
    image.iter().map(|(name, value)| Ok((name.clone(), value_of(value)?))).collect()
}

fn value_of(value: &StreamValue) -> Result<AttributeValue, PortError> {
    Ok(match value {
        StreamValue::S(v) => AttributeValue::S(v.clone()),
        StreamValue::N(v) => AttributeValue::N(v.clone()),
        StreamValue::B(v) => AttributeValue::B(v.clone()),
        StreamValue::Bool(v) => AttributeValue::Bool(*v),
        StreamValue::Null(v) => AttributeValue::Null(*v),
        StreamValue::Ss(v) => AttributeValue::Ss(v.clone()),
        StreamValue::Ns(v) => AttributeValue::Ns(v.clone()),
        StreamValue::Bs(v) => AttributeValue::Bs(v.clone()),
        StreamValue::L(v) => AttributeValue::L(v.iter().map(value_of).collect::<Result<_, _>>()?),
        StreamValue::M(v) => AttributeValue::M(image_of(v)?),
        other => return Err(bad(format!("an attribute of an unknown type: {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::store::codec::{message_item, message_key};
    use aws_sdk_dynamodbstreams::types::{Identity, OperationType, StreamRecord};
    use std::time::Duration;
    use tgdesk_core::domain::{AccountId, TagId};
    use tgdesk_core::testkit::fixtures::{message, tenant};

    const HOT: Duration = Duration::from_secs(3600);

    fn record<'a>(
        event: &'a str,
        keys: &'a HashMap<String, AttributeValue>,
        new_image: Option<&'a HashMap<String, AttributeValue>>,
    ) -> MessageRecord<'a> {
        MessageRecord { event, keys, new_image, old_image: None, identity: None }
    }

    #[test]
    fn an_insert_or_a_modification_is_the_message_its_new_image_holds() {
        let (t, acc) = (tenant(), AccountId::generate());
        let m = message(&acc, -100, 7, 10, false);
        let mut item = message_item(&t, &m, HOT).unwrap();
        let keys = message_key(&t, &acc, -100, 7);
        let inserted = change_of_record(&record("INSERT", &keys, Some(&item))).unwrap();
        assert_eq!(inserted, Some(MessageChange::Upsert { tenant: t.clone(), message: m.clone() }));

        let tag = TagId::generate();
        item.insert("tags".into(), AttributeValue::S(codec::tags_json(&[tag.clone()].into())));
        item.insert("deleted".into(), AttributeValue::Bool(true));
        let modified = change_of_record(&record("MODIFY", &keys, Some(&item))).unwrap();
        let now = tgdesk_core::domain::Message { tags: [tag].into(), deleted: true, ..m };
        assert_eq!(modified, Some(MessageChange::Upsert { tenant: t, message: now }));
    }

    #[test]
    fn a_remove_by_a_user_takes_the_message_out() {
        let (t, acc) = (tenant(), AccountId::generate());
        let keys = message_key(&t, &acc, 5, 9);
        let removed = change_of_record(&record("REMOVE", &keys, None)).unwrap();
        assert_eq!(removed, Some(MessageChange::Remove { tenant: t, account: acc, peer: 5, id: 9 }));
    }

    #[test]
    fn a_remove_by_the_ttl_service_keeps_the_message_searchable() {
        let (t, acc) = (tenant(), AccountId::generate());
        let keys = message_key(&t, &acc, 5, 9);
        let expired = MessageRecord { identity: Some(TTL_IDENTITY), ..record("REMOVE", &keys, None) };
        assert_eq!(change_of_record(&expired).unwrap(), None);
        let by_another_service = MessageRecord { identity: Some(("Service", "other.amazonaws.com")), ..expired };
        assert!(matches!(change_of_record(&by_another_service).unwrap(), Some(MessageChange::Remove { .. })));
    }

    #[test]
    fn an_expiry_is_the_message_its_old_image_holds_and_nothing_else_is() {
        let (t, acc) = (tenant(), AccountId::generate());
        let m = message(&acc, 5, 9, 10, false);
        let (keys, item) = (message_key(&t, &acc, 5, 9), message_item(&t, &m, HOT).unwrap());
        let expired =
            MessageRecord { identity: Some(TTL_IDENTITY), old_image: Some(&item), ..record("REMOVE", &keys, None) };
        assert_eq!(expired_message(&expired).unwrap(), Some((t, m)));
        let by_a_user = MessageRecord { identity: None, ..expired };
        let inserted = record("INSERT", &keys, Some(&item));
        for other in [by_a_user, inserted] {
            assert_eq!(expired_message(&other).unwrap(), None, "{other:?}");
        }
        let without_image = MessageRecord { old_image: None, ..expired };
        assert_eq!(expired_message(&without_image).unwrap_err().kind, PortErrorKind::Internal);
    }

    #[test]
    fn records_the_store_could_not_have_written_are_internal_errors() {
        let (t, acc) = (tenant(), AccountId::generate());
        let keys = message_key(&t, &acc, 5, 9);
        let foreign = HashMap::from([("pk".to_owned(), AttributeValue::S("not#a#message#key".into()))]);
        for bad in [record("INSERT", &keys, None), record("TRUNCATE", &keys, None), record("REMOVE", &foreign, None)] {
            assert_eq!(change_of_record(&bad).unwrap_err().kind, PortErrorKind::Internal, "{bad:?}");
        }
    }

    #[test]
    fn a_record_of_the_streams_api_converts_with_its_images_and_identity() {
        let (t, acc) = (tenant(), AccountId::generate());
        let m = message(&acc, 5, 9, 10, true);
        let to_stream = |item: HashMap<String, AttributeValue>| -> HashMap<String, StreamValue> {
            item.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        AttributeValue::S(s) => StreamValue::S(s),
                        AttributeValue::N(n) => StreamValue::N(n),
                        AttributeValue::Bool(b) => StreamValue::Bool(b),
                        other => panic!("unexpected {other:?}"),
                    };
                    (k, v)
                })
                .collect()
        };
        let data = StreamRecord::builder()
            .set_keys(Some(to_stream(message_key(&t, &acc, 5, 9))))
            .set_new_image(Some(to_stream(message_item(&t, &m, HOT).unwrap())))
            .build();
        let insert = Record::builder().event_name(OperationType::Insert).dynamodb(data.clone()).build();
        assert_eq!(
            change_of_stream_record(&insert).unwrap(),
            Some(MessageChange::Upsert { tenant: t.clone(), message: m.clone() })
        );

        assert_eq!(expired_of_stream_record(&insert).unwrap(), None);

        let ttl = Identity::builder().r#type(TTL_IDENTITY.0).principal_id(TTL_IDENTITY.1).build();
        let old =
            StreamRecord::builder().set_keys(data.keys().cloned()).set_old_image(data.new_image().cloned()).build();
        let expired = Record::builder().event_name(OperationType::Remove).dynamodb(old).user_identity(ttl).build();
        assert_eq!(change_of_stream_record(&expired).unwrap(), None);
        assert_eq!(expired_of_stream_record(&expired).unwrap(), Some((t, m)));
    }
}
