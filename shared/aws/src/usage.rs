//! What the adapters ask of AWS, counted as AWS bills it: requests per
//! service and operation, SQS requests in 64 KiB units, and DynamoDB write
//! units estimated from the items written. An SDK interceptor on every
//! client records each attempt (retries included, as AWS bills them); the
//! pipeline bench reads [`snapshot`] to report the cost per message.
//!
//! Write units: DynamoDB bills a write 1 unit per KB of the item, and as much
//! again on every index whose keys the item has. An index whose key moved
//! costs a delete and a put; the interceptor cannot see the old item, so it
//! counts the lower bound (one write per index) and the upper bound (two).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// SQS bills each 64 KiB of a request's payload as one request.
const SQS_UNIT: u64 = 64 * 1024;

/// Counts of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct OperationUsage {
    /// Attempts sent.
    pub requests: u64,
    /// Bytes sent in request bodies.
    pub request_bytes: u64,
    /// Bytes received in response bodies.
    pub response_bytes: u64,
    /// Billing units: SQS 64 KiB chunks of request and response payloads;
    /// DynamoDB write units, lower bound (index keys unmoved); else requests.
    pub units: u64,
    /// DynamoDB write units if every index key the writes touched moved.
    pub units_if_keys_moved: u64,
}

static USAGE: Mutex<BTreeMap<(String, String), OperationUsage>> = Mutex::new(BTreeMap::new());

/// Returns the counts so far by (service, operation).
pub fn snapshot() -> BTreeMap<(String, String), OperationUsage> {
    USAGE.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn record(service: &str, operation: &str, update: impl FnOnce(&mut OperationUsage)) {
    let mut usage = USAGE.lock().unwrap_or_else(|p| p.into_inner());
    update(usage.entry((service.to_owned(), operation.to_owned())).or_default());
}

/// The interceptor every adapter's client carries.
#[derive(Debug, Default)]
pub(crate) struct CountUsage;

impl Intercept for CountUsage {
    fn name(&self) -> &'static str {
        "tgdesk-count-usage"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else { return Ok(()) };
        let body = context.request().body().bytes().unwrap_or_default();
        let (units, upper) = match meta.service() {
            "DynamoDB" => write_units(meta.name(), body),
            "SQS" => (chunks(body.len() as u64), 0),
            _ => (1, 0),
        };
        record(meta.service(), meta.name(), |u| {
            u.requests += 1;
            u.request_bytes += body.len() as u64;
            u.units += units;
            u.units_if_keys_moved += upper;
        });
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else { return Ok(()) };
        let bytes = context.response().body().content_length().unwrap_or(0);
        let extra = if meta.service() == "SQS" && meta.name() == "ReceiveMessage" {
            // The first chunk was counted with the request.
            chunks(bytes).saturating_sub(1)
        } else {
            0
        };
        record(meta.service(), meta.name(), |u| {
            u.response_bytes += bytes;
            u.units += extra;
        });
        Ok(())
    }
}

fn chunks(bytes: u64) -> u64 {
    bytes.div_ceil(SQS_UNIT).max(1)
}

/// Returns the write units of a DynamoDB request (lower and upper bound);
/// reads and queries count 0 here (their units are read units).
fn write_units(operation: &str, body: &[u8]) -> (u64, u64) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else { return (0, 0) };
    let items: Vec<&Value> = match operation {
        "PutItem" => vec![&request["Item"]],
        "UpdateItem" | "DeleteItem" => vec![&request["Key"]],
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.values())
            .filter_map(Value::as_array)
            .flatten()
            .map(|w| if w["PutRequest"].is_object() { &w["PutRequest"]["Item"] } else { &w["DeleteRequest"]["Key"] })
            .collect(),
        // A transaction costs two units per KB of each item it writes.
        "TransactWriteItems" => {
            let writes: Vec<&Value> = request["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_object().and_then(|o| o.values().next()))
                .map(|op| if op["Item"].is_object() { &op["Item"] } else { &op["Key"] })
                .collect();
            let (low, high) = sum_units(&writes);
            return (low * 2, high * 2);
        }
        _ => return (0, 0),
    };
    sum_units(&items)
}

fn sum_units(items: &[&Value]) -> (u64, u64) {
    items.iter().fold((0, 0), |(low, high), item| {
        let size = item_size(item).div_ceil(1024).max(1);
        let indexes = ["g1pk", "g2pk", "g3pk"].iter().filter(|k| item.get(**k).is_some()).count() as u64;
        (low + size * (1 + indexes), high + size * (1 + 2 * indexes))
    })
}

/// Returns the size DynamoDB bills for an item in the wire form
/// (`{"name": {"S": "…"}}`): names plus values, per the documented rules.
fn item_size(item: &Value) -> u64 {
    item.as_object().map_or(0, |attrs| attrs.iter().map(|(name, v)| name.len() as u64 + value_size(v)).sum())
}

fn value_size(v: &Value) -> u64 {
    let Some((kind, value)) = v.as_object().and_then(|o| o.iter().next()) else { return 0 };
    match (kind.as_str(), value) {
        ("S", Value::String(s)) => s.len() as u64,
        // Numbers: about one byte per two significant digits, plus one.
        ("N", Value::String(n)) => n.len() as u64 / 2 + 1,
        // Binary travels as base64: three bytes per four characters.
        ("B", Value::String(b)) => b.len() as u64 * 3 / 4,
        ("BOOL" | "NULL", _) => 1,
        ("SS" | "NS" | "BS", Value::Array(list)) => list.iter().map(|s| s.as_str().map_or(0, str::len) as u64).sum(),
        ("L", Value::Array(list)) => 3 + list.iter().map(|x| 1 + value_size(x)).sum::<u64>(),
        ("M", Value::Object(_)) => 3 + item_size(value),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_item_costs_a_unit_per_kb_on_the_table_and_on_each_index_it_is_in() {
        let small =
            json!({"Item": {"pk": {"S": "t#DLG#acc"}, "sk": {"S": "1"}, "g1pk": {"S": "x"}, "g3pk": {"S": "y"}}});
        assert_eq!(write_units("PutItem", small.to_string().as_bytes()), (3, 5));
        let big = json!({"Item": {"pk": {"S": "p"}, "sk": {"N": "1"}, "doc": {"S": "x".repeat(2500)}}});
        assert_eq!(write_units("PutItem", big.to_string().as_bytes()), (3, 3));
    }

    #[test]
    fn transactions_cost_twice_and_reads_cost_no_write_units() {
        let tx =
            json!({"TransactItems": [{"Put": {"Item": {"pk": {"S": "a"}}}}, {"Delete": {"Key": {"pk": {"S": "b"}}}}]});
        assert_eq!(write_units("TransactWriteItems", tx.to_string().as_bytes()), (4, 4));
        assert_eq!(write_units("Query", b"{}"), (0, 0));
    }

    #[test]
    fn sqs_bills_each_64_kib_chunk() {
        assert_eq!((chunks(0), chunks(65_536), chunks(65_537), chunks(262_144)), (1, 1, 2, 4));
    }
}
