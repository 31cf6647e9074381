//! The DynamoDB calls the store makes in bulk, each with its limits handled
//! once: paged queries, `BatchGetItem` (100 keys) and `BatchWriteItem` (25
//! requests), both retrying the unprocessed part with backoff.

use super::super::attrs::Item;
use crate::error;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use std::collections::HashMap;
use std::time::Duration;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Keys per `BatchGetItem`.
const GET_BATCH: usize = 100;
/// Requests per `BatchWriteItem`.
const WRITE_BATCH: usize = 25;
/// Rounds a batch call retries what DynamoDB left unprocessed.
const UNPROCESSED_ROUNDS: u32 = 8;

/// Returns the backoff before retry `round` of unprocessed items.
fn backoff(round: u32) -> Duration {
    Duration::from_millis(20u64 << round.min(6))
}

fn gave_up(what: &str) -> PortError {
    PortError::new(PortErrorKind::Throttled, format!("{what}: items left unprocessed after retries"))
}

/// Reads the items with `keys` from `table` (strongly consistent), in no
/// particular order; missing keys are absent from the result.
pub(crate) async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<Vec<Item>, PortError> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(GET_BATCH) {
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| error::build("batch get keys", e))?,
        );
        let mut round = 0;
        while let Some(request) = pending.take() {
            let got = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| error::sdk("dynamodb batch_get_item", e))?;
            if let Some(items) = got.responses().and_then(|r| r.get(table)) {
                out.extend(items.iter().cloned());
            }
            pending = got.unprocessed_keys().and_then(|u| u.get(table)).filter(|k| !k.keys().is_empty()).cloned();
            if pending.is_some() {
                round += 1;
                if round > UNPROCESSED_ROUNDS {
                    return Err(gave_up("batch_get_item"));
                }
                tokio::time::sleep(backoff(round)).await;
            }
        }
    }
    Ok(out)
}

/// Writes puts and deletes to `table` in batches (no conditions: for
/// idempotent writes only).
pub(crate) async fn batch_write(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    puts: Vec<Item>,
    deletes: Vec<Item>,
) -> Result<(), PortError> {
    let mut requests = Vec::with_capacity(puts.len() + deletes.len());
    for item in puts {
        let put = PutRequest::builder().set_item(Some(item)).build().map_err(|e| error::build("put request", e))?;
        requests.push(WriteRequest::builder().put_request(put).build());
    }
    for key in deletes {
        let delete =
            DeleteRequest::builder().set_key(Some(key)).build().map_err(|e| error::build("delete request", e))?;
        requests.push(WriteRequest::builder().delete_request(delete).build());
    }
    for chunk in requests.chunks(WRITE_BATCH) {
        let mut pending = chunk.to_vec();
        let mut round = 0;
        while !pending.is_empty() {
            let out = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| error::sdk("dynamodb batch_write_item", e))?;
            pending = out.unprocessed_items().and_then(|u| u.get(table)).cloned().unwrap_or_default();
            if !pending.is_empty() {
                round += 1;
                if round > UNPROCESSED_ROUNDS {
                    return Err(gave_up("batch_write_item"));
                }
                tokio::time::sleep(backoff(round)).await;
            }
        }
    }
    Ok(())
}

/// Returns every item of partition `pk` of `table` (strongly consistent),
/// in sort key order.
pub(crate) async fn query_partition(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> Result<Vec<Item>, PortError> {
    let mut pages = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while let Some(item) = pages.next().await {
        out.push(item.map_err(|e| error::sdk("dynamodb query", e))?);
    }
    Ok(out)
}

/// Returns the key attributes (`pk`, `sk`) of `item`.
pub(crate) fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<HashMap<_, _>>()
}
