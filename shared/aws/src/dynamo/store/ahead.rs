//! Archiving ahead of the TTL (ARCHIVE.md, "The archiver (AWS)"): when the
//! first TTL delete of a dialog reaches the archiver, it archives the
//! dialog's other messages about to expire in the same write and marks
//! their items `archived`, so their own TTL deletes cost no archive write.
//! Every change of a message item (`update_message`) bumps its `ver` and
//! takes the mark off, and a mark is set only at the `ver` that was read:
//! a message changed after it was archived ahead is archived again when
//! the TTL takes it.

use super::codec::{self, message_key};
use super::io::key_of;
use super::DynamoStore;
use crate::dynamo::attrs::{get_n, n, s, Item};
use crate::dynamo::keys::messages_part;
use crate::error;
use chrono::{DateTime, Utc};
use tgdesk_core::domain::{AccountId, Message, TenantId};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Items one query page reads.
const PAGE: i32 = 100;

/// A message read ahead of its expiry, with the `ver` its mark must match.
#[derive(Clone, Debug, PartialEq)]
pub struct Ahead {
    /// The message as stored.
    pub message: Message,
    /// Changes made to its item so far.
    pub ver: i64,
}

impl DynamoStore {
    /// Returns the messages of a dialog whose TTL falls before `expires_before`
    /// and that carry no mark, oldest first, at most `limit`: a query from the
    /// dialog's oldest item that stops at the first one expiring later (ids
    /// grow with dates).
    pub async fn expiring_unmarked(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        expires_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Ahead>, PortError> {
        let table = self.tables().await?.messages.clone();
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(messages_part(tenant, account, peer)))
                .scan_index_forward(true)
                .limit(PAGE)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| error::sdk("dynamodb query expiring messages", e))?;
            for item in page.items() {
                let expires: i64 = get_n(item, "expires")?;
                if expires >= expires_before.timestamp() || out.len() >= limit {
                    return Ok(out);
                }
                if item.contains_key("archived") {
                    continue;
                }
                // No `ver`: never changed since it was stored.
                let ver = if item.contains_key("ver") { get_n(item, "ver")? } else { 0 };
                out.push(Ahead { message: codec::message(item)?, ver });
            }
            match page.last_evaluated_key() {
                Some(key) => start = Some(key_of(key)),
                None => return Ok(out),
            }
        }
    }

    /// Marks messages of `tenant` archived, each only while its item is still
    /// at the `ver` read; returns how many it marked (one changed meanwhile,
    /// or gone, stays unmarked and is archived when the TTL takes it).
    pub async fn mark_archived(
        &self,
        tenant: &TenantId,
        marks: &[(AccountId, i64, i64, i64)],
    ) -> Result<usize, PortError> {
        let table = self.tables().await?.messages.clone();
        let at = n(Utc::now().timestamp_millis());
        let mut marked = 0;
        for chunk in marks.chunks(32) {
            let updates = chunk.iter().map(|(account, peer, id, ver)| {
                let condition = match ver {
                    0 => "attribute_exists(pk) AND attribute_not_exists(ver)",
                    _ => "attribute_exists(pk) AND ver = :ver",
                };
                let mut request = self
                    .client
                    .update_item()
                    .table_name(&table)
                    .set_key(Some(message_key(tenant, account, *peer, *id)))
                    .update_expression("SET archived = :at")
                    .condition_expression(condition)
                    .expression_attribute_values(":at", at.clone());
                if *ver != 0 {
                    request = request.expression_attribute_values(":ver", n(*ver));
                }
                request.send()
            });
            for done in futures::future::join_all(updates).await {
                match done.map_err(|e| error::sdk("dynamodb mark archived", e)) {
                    Ok(_) => marked += 1,
                    Err(e) if e.kind == PortErrorKind::Conflict => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(marked)
    }
}
