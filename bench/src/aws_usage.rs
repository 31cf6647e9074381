//! What AWS was asked per message in a pipeline run on the AWS backend: the
//! difference of two [`tgdesk_aws::usage`] snapshots, per service and
//! operation and in total, divided by the messages the run stored.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use tgdesk_aws::usage::OperationUsage;

type Snapshot = BTreeMap<(String, String), OperationUsage>;

/// Returns requests and billing units per message between `before` and `after`.
pub fn per_message(before: &Snapshot, after: &Snapshot, messages: usize) -> Value {
    let n = messages.max(1) as f64;
    let per = |x: u64| (x as f64 / n * 1000.0).round() / 1000.0;
    let mut operations = Map::new();
    let mut totals: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for ((service, operation), now) in after {
        let was = before.get(&(service.clone(), operation.clone())).copied().unwrap_or_default();
        let requests = now.requests - was.requests;
        if requests == 0 {
            continue;
        }
        let (units, upper) = (now.units - was.units, now.units_if_keys_moved - was.units_if_keys_moved);
        operations.insert(
            format!("{service}.{operation}"),
            json!({"requests": per(requests), "units": per(units), "units_if_index_keys_moved": per(upper)}),
        );
        let total = totals.entry(service.as_str()).or_default();
        *total = (total.0 + requests, total.1 + units, total.2 + upper.max(units));
    }
    let dynamo = totals.get("DynamoDB").copied().unwrap_or_default();
    let sqs = totals.get("SQS").copied().unwrap_or_default();
    let s3 = totals.get("S3").copied().unwrap_or_default();
    json!({
        "dynamodb_requests": per(dynamo.0),
        "dynamodb_write_units": per(dynamo.1),
        "dynamodb_write_units_if_index_keys_moved": per(dynamo.2),
        "sqs_requests_64k_units": per(sqs.1),
        "s3_requests": per(s3.0),
        "by_operation": operations,
    })
}
