//! Writing documents with `_bulk`: NDJSON in chunks under the
//! [`BulkLimits`], items the cluster rejected for now (429, 503) sent again
//! under the retry policy, and a failure that will not go away reported with
//! the first item it hit and what became of the rest.

use crate::client::{kind_of_status, Body, Client};
use crate::config::BulkLimits;
use reqwest::Method;
use serde_json::{json, Value};
use std::ops::Range;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// One `index` action: its two NDJSON lines and what a report names.
#[derive(Clone, Debug)]
pub(crate) struct Action {
    /// The action line and the source line, each ending in `\n`.
    lines: String,
    /// The document id.
    id: String,
    /// The index it goes to.
    index: String,
}

impl Action {
    /// Indexes `source` under `id` in `index`, replacing what that id held.
    pub fn index(index: &str, id: &str, source: &impl serde::Serialize) -> Result<Self, PortError> {
        let header = json!({ "index": { "_index": index, "_id": id } });
        let source = serde_json::to_string(source)
            .map_err(|e| PortError::with_source(PortErrorKind::Internal, "opensearch: cannot encode a document", e))?;
        Ok(Self { lines: format!("{header}\n{source}\n"), id: id.to_owned(), index: index.to_owned() })
    }
}

/// Splits `actions` into runs that each fit one request (an action larger
/// than `max_bytes` goes alone).
pub(crate) fn chunks(actions: &[Action], limits: BulkLimits) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, action) in actions.iter().enumerate() {
        let full = i - start >= limits.max_actions || (i > start && bytes + action.lines.len() > limits.max_bytes);
        if full {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += action.lines.len();
    }
    if start < actions.len() {
        out.push(start..actions.len());
    }
    out
}

/// Sends every action, chunk by chunk, in order.
pub(crate) async fn send(client: &Client, actions: &[Action], limits: BulkLimits) -> Result<(), PortError> {
    for range in chunks(actions, limits) {
        send_chunk(client, &actions[range]).await?;
    }
    Ok(())
}

/// What became of the items of one `_bulk` request.
#[derive(Debug, Default)]
struct Outcome {
    /// Positions (in the request) of items rejected for now.
    rejected: Vec<usize>,
    /// Positions of items that failed for good, with status and reason.
    failed: Vec<(usize, u16, String)>,
}

async fn send_chunk(client: &Client, chunk: &[Action]) -> Result<(), PortError> {
    let mut pending: Vec<&Action> = chunk.iter().collect();
    let mut attempt = 1;
    loop {
        let body: String = pending.iter().map(|a| a.lines.as_str()).collect();
        let reply = client.call(Method::POST, "/_bulk", &[], Body::NdJson(body)).await?.ok("bulk")?;
        let outcome = outcome(&reply, pending.len())?;
        if let Some((at, status, reason)) = outcome.failed.first() {
            let a = pending[*at];
            let message = format!(
                "opensearch bulk: {} of {} items failed for good, {} were rejected for now; \
                 first: {} into {}: {status} {reason}",
                outcome.failed.len(),
                pending.len(),
                outcome.rejected.len(),
                a.id,
                a.index
            );
            return Err(PortError::new(item_kind(*status), message));
        }
        if outcome.rejected.is_empty() {
            return Ok(());
        }
        if attempt >= client.retry().attempts {
            let first = pending[outcome.rejected[0]];
            let message = format!(
                "opensearch bulk: {} of {} items still rejected after {attempt} tries; first: {} into {}",
                outcome.rejected.len(),
                pending.len(),
                first.id,
                first.index
            );
            return Err(PortError::new(PortErrorKind::Throttled, message));
        }
        tracing::debug!(rejected = outcome.rejected.len(), attempt, "opensearch bulk items rejected; retrying them");
        tokio::time::sleep(client.retry().backoff(attempt)).await;
        pending = outcome.rejected.iter().map(|&i| pending[i]).collect();
        attempt += 1;
    }
}

/// The kind of a bulk item's failure.
fn item_kind(status: u16) -> PortErrorKind {
    match kind_of_status(status) {
        // A 500 on one item is that document's problem, not the cluster's.
        PortErrorKind::Unavailable => PortErrorKind::Internal,
        kind => kind,
    }
}

/// Reads a `_bulk` reply: `items` in request order, each
/// `{"<action>": {"status", "error": {"type", "reason"}}}`.
fn outcome(reply: &Value, sent: usize) -> Result<Outcome, PortError> {
    let malformed = || PortError::new(PortErrorKind::Internal, "opensearch bulk: the reply's items do not match");
    let items = reply.get("items").and_then(Value::as_array).ok_or_else(malformed)?;
    if items.len() != sent {
        return Err(malformed());
    }
    let mut out = Outcome::default();
    if reply.get("errors").and_then(Value::as_bool) == Some(false) {
        return Ok(out);
    }
    for (i, item) in items.iter().enumerate() {
        let result = item.as_object().and_then(|o| o.values().next()).ok_or_else(malformed)?;
        let status = result.get("status").and_then(Value::as_u64).ok_or_else(malformed)? as u16;
        match status {
            200..=299 => {}
            429 | 503 => out.rejected.push(i),
            _ => {
                let kind = result.pointer("/error/type").and_then(Value::as_str).unwrap_or("error");
                let reason = result.pointer("/error/reason").and_then(Value::as_str).unwrap_or("no reason given");
                out.failed.push((i, status, format!("{kind}: {reason}")));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(bytes: usize) -> Action {
        Action { lines: "x".repeat(bytes), id: String::new(), index: String::new() }
    }

    #[test]
    fn chunks_stop_at_the_action_count_or_the_byte_size() {
        let limits = BulkLimits { max_actions: 3, max_bytes: 100 };
        let by_count: Vec<Action> = (0..7).map(|_| action(10)).collect();
        assert_eq!(chunks(&by_count, limits), [0..3, 3..6, 6..7]);
        let by_size = [action(60), action(30), action(20), action(500), action(1)];
        assert_eq!(chunks(&by_size, limits), [0..2, 2..3, 3..4, 4..5]);
        assert!(chunks(&[], limits).is_empty());
    }

    #[test]
    fn rejected_and_failed_items_are_told_apart() {
        let reply = json!({ "errors": true, "items": [
            { "index": { "status": 201 } },
            { "index": { "status": 429, "error": { "type": "es_rejected_execution_exception" } } },
            { "index": { "status": 400, "error": { "type": "mapper_parsing_exception", "reason": "bad" } } },
            { "index": { "status": 503, "error": { "type": "unavailable_shards_exception" } } },
        ]});
        let out = outcome(&reply, 4).unwrap();
        assert_eq!(out.rejected, [1, 3]);
        assert_eq!(out.failed, [(2, 400, "mapper_parsing_exception: bad".to_owned())]);
        assert!(outcome(&reply, 3).is_err(), "a reply for other items is refused");
    }
}
