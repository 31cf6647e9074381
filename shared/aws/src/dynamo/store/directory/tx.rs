//! Transactions on `main`: at most 100 items, each with its condition, sent
//! again idempotently while DynamoDB answers that it could not apply them.

use super::io::{Expr, Resend};
use crate::dynamo::attrs::Item;
use crate::dynamo::store::DynamoStore;
use crate::error;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Items per `TransactWriteItems`.
pub(super) const TX_ITEMS: usize = 100;

/// A fresh idempotency token for one transaction (at most 36 characters).
fn client_token() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("tx-{now:x}-{:x}-{n:x}", std::process::id())
}

impl DynamoStore {
    /// Writes `tx` as one `TransactWriteItems` (at most [`TX_ITEMS`] items);
    /// `Conflict` when a condition fails. Sent again, with the same client
    /// token (so DynamoDB applies it at most once), while it fails as
    /// `Unavailable`: cancelled by a concurrent transaction on one of its
    /// items, or a server failure. The SDK's own retries cover throttling.
    pub(super) async fn transact(&self, what: &str, tx: Tx) -> Result<(), PortError> {
        if tx.items.is_empty() {
            return Ok(());
        }
        debug_assert!(tx.items.len() <= TX_ITEMS, "{what}: {} items in one transaction", tx.items.len());
        let token = client_token();
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(tx.items.clone()))
                .client_request_token(&token)
                .send()
                .await
                .map_err(|e| error::transact(what, e));
            match sent {
                Err(e) if e.kind == PortErrorKind::Unavailable && Resend::TRANSACTION.wait(attempt).await => {
                    attempt += 1;
                }
                other => return other.map(|_| ()),
            }
        }
    }
}

/// The items of one transaction, on `main`.
#[derive(Debug)]
pub(super) struct Tx {
    table: String,
    items: Vec<TransactWriteItem>,
}

impl Tx {
    /// Returns an empty transaction on `table`.
    pub fn new(table: &str) -> Self {
        Self { table: table.to_owned(), items: Vec::new() }
    }

    /// Puts `item`, if `condition` (over `expr`) holds.
    pub fn put(&mut self, item: Item, condition: Option<(&str, Expr)>) -> Result<(), PortError> {
        let (condition, expr) = split(condition);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(|e| error::build("dynamodb transaction put", e))?;
        self.items.push(TransactWriteItem::builder().put(put).build());
        Ok(())
    }

    /// Deletes the item at `key`, if `condition` holds.
    pub fn delete(&mut self, key: Item, condition: Option<(&str, Expr)>) -> Result<(), PortError> {
        let (condition, expr) = split(condition);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(|e| error::build("dynamodb transaction delete", e))?;
        self.items.push(TransactWriteItem::builder().delete(delete).build());
        Ok(())
    }

    /// Updates the item at `key` with `update` (over `expr`), if `condition` holds.
    pub fn update(&mut self, key: Item, update: &str, condition: Option<&str>, expr: Expr) -> Result<(), PortError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(|e| error::build("dynamodb transaction update", e))?;
        self.items.push(TransactWriteItem::builder().update(update).build());
        Ok(())
    }
}

fn split(condition: Option<(&str, Expr)>) -> (Option<String>, Expr) {
    match condition {
        Some((c, expr)) => (Some(c.to_owned()), expr),
        None => (None, Expr::default()),
    }
}
